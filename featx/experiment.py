"""Declarative experiments: a TOML spec -> embed (cached) -> grid search -> evaluation -> report.

The format is documented in ``pipelines/README.md``. Relative paths in a spec resolve against the
current working directory (run ``featx run`` from the repository root), like command-line paths.
The ``[backbone]`` table takes ``name``, the other options of
:func:`featx.backbones.config.resolve`, and ``batch_size``. ``[data] hint`` says what to fetch
when ``source`` is absent (for a spec whose images lie outside the repository). A ``[search]``
table instead of ``[backbone]`` and ``[train]`` runs a transfer search
(:mod:`featx.learn.transfer`, as ``featx search`` does): lists of backbones, layers, poolings,
resizes, augmentations and heads.

>>> from pathlib import Path
>>> _ = Path("experiment.toml").write_text('''
... output = "runs/experiment"
... [data]
... source = "images"
... [backbone]
... name = "mobilenetv2"
... weights = "none"
... input_size = 32
... [train]
... heads = ["logreg", "centroid"]
... cv = 2
... ''')
>>> results = run_spec(load_spec("experiment.toml"), log=lambda line: None, quiet=True)
>>> [r.head for r in results], sorted(os.listdir("runs/experiment"))[:3]
(['logreg', 'centroid'], ['centroid', 'comparison.csv', 'features.h5'])
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from featx.backbones.config import OPTIONS
from featx.embedding.run import embed
from featx.errors import FeatxError
from featx.learn.heads import get_head, head_grid, select_heads
from featx.learn.search import Result
from featx.learn.train import train
from featx.learn.transfer import SearchReport, Space, run_search
from featx.report.train_page import report_training

SECTIONS = {"output", "features", "data", "backbone", "train", "grid", "search"}
DATA_KEYS = {"source", "test_size", "hint"}
BACKBONE_KEYS = {"name", *OPTIONS, "batch_size"} - {"backbone"}
TRAIN_KEYS = {"heads", "cv", "scoring", "n_jobs", "seed", "test_size", "halving"}
SPACE_KEYS = {"backbones", "layers", "poolings", "resizes", "augments", "heads", "input_size",
              "weights", "preprocess", "fuse"}
SEARCH_KEYS = SPACE_KEYS | {"cv", "repeats", "scoring", "n_jobs", "seed", "batch_size"}


@dataclass
class Spec:
    """One experiment: where the images are, how to embed them, which heads to search."""

    source: str
    hint: str
    output: str
    features: str
    backbone: dict
    heads: list[str]
    train: dict = field(default_factory=dict)
    grids: dict = field(default_factory=dict)
    search: Space | None = None


def load_spec(path: str | os.PathLike) -> Spec:
    """Read and check a TOML experiment spec."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise FeatxError(f"{path}: no such spec file") from None
    except tomllib.TOMLDecodeError as exc:
        raise FeatxError(f"{path}: invalid TOML ({exc})") from None
    _check_keys(path, "the spec", raw, SECTIONS)
    if "search" in raw:
        return _search_spec(path, raw)
    backbone = dict(raw.get("backbone", {}))
    train_opts = dict(raw.get("train", {}))
    _check_keys(path, "[data]", raw.get("data", {}), DATA_KEYS)
    _check_keys(path, "[backbone]", backbone, BACKBONE_KEYS)
    _check_keys(path, "[train]", train_opts, TRAIN_KEYS)
    if "source" not in raw.get("data", {}) or "name" not in backbone or "output" not in raw:
        raise FeatxError(f"{path}: a spec needs output, [data] source and [backbone] name")
    heads = select_heads(train_opts.pop("heads", ["logreg"]))
    _check_grids(path, raw.get("grid", {}), heads)
    if "test_size" in raw["data"]:
        train_opts["test_size"] = raw["data"]["test_size"]
    output = raw["output"]
    return Spec(source=raw["data"]["source"], hint=raw["data"].get("hint", ""), output=output,
                features=raw.get("features", os.path.join(output, "features.h5")),
                backbone=backbone, heads=heads, train=train_opts, grids=raw.get("grid", {}))


def _search_spec(path, raw: dict) -> Spec:
    """A spec with a ``[search]`` table: the candidates, and how to cross-validate them."""
    extra = sorted({"backbone", "train"} & set(raw))
    if extra:
        raise FeatxError(f"{path}: [search] replaces [backbone] and [train]; drop "
                         f"{', '.join(f'[{name}]' for name in extra)}")
    table = dict(raw["search"])
    _check_keys(path, "[data]", raw.get("data", {}), DATA_KEYS)
    _check_keys(path, "[search]", table, SEARCH_KEYS)
    if "source" not in raw.get("data", {}) or "backbones" not in table or "output" not in raw:
        raise FeatxError(f"{path}: a search spec needs output, [data] source and [search] "
                         "backbones")
    lists = {key: tuple(_as_list(table.pop(key))) for key in
             ("backbones", "poolings", "resizes", "augments") if key in table}
    if "heads" in table:
        lists["heads"] = tuple(select_heads(table.pop("heads")))
    space_keys = {key: table.pop(key) for key in SPACE_KEYS & set(table)}
    layers = space_keys.pop("layers", "auto")
    space = Space(**lists, **space_keys, layers=tuple(_as_list(layers)))
    for name in space.heads:
        get_head(name)
    _check_grids(path, raw.get("grid", {}), space.heads)
    if "test_size" in raw["data"]:
        table["test_size"] = raw["data"]["test_size"]
    output = raw["output"]
    return Spec(source=raw["data"]["source"], hint=raw["data"].get("hint", ""), output=output,
                features=raw.get("features", os.path.join(output, "features.h5")), backbone={},
                heads=list(space.heads), train=table, grids=raw.get("grid", {}), search=space)


def _check_grids(path, grids: dict, heads: Sequence[str]) -> None:
    """Refuse a ``[grid.HEAD]`` of a head not searched, or with a value that is not a list."""
    for name, grid in grids.items():
        get_head(name)
        if name not in heads:
            raise FeatxError(f"{path}: [grid.{name}] is for a head this spec does not search "
                             f"(heads: {', '.join(heads)})")
        head_grid(name, grid)


def _as_list(value) -> list:
    """A TOML value as a list: a list as is, a string split at commas, a number alone."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    return [value] if isinstance(value, int) else list(value)


def run_spec(spec: Spec, log: Callable[[str], object] = print,
             quiet: bool = False) -> list[Result] | SearchReport:
    """Embed the spec's images into its feature file (cached), then train and report (with
    ``report.html``), or run its transfer search; ``quiet``: no progress bars (the search's
    only on a terminal) and no line per head. A missing source with a ``hint`` is one line."""
    if spec.hint and not os.path.exists(spec.source):
        raise FeatxError(f"[data] source {spec.source} does not exist; {spec.hint}")
    if spec.search is not None:
        return run_search(spec.search, spec.source, spec.output, cache=spec.features,
                          grids=spec.grids, log=log, progress=not quiet, **spec.train)
    os.makedirs(os.path.dirname(os.path.abspath(spec.features)), exist_ok=True)
    options = dict(spec.backbone)
    backbone = options.pop("name")
    result = embed(spec.source, spec.features, backbone=backbone, progress=not quiet, **options)
    log(result.report())
    return train(spec.features, spec.heads, spec.output, grids=spec.grids, log=log, quiet=quiet,
                 report=report_training, progress=not quiet and sys.stderr.isatty(),
                 **spec.train)


def _check_keys(path, where: str, table: dict, known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise FeatxError(f"{path}: unknown key(s) in {where}: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
