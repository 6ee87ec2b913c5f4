"""What an audit found: one :class:`Finding` per problem, and the :class:`Audit` that holds them,
printed as a summary and written as ``audit.csv``.

A finding names rows of the :class:`~featx.auditing.data.AuditInput` it was made from. ``kind`` is
one of :data:`KINDS`; ``flags`` say whether a duplicate group crosses splits (``leak``) or labels
(``conflict``); ``score`` means, per kind:

* ``exact-duplicate``: 0 (the images are byte-identical);
* ``near-duplicate``: the largest cosine distance of a link that joins the group;
* ``label-error``: cleanlab's label quality (the out-of-fold probability of the given label;
  lower is more suspicious);
* ``outlier``: the mean cosine distance to the image's nearest neighbours of its class.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from featx._text import write_csv
from featx.auditing.data import AuditInput
from featx.auditing.options import AuditOptions

KINDS = ("exact-duplicate", "near-duplicate", "label-error", "outlier")
KIND_OF = dict(zip(("exact", "near", "labels", "outliers"), KINDS, strict=True))
FLAGS = ("leak", "conflict")
CSV_COLUMNS = ("finding", "kind", "flags", "score", "images", "labels", "splits", "detail")


@dataclass(frozen=True)
class Finding:
    """One problem: its ``kind``, the ``rows`` it involves, a ``score``, ``flags`` and a one-line
    ``detail``; ``predicted``: the class a label error looks like."""

    kind: str
    rows: tuple[int, ...]
    score: float
    flags: tuple[str, ...] = ()
    detail: str = ""
    predicted: str | None = None


@dataclass
class Audit:
    """The findings of one audit, with the input and options that produced them.

    ``probabilities``: out-of-fold class probabilities (N x K, NaN for rows not predicted),
    ``None`` when the label check did not run; ``notes``: what could not be checked, and why.
    """

    data: AuditInput
    options: AuditOptions
    findings: list[Finding]
    probabilities: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def counts(self) -> Counter:
        """Findings per kind, and per kind and flag (``("near-duplicate", "leak")``)."""
        counts = Counter(f.kind for f in self.findings)
        counts.update((f.kind, flag) for f in self.findings for flag in f.flags)
        return counts

    def rows(self) -> list[dict]:
        """One dict per finding, the columns of ``audit.csv`` (lists as JSON arrays)."""
        data = self.data
        return [{"finding": i, "kind": f.kind, "flags": ";".join(f.flags),
                 "score": round(float(f.score), 6),
                 "images": _json([data.paths[r] for r in f.rows]),
                 "labels": _json([data.label_of(r) or "" for r in f.rows]),
                 "splits": _json([data.split[r] for r in f.rows]), "detail": f.detail}
                for i, f in enumerate(self.findings, 1)]

    def write_csv(self, path: str | os.PathLike) -> None:
        """``audit.csv``: one row per finding (the columns of :data:`CSV_COLUMNS`)."""
        write_csv(path, self.rows(), CSV_COLUMNS)

    def summary(self, limit: int = 10) -> str:
        """The terminal summary: counts per check, notes, and the first ``limit`` findings of
        each kind (paths relative to the folder they share)."""
        data, options, counts = self.data, self.options, self.counts()
        splits = Counter(s or "(none)" for s in data.split)
        lines = [f"{data.source}: {len(data)} images ("
                 + ", ".join(f"{k} {v}" for k, v in sorted(splits.items()))
                 + f"), {len(data.label_names)} classes; audited in {self.seconds:.1f} s"]
        how = {"exact": ("exact duplicates", "(same bytes)"),
               "near": ("near duplicates", f"(cosine distance <= {options.threshold:g})"),
               "labels": ("label errors", f"({options.head}, out-of-fold probabilities ranked "
                                          "by cleanlab)"),
               "outliers": ("outliers", f"({options.neighbours} nearest of the same class, "
                                        f"robust z > {options.outlier_z:g})")}
        for check in options.checks:
            kind, (title, rule) = KIND_OF[check], how[check]
            n = counts[kind]
            if kind.endswith("duplicate"):
                flags = ", ".join(_plural(counts[(kind, flag)], flag) for flag in FLAGS)
                lines.append(f"  {title:<17} {_plural(n, 'group'):>9} {rule}: {flags}")
            else:
                lines.append(f"  {title:<17} {n:>9} {rule}")
        lines += [f"  note: {note}" for note in self.notes]
        root = _common_folder(data.paths)
        for check in options.checks:
            found = self.of_kind(KIND_OF[check])
            for f in found[:limit]:
                names = " | ".join(os.path.relpath(data.paths[r], root) if root else data.paths[r]
                                   for r in f.rows)
                flags = f" [{', '.join(f.flags)}]" if f.flags else ""
                lines.append(f"  {f.kind}{flags} {f.score:.3f}  {names}  ({f.detail})")
            if len(found) > limit:
                lines.append(f"  ... and {len(found) - limit} more {KIND_OF[check]} findings "
                             "in audit.csv")
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _common_folder(paths) -> str:
    """The folder every path lies under ("" when there is none to strip)."""
    try:
        root = os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:
        return ""
    return root if root not in ("", os.sep) else ""


def _json(values: list[str]) -> str:
    return json.dumps([str(v) for v in values], ensure_ascii=False)
