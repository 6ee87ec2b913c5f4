"""Transfer search: which backbone, layer, pooling, resize and augmentation, with which head.

A :class:`Space` names the candidates. Its configurations are grouped by forward pass (one per
backbone, input size, resize and augmentation: every layer and pooling of a pass comes from one
run of the backbone), the cost is counted before anything runs (:func:`estimate`: images,
passes, what the cache already holds), and :func:`run_search` embeds what is missing, grid-searches
every head on every configuration by cross-validation on the training rows only, adds fused
candidates (two configurations concatenated), and keeps the best (configuration, head) by CV
score alone. The held-out rows are scored once, for that pair, and it is saved as a model bundle
that ``featx predict`` applies to new images (embedding them with the chosen layer, resize and
augmentation).

>>> space = Space(backbones=("mobilenetv2",), layers="block_12_add,out_relu", weights=None,
...               input_size=32, augments=("none", "flip"), heads=("centroid",))
>>> cost = estimate(space, "images", "runs/search/features.h5")
>>> cost.images, len(cost.passes), cost.to_embed
(16, 2, 32)
>>> report = run_search(space, "images", "runs/search", cv=2, log=lambda line: None,
...                     progress=False)
>>> len(report.candidates), report.chosen.head
(7, 'centroid')
>>> [name for name in ("features.h5", "search.csv", "search.png", "model.skops", "chosen")
...  if not os.path.exists(f"runs/search/{name}")]
[]
>>> estimate(space, "images", "runs/search/features.h5").to_embed  # all cached now
0
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from featx import SEED
from featx._text import format_table, write_csv, write_json
from featx.backbones.augment import views
from featx.backbones.config import FeatureConfig, resolve
from featx.backbones.layers import layer_configs
from featx.embedding.options import RunOptions
from featx.embedding.run import EmbedResult, preview, run
from featx.errors import FeatxError
from featx.images.sources import list_images
from featx.learn import bundle
from featx.learn.dataset import Dataset, load_dataset
from featx.learn.heads import get_head
from featx.learn.report import write_report
from featx.learn.search import Scored, SearchResult, held_out, search_heads
from featx.learn.train import check_search_options, log_warnings
from featx.store.read import configs as stored_configs


@dataclass(frozen=True)
class Space:
    """The candidates of a transfer search: every combination of ``backbones``, ``layers``
    (``"auto"``, a comma-separated string or a list, for every backbone), ``poolings``,
    ``resizes`` and ``augments``, each with every head of ``heads``; ``input_size``, ``weights``
    and ``preprocess`` as in :func:`featx.backbones.config.resolve`. ``fuse``: how many of the
    configurations of best CV score are also tried concatenated, each pair of them (0 or 1:
    no fusion; 3: three pairs)."""

    backbones: tuple[str, ...]
    layers: str | tuple[str, ...] | None = "auto"
    poolings: tuple[str, ...] = ("avg",)
    resizes: tuple[str, ...] = ("squash",)
    augments: tuple[str, ...] = ("none",)
    heads: tuple[str, ...] = ("logreg",)
    input_size: int | tuple[int, int] | None = None
    weights: str | None = "imagenet"
    preprocess: str | None = None
    fuse: int = 3

    def passes(self) -> list[list[FeatureConfig]]:
        """The configurations, one list per forward pass (backbone x resize x augmentation),
        layers shallow to deep; checks every option first."""
        if not self.backbones:
            raise FeatxError("a search needs at least one backbone")
        for head in self.heads or [""]:
            get_head(head)
        if self.fuse < 0:
            raise FeatxError(f"fuse must be 0 or more configurations, got {self.fuse}")
        passes: dict[FeatureConfig, list[FeatureConfig]] = {}
        for backbone, resize, augment, pooling in itertools.product(
                _unique(self.backbones, "backbone"), _unique(self.resizes, "resize"),
                _unique(self.augments, "augment"), _unique(self.poolings, "pooling")):
            base = resolve(backbone, pooling=pooling, input_size=self.input_size,
                           weights=self.weights, preprocess=self.preprocess, resize=resize,
                           augment=augment)
            configs = layer_configs(base, self.layers)
            passes.setdefault(base.forward_pass(), []).extend(configs)
        return list(passes.values())


# --- the cost, before anything runs ------------------------------------------------------------


@dataclass
class Pass:
    """One forward pass of a search: its configurations, and of the listed images how many the
    cache holds for all of them (``cached``) and how many distinct contents it must embed
    (``to_embed``; exact copies are embedded once)."""

    configs: list[FeatureConfig]
    cached: int
    to_embed: int

    def row(self) -> dict:
        first = self.configs[0]
        return {"backbone": _backbone_name(first), "resize": first.resize,
                "augment": first.augment, "views": views(first.augment),
                "configurations": len(self.configs), "cached": self.cached,
                "to embed": self.to_embed}


@dataclass
class Cost:
    """What a search needs: the listed images, the forward passes, what is cached."""

    images: int
    splits: dict[str, int]
    passes: list[Pass]

    @property
    def configs(self) -> list[FeatureConfig]:
        return [config for p in self.passes for config in p.configs]

    @property
    def to_embed(self) -> int:
        """Images to run through a backbone, summed over the passes."""
        return sum(p.to_embed for p in self.passes)

    def report(self) -> str:
        splits = ", ".join(f"{name or '(none)'} {n}" for name, n in self.splits.items())
        runs = sum(p.to_embed * views(p.configs[0].augment) for p in self.passes)
        busy = sum(1 for p in self.passes if p.to_embed)
        cached = sum(p.cached for p in self.passes)
        return "\n".join([
            f"{self.images} images ({splits}); {len(self.configs)} configurations in "
            f"{len(self.passes)} forward passes",
            format_table([p.row() for p in self.passes]),
            f"cached: {cached} of {self.images * len(self.passes)} images x passes; to embed: "
            f"{self.to_embed} images in {busy} forward passes ({runs} through a backbone with "
            "the augmentations' views)"])


def estimate(space: Space, source, cache: str | os.PathLike | None,
             threads: int | None = None) -> Cost:
    """The cost of a search over the images of ``source`` with the cache ``cache``, found as a
    run would (the stat cache, else hashing the images' bytes) without running a backbone (a
    model file's ``auto`` layers are found by loading it) or writing anything."""
    items = list_images(source).items
    passes = []
    for configs in space.passes():
        work = preview(configs, source, cache, threads)
        passes.append(Pass(configs, work.reused, len(work.todo)))
    splits = dict(sorted(_count(item.split for item in items).items()))
    return Cost(len(items), splits, passes)


# --- the search --------------------------------------------------------------------------------


@dataclass
class Candidate(Scored):
    """One (configuration, head) pair, or a fusion of two configurations with a head: its
    grid search on the training rows."""

    configs: tuple[FeatureConfig, ...]
    head: str
    search: SearchResult
    dim: int

    @property
    def seconds(self) -> float:
        """The CPU time of the candidate's fits."""
        return self.search.seconds

    @property
    def cv_sem(self) -> float:
        """The standard error of the CV score: its spread over the ``n_splits_`` folds (of all
        shuffles) over their square root."""
        return self.cv_std / np.sqrt(self.search.n_splits_)

    @property
    def views(self) -> int:
        """Views of an image through a backbone to embed it (its configurations' together)."""
        return sum(views(config.augment) for config in self.configs)

    @property
    def fused(self) -> bool:
        return len(self.configs) > 1

    def row(self) -> dict:
        return {"configuration": describe(*self.configs),
                "head": self.head, "dim": self.dim, "cv_score": round(self.cv_score, 4),
                "cv_std": round(self.cv_std, 4), "seconds": round(self.seconds, 1)}


@dataclass
class SearchReport:
    """A search's cost, candidates, the chosen pair and its held-out result."""

    cost: Cost
    candidates: list[Candidate] = field(default_factory=list)
    chosen: Candidate | None = None
    test_accuracy: float | None = None
    n_test: int = 0
    held_out: str = ""


def run_search(space: Space, source, out: str | os.PathLike | None, *,
               cache: str | os.PathLike | None = None, cv: int = 5, scoring: str = "accuracy",
               repeats: int = 3, n_jobs: int | None = None, test_size: float | None = None,
               grids: Mapping[str, Mapping] | None = None, seed: int = SEED,
               batch_size: int = 32, progress: bool = True, dry_run: bool = False,
               drop_leaks: bool = False, log: Callable[[str], object] = print) -> SearchReport:
    """Search ``space`` on the images of ``source``; write the table, plot and bundle to ``out``.

    Features are cached in the store ``cache`` (default ``OUT/features.h5``), one configuration
    each, the images of ``source`` its entries. The CV score of a candidate is
    the mean over ``repeats`` shuffles of ``cv`` stratified folds (many candidates compared on
    few images: one shuffle's luck would pick among near-equals). With ``dry_run`` it stops after
    printing the cost (``out`` may then be ``None``: nothing is written). Exact copies of
    training images among the held-out ones are warned about (``drop_leaks``: left out), as
    ``featx train`` does.
    """
    if out is None and not dry_run:
        raise FeatxError("a search needs a folder to write its results to")
    check_search_options(cv, scoring, n_jobs, repeats)
    if cache is None and out is not None:
        cache = os.path.join(out, "features.h5")
    cost = estimate(space, source, cache)
    log(cost.report())
    report = SearchReport(cost)
    if dry_run:
        return report
    os.makedirs(out, exist_ok=True)
    options = RunOptions(batch_size=batch_size, progress=progress)
    names = []
    for step in cost.passes:
        result = embed_pass(step.configs, source, cache, options)
        if result.embedded or result.failures:
            log(result.report())
        names += result.configs
    stored = stored_configs(cache)
    sets = {FeatureConfig.from_attrs(stored[name]): dataset(cache, name, test_size, seed,
                                                            drop_leaks)
            for name in names}
    first = next(iter(sets.values()))
    for warning in first.warnings:  # the same entries, so the same copies, in every set
        log(f"warning: {warning}")
    log(f"cross-validating on the training rows only: train {len(first.y_train)}, held out "
        f"{len(first.y_test)} ({first.held_out}); {cv}-fold CV x {repeats}, {scoring}")
    fit = dict(cv=cv, scoring=scoring, n_jobs=n_jobs, seed=seed, grids=grids, repeats=repeats)
    for config, data in sets.items():
        report.candidates += _candidates((config,), space.heads, data, fit, log)
    for pair in fusions(report.candidates, space.fuse):
        data = fuse([sets[config] for config in pair])
        report.candidates += _candidates(pair, space.heads, data, fit, log)
    report.chosen = best(report.candidates)
    _finish(report, sets, out, scoring, log)
    return report


def _candidates(configs: tuple[FeatureConfig, ...], heads: Sequence[str], data: Dataset,
                fit: dict, log: Callable[[str], object]) -> list[Candidate]:
    """Every head cross-validated on the training rows of one configuration (or fusion)."""
    found = search_heads(heads, data.X_train, data.y_train, **fit)
    candidates = [Candidate(configs, head, found[head], data.X_train.shape[1]) for head in heads]
    for c in candidates:
        log(f"  {c.row()['configuration']}, {c.head}: CV {c.cv_score:.4f} "
            f"± {c.cv_std:.4f} ({c.seconds:.1f} s)")
        log_warnings(c.search.warnings, log)
    return candidates


def best(candidates: Sequence[Candidate]) -> Candidate:
    """The cheapest candidate whose CV score is within one standard error of the highest (the
    one-standard-error rule: closer than that, the folds cannot tell candidates apart, and the
    cheaper one is the better buy): the fewest views through a backbone per image, then the
    smallest feature size, then the highest CV score, then the first tried."""
    if not candidates:
        raise FeatxError("no candidate to choose from")
    top = max(candidates, key=lambda c: c.rank_score)
    floor = top.rank_score - (top.cv_sem if np.isfinite(top.cv_sem) else 0.0) - 1e-12
    near = [(i, c) for i, c in enumerate(candidates) if c.rank_score >= floor]
    return min(near, key=lambda ic: (ic[1].views, ic[1].dim, -ic[1].rank_score, ic[0]))[1]


def fusions(candidates: Sequence[Candidate], top: int) -> list[tuple[FeatureConfig, ...]]:
    """The pairs of the ``top`` configurations of best CV score (over heads): the fused
    candidates to try (two layers, two backbones, or two resize policies or augmentations of
    one layer: views of the image that complement each other)."""
    score: dict[FeatureConfig, float] = {}
    for c in candidates:
        if not c.fused:
            score[c.configs[0]] = max(score.get(c.configs[0], -np.inf), c.rank_score)
    ranked = sorted(score, key=lambda config: -score[config])  # stable: ties keep their order
    return list(itertools.combinations(ranked[:top], 2))


def fuse(sets: Sequence[Dataset]) -> Dataset:
    """The datasets of several configurations of the same images, features concatenated."""
    first = sets[0]
    for other in sets[1:]:
        if not (np.array_equal(other.y_train, first.y_train)
                and np.array_equal(other.y_test, first.y_test)):
            raise FeatxError("configurations to fuse hold different rows; embed them from one "
                             "source into one cache")
    return replace(first, X_train=np.hstack([d.X_train for d in sets]),
                   X_test=np.hstack([d.X_test for d in sets]))


def _finish(report: SearchReport, sets: dict, out, scoring: str,
            log: Callable[[str], object]) -> None:
    """Score the chosen pair held out, and write the table, plot, bundle and summary."""
    chosen = report.chosen
    data = fuse([sets[config] for config in chosen.configs])
    result = held_out(chosen.search, data)
    report.test_accuracy = result.test_accuracy
    report.n_test, report.held_out = len(data.y_test), data.held_out
    rows = [c.row() for c in report.candidates]
    for row, c in zip(rows, report.candidates, strict=True):
        row["chosen"] = "*" if c is chosen else ""
    write_csv(os.path.join(out, "search.csv"), rows)
    plot_search(report.candidates, chosen, os.path.join(out, "search.png"), scoring)
    write_report(os.path.join(out, "chosen"), result, data, scoring)
    bundle.save(os.path.join(out, "model.skops"), chosen.search.best_estimator_,
                [c.attrs() for c in chosen.configs], chosen.head)
    write_json(os.path.join(out, "summary.json"), {
        "chosen": chosen.row(), "configurations": [c.attrs() for c in chosen.configs],
        "best_params": {k: repr(v) for k, v in chosen.search.best_params_.items()},
        "scoring": scoring, "test_accuracy": report.test_accuracy, "n_train": len(data.y_train),
        "n_test": report.n_test, "held_out": report.held_out,
        "candidates": len(report.candidates), "passes": len(report.cost.passes)})
    top = max(report.candidates, key=lambda c: c.rank_score)
    log(f"\n{format_table(rows)}\n\nchosen by CV score (the cheapest candidate within one "
        f"standard error, {top.cv_sem:.4f}, of the best, {top.cv_score:.4f}): "
        f"{chosen.row()['configuration']}, {chosen.head} (CV {scoring} {chosen.cv_score:.4f} ± "
        f"{chosen.cv_std:.4f}); held-out "
        f"accuracy {report.test_accuracy:.4f} on {report.n_test} images ({report.held_out}), "
        f"scored once\nwrote {out}/search.csv, {out}/search.png, the bundle {out}/model.skops "
        f"and {out}/chosen/")


def plot_search(candidates: Sequence[Candidate], chosen: Candidate, path: str | os.PathLike,
                scoring: str) -> None:
    """CV score (± its spread over folds) against layer depth, one panel per backbone, one line
    per pooling, resize, augmentation and head (nudged apart so the bars stay readable); fused
    candidates as dashed levels in the panel of their first configuration; the chosen pair
    starred (or its level drawn in gold)."""
    from matplotlib.figure import Figure

    singles = [c for c in candidates if not c.fused]
    backbones = list(dict.fromkeys(_backbone_name(c.configs[0]) for c in singles))
    fig = Figure(figsize=(9.5 * len(backbones), 4.8), layout="constrained")
    axes = fig.subplots(1, len(backbones), sharey=True, squeeze=False)[0]
    for ax, name in zip(axes, backbones, strict=True):
        mine = [c for c in singles if _backbone_name(c.configs[0]) == name]
        layers = list(dict.fromkeys(_layer(c.configs[0]) for c in mine))
        lines: dict[str, list[Candidate]] = {}
        for c in mine:
            cfg = c.configs[0]
            lines.setdefault(f"{cfg.pooling}, {cfg.resize}, {cfg.augment}, {c.head}",
                             []).append(c)
        nudge = np.linspace(-0.08, 0.08, len(lines)) if len(lines) > 1 else [0.0]
        for (label, group), dx in zip(lines.items(), nudge, strict=True):
            x = [layers.index(_layer(c.configs[0])) + dx for c in group]
            ax.errorbar(x, [c.cv_score for c in group], yerr=[c.cv_std for c in group],
                        marker="o", capsize=3, label=label)
            if chosen in group:
                ax.plot(x[group.index(chosen)], chosen.cv_score, "*", markersize=18,
                        color="gold", markeredgecolor="black", label="chosen", zorder=5)
        for c in candidates:
            if c.fused and _backbone_name(c.configs[0]) == name:
                style = ({"color": "goldenrod", "linewidth": 2} if c is chosen else
                         {"color": "grey", "linewidth": 1})
                words = describe(*c.configs).removeprefix(f"{name} ")
                ax.axhline(c.cv_score, linestyle="--", **style,
                           label=f"{'chosen: ' if c is chosen else ''}fused {words}, {c.head}")
        ax.set_xticks(range(len(layers)), layers, rotation=20, ha="right")
        ax.set_xlabel("layer (shallow to deep)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    axes[0].set_ylabel(f"CV {scoring} (± std over folds)")
    fig.savefig(path, dpi=120)


def _layer(config: FeatureConfig) -> str:
    return config.layer or "(output)"


# --- the cache: one store, one configuration per layer, pooling, resize and augmentation ------


def embed_pass(configs: Sequence[FeatureConfig], source, cache: str | os.PathLike,
               options: RunOptions) -> EmbedResult:
    """Embed the images of ``source`` with ``configs`` (one forward pass) into the store
    ``cache``, as the source's entries; a fully cached pass only checks (no backbone runs)."""
    return run(list(configs), source, cache, options)


def dataset(cache: str | os.PathLike, name: str, test_size: float | None, seed: int,
            drop_leaks: bool = False) -> Dataset:
    """The train and held-out rows of the configuration ``name`` in the store ``cache``."""
    return load_dataset(cache, test_size, seed, config=name, drop_leaks=drop_leaks)


# --- helpers -----------------------------------------------------------------------------------


def describe(*configs: FeatureConfig) -> str:
    """Configurations in a few words: backbone, layer, pooling, resize, augmentation; those
    fused after the first only by what differs from it.

    >>> a = resolve("vgg16", weights=None)
    >>> describe(a, resolve("vgg16", weights=None, layer="block4_pool", augment="flip"))
    'vgg16 block5_pool avg squash none + block4_pool flip'
    """
    first, *others = [_words(config) for config in configs]
    shown = [[w for w, f in zip(words, first, strict=True) if w != f] for words in others]
    return " + ".join(" ".join(words) for words in [first, *shown])


def _words(config: FeatureConfig) -> list[str]:
    return [_backbone_name(config), config.layer or "(output)", config.pooling, config.resize,
            config.augment]


def _backbone_name(config: FeatureConfig) -> str:
    return os.path.basename(config.model_file) if config.is_file else config.backbone


def _unique(values: Sequence[str], what: str) -> list[str]:
    if len(set(values)) != len(values) or not values:
        raise FeatxError(f"{what}s must be listed once each, got {list(values)!r}")
    return list(values)


def _count(values) -> dict:
    counts: dict = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


