"""``audit.html``: every finding of an audit with its images.

Sections: a summary (counts, options, notes), then one gallery per check: exact duplicate groups,
near-duplicate groups, likely label errors and outliers. Suspects (label errors, outliers) come
with their three nearest other images, so a reader can judge them at a glance.

>>> import featx
>>> write_audit_report(featx.audit("features.h5", checks=["exact", "outliers"]), "audit")
'audit/audit.html'
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.metrics.pairwise import cosine_distances

from featx.auditing.findings import KIND_OF, Audit, Finding
from featx.report.page import MAX_PAGES, PER_PAGE, Card, Page

GROUP_TILES = 12
NEIGHBOURS = 3
PAGE = "audit.html"
CSV = "audit.csv"
SECTIONS = {"exact": "Exact duplicates", "near": "Near duplicates",
            "labels": "Likely label errors", "outliers": "Outliers"}
EXPLAIN = {
    "exact": "Byte-identical files listed more than once. A group across splits leaks training "
             "images into evaluation; a group across labels contradicts itself.",
    "near": "Different files whose features are within the cosine-distance threshold: resized, "
            "re-encoded or cropped copies, bursts. Flagged like exact duplicates.",
    "labels": "Images whose given label the out-of-fold probabilities of the head contradict, "
              "as ranked by cleanlab (worst first). Check the image: the label may be wrong, "
              "or the image ambiguous.",
    "outliers": "Images far from every neighbour of their class (mean cosine distance to the "
                "nearest ones), highest first: off-topic, unusual or damaged images.",
}


def write_audit_report(audit: Audit, folder: str | os.PathLike, name: str = PAGE,
                       csv_name: str = CSV, per_page: int = PER_PAGE,
                       max_pages: int = MAX_PAGES) -> str:
    """Write the page of ``audit`` and its CSV ``csv_name`` (every finding, linked from the
    page) into ``folder``; return the page's path. Galleries show ``per_page`` findings a page
    on at most ``max_pages`` pages."""
    page = Page(folder, name, per_page, max_pages)
    os.makedirs(page.folder, exist_ok=True)
    audit.write_csv(os.path.join(page.folder, csv_name))
    data = audit.data
    title = f"featx audit: {os.path.basename(data.source)}"
    galleries = {}
    for check, heading in SECTIONS.items():
        if audit.options.runs(check):
            found = audit.of_kind(KIND_OF[check])
            cards = [_card(page, data, f) for f in found[:page.capacity]]
            galleries[check] = page.galleries(check, cards, f"{title}: {heading}",
                                              total=len(found))
    summary = [_summary_row(audit, check, heading) for check, heading in SECTIONS.items()]
    html = page.render("audit.html.j2", title=title, audit=audit, data=data,
                       sections=SECTIONS, explain=EXPLAIN,
                       galleries=galleries, summary=summary, csv=csv_name,
                       splits=_counts(data.split), classes=_counts(data.labels()))
    page.write(page.path, html)
    return page.path


def _summary_row(audit: Audit, check: str, heading: str) -> dict:
    kind, ran, counts = KIND_OF[check], audit.options.runs(check), audit.counts()
    groups = check in ("exact", "near")
    return {"check": heading, "found": counts[kind] if ran else "not run",
            "leaks": counts[(kind, "leak")] if ran and groups else "",
            "conflicts": counts[(kind, "conflict")] if ran and groups else ""}


def _card(page: Page, data, finding: Finding) -> Card:
    rows = finding.rows
    if finding.kind.endswith("duplicate"):
        tiles = [page.tile(data.paths[r], [data.label_of(r) or "unlabelled",
                                           data.split[r] or "no split"])
                 for r in rows[:GROUP_TILES]]
        how = ("byte-identical" if finding.kind == "exact-duplicate"
               else f"cosine distance ≤ {finding.score:.3f}")
        return Card(f"{len(rows)} images, {how}", tiles, [finding.detail],
                    list(finding.flags), hidden=max(0, len(rows) - GROUP_TILES),
                    layout="group")
    row = rows[0]
    label = data.label_of(row) or "unlabelled"
    if finding.kind == "label-error":
        title = f"labelled {label}, looks like {finding.predicted}"
    else:
        title = f"outlier among {label}"
    tile = page.tile(data.paths[row], [f"labelled {label}", data.split[row] or "no split"],
                     "wrong")
    same_class = finding.kind == "outlier"
    near = [page.tile(data.paths[j], [f"{data.label_of(j) or 'unlabelled'} · d={d:.2f}"])
            for j, d in _nearest(data, row, same_class)]
    return Card(title, [tile], [finding.detail, f"score {finding.score:.3f}"], neighbours=near,
                neighbours_title=f"Nearest {label} images:" if same_class
                else "Nearest other images:")


def _nearest(data, row: int, same_class: bool) -> list[tuple[int, float]]:
    """The nearest rows of other content than ``row`` (of its class if ``same_class``), with
    their cosine distances."""
    pool = np.flatnonzero(data.y == data.y[row]) if same_class else np.arange(len(data))
    pool = pool[data.keys[pool] != data.keys[row]]
    distances = cosine_distances(data.X[row:row + 1], data.X[pool])[0]
    order = np.argsort(distances, kind="stable")[:NEIGHBOURS]
    return [(int(pool[i]), float(distances[i])) for i in order]


def _counts(values) -> str:
    names, counts = np.unique(np.asarray([v if v else "(none)" for v in values], dtype=str),
                              return_counts=True)
    return ", ".join(f"{n} {c}" for n, c in zip(names, counts, strict=True))
