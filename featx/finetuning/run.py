"""``finetune()``: frozen features -> classical baseline -> stage 1 (head) -> stage 2 (top blocks).

1. The images are embedded with the frozen base, as ``featx embed`` embeds them
   (:func:`featx.embedding.run.run`; ``features``: a feature file to reuse and extend, else a
   temporary one): failures are listed, and these features feed both the classical heads and the
   head's starting point.
2. The classical heads in ``compare`` are grid-searched on the training rows' frozen features and
   scored on the held-out rows (:func:`featx.learn.search.evaluate`): the baseline to beat, on
   the held-out rows ``featx train`` would use.
3. Stage 1: the head (dropout + dense softmax) starts from a logistic regression on the frozen
   features of the fit rows (``init="logreg"``: nothing to train), or trains on the frozen base.
4. Stage 2: the top ``unfreeze`` blocks train at a low learning rate, with augmentation, early
   stopping on the validation rows and the best weights kept.
5. The network with the best weights is scored on the held-out rows and saved as a plain
   ``.keras`` file (:mod:`featx.learn.classifier`).

>>> result = finetune("images", "tuned.keras", backbone="mobilenetv2", weights=None,
...                   input_size=32, epochs=1, cv=2, progress=False, log=lambda line: None)
>>> result.classes, result.features_layer, list(result.baselines)
(['ants', 'bees'], 'features', ['logreg'])
>>> print(result.table())  # doctest: +ELLIPSIS
model                                   held-out accuracy
logreg on frozen features (CV ...)  ...
fine-tuned, head only (stage 1)         ...
fine-tuned, top 1 block (stage 2)       ...
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from featx._text import format_table
from featx.backbones.config import FeatureConfig, resolve
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.embedding.options import RunOptions, decode_threads
from featx.embedding.run import run as embed_run
from featx.errors import FeatxError
from featx.finetuning import data, network
from featx.finetuning.loop import Stage, evaluate, fit_stage
from featx.finetuning.options import FinetuneOptions, make_options
from featx.learn import classifier
from featx.learn.heads import select_heads
from featx.learn.search import evaluate as evaluate_head
from featx.learn.search import search
from featx.store.schema import Failure, path_text

FAILURES_SHOWN = 20


@dataclass
class FinetuneResult:
    """Held-out accuracies of the classical heads and of the fine-tuned network, and the run."""

    out: str
    classes: list[str]
    features_layer: str
    held_out: str
    n_held_out: int
    accuracy: float
    baselines: dict[str, dict] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    stage_accuracy: dict[str, float] = field(default_factory=dict)
    unfrozen: str = ""
    validation: str = ""
    optimistic: bool = False
    resize: str = "squash"
    seconds: float = 0.0
    interrupted: bool = False
    failures: list[Failure] = field(default_factory=list)
    unlabelled: int = 0

    @property
    def best_baseline(self) -> tuple[str, dict]:
        """The classical head with the best cross-validation score (as ``featx train`` picks)."""
        return max(self.baselines.items(), key=lambda kv: kv[1]["cv_score"])

    @property
    def images_per_s(self) -> float | None:
        stage = self.stages.get("stage 2") or self.stages.get("stage 1")
        return stage.images_per_s if stage else None

    def table(self) -> str:
        """The held-out accuracy of every classical head and of the network after each stage."""
        rows = [{"model": f"{name} on frozen features (CV {b['cv_score']:.4f})",
                 "held-out accuracy": f"{b['test_accuracy']:.4f}"}
                for name, b in self.baselines.items()]
        for name, accuracy in self.stage_accuracy.items():
            rows.append({"model": f"fine-tuned, {name}", "held-out accuracy": f"{accuracy:.4f}"})
        return format_table(rows)

    def summary(self) -> str:
        """What ``featx finetune`` prints: the comparison, the stages, what was left out, the
        file written and how to use it."""
        name, best = self.best_baseline
        note = " (optimistic: early stopping used the held-out rows)" if self.optimistic else ""
        resize = f" --resize {self.resize}" if self.resize != "squash" else ""
        lines = [f"held out: {self.n_held_out} images ({self.held_out}); classes "
                 f"{', '.join(self.classes)}", self.table(),
                 f"fine-tuned {self.accuracy:.4f}{note} vs {name} on frozen features "
                 f"{best['test_accuracy']:.4f} ({self.accuracy - best['test_accuracy']:+.4f})"]
        for label, stage in self.stages.items():
            rate = f", {stage.images_per_s:.1f} images/s" if stage.images_per_s else ""
            kept = f"epoch {stage.best_epoch}" if stage.best_epoch else "its starting weights"
            stop = " (interrupted)" if stage.interrupted else ""
            lines.append(f"{label}: {stage.epochs} epochs in {stage.seconds:.0f} s{rate}; kept "
                         f"{kept}{stop}")
        if self.unlabelled:
            lines.append(f"not used: {self.unlabelled} unlabelled images (fine-tuning needs "
                         "class folders or labels)")
        if self.failures:
            lines.append(f"not used: {len(self.failures)} images that could not be embedded:")
            lines += [f"  failed: {path_text(f.path)}: {f.reason}"
                      for f in self.failures[:FAILURES_SHOWN]]
            if len(self.failures) > FAILURES_SHOWN:
                lines.append(f"  ... and {len(self.failures) - FAILURES_SHOWN} more")
        lines.append(f"wrote {self.out} in {self.seconds / 60:.1f} min; its features: featx "
                     f"embed SOURCE OUT.h5 --backbone {self.out} --layer {self.features_layer}"
                     f"{resize}; classify: featx predict {self.out} SOURCE --out DIR")
        return "\n".join(lines)


def finetune(source, out: str | os.PathLike, *, backbone: str = DEFAULT_BACKBONE,
             layer: str | None = None, pooling: str = "avg",
             input_size: int | tuple[int, int] | None = None,
             weights: str | os.PathLike | None = "imagenet", preprocess: str | None = None,
             resize: str = "squash", features: str | os.PathLike | None = None,
             progress: bool = True, log: Callable[[str], object] = print,
             **options) -> FinetuneResult:
    """Fine-tune ``backbone`` on the labelled images of ``source``; write ``out`` (``.keras``).

    The backbone options are those of :func:`featx.embed`; ``options`` are the fields of
    :class:`~featx.finetuning.options.FinetuneOptions` (``unfreeze``, ``augment``, ``epochs``,
    ...). Ctrl-C during training keeps the best weights so far, saves them and returns with
    ``interrupted`` set.
    """
    config = resolve(backbone, layer=layer, pooling=pooling, input_size=input_size,
                     weights=weights, preprocess=preprocess, resize=resize)
    return run(config, source, out, make_options(**options), features=features,
               progress=progress, log=log)


def run(config: FeatureConfig, source, out: str | os.PathLike, opts: FinetuneOptions, *,
        features: str | os.PathLike | None = None, progress: bool = True,
        log: Callable[[str], object] = print) -> FinetuneResult:
    """:func:`finetune` for a resolved feature configuration and options, both passed whole."""
    check_out(out)
    heads = select_heads(list(opts.compare))
    begin = time.perf_counter()
    threads = opts.threads or decode_threads()
    with _feature_file(features) as path:
        embedded = embed_run(config, source, path, RunOptions(
            batch_size=opts.batch_size, threads=threads, progress=progress))
        log(embedded.report())
        if embedded.interrupted:
            raise KeyboardInterrupt
        listed = data.labelled_rows(embedded, path)
    if listed.unlabelled:
        log(f"{listed.unlabelled} unlabelled images are not used (fine-tuning needs labels)")
    rows = listed.rows
    splits = data.split(rows, opts, features or _name(source))
    for warning in splits.warnings:
        log(f"warning: {warning}")
    _check_classes(splits)
    log(splits.describe())
    baselines = compare(splits, heads, listed.meta, opts)
    for name, b in baselines.items():
        log(f"{name} on frozen features: CV {b['cv_score']:.4f}, held-out accuracy "
            f"{b['test_accuracy']:.4f}")

    net = network.build(config, len(rows.classes), opts.dropout, seed=opts.seed)
    if opts.init == "logreg":
        _start_from_logreg(net, splits.fit, opts)
    policy = network.auto_precision() if opts.precision == "auto" else opts.precision
    if policy != "float32":
        net.model = network.with_precision(net.model, policy)
    result = FinetuneResult(os.fspath(out), rows.classes, net.features_layer, splits.held_out_how,
                            len(splits.held_out), 0.0, baselines, validation=splits.validation_how,
                            optimistic=splits.validation_is_held_out, resize=net.config.resize,
                            failures=listed.failures, unlabelled=listed.unlabelled)
    _run_stages(net, splits, opts, policy, threads, result, progress, log)
    if policy != "float32":  # score the float32 network that is saved
        net.model = network.with_precision(net.model, "float32")
        result.accuracy = _accuracy_from_images(net, splits.held_out, opts, threads)
        result.stage_accuracy[list(result.stage_accuracy)[-1]] = result.accuracy
    result.seconds = time.perf_counter() - begin
    classifier.save(net.model, out, _meta(net, result, opts))
    return result


def check_out(out: str | os.PathLike) -> None:
    """Refuse an output that is not a ``.keras`` file."""
    if not classifier.is_classifier_path(out):
        raise FeatxError(f"{out}: the fine-tuned model is written as a .keras file")


def compare(splits: data.Splits, heads: list[str], meta: dict,
            opts: FinetuneOptions) -> dict[str, dict]:
    """Grid-search each classical head on the training rows' frozen features, as ``featx
    train`` does; score it on the held-out rows."""
    dataset = splits.dataset(meta)
    results = {}
    for name in heads:
        result = evaluate_head(name, dataset, cv=_folds(splits.train, opts.cv), seed=opts.seed)
        results[name] = {"cv_score": result.cv_score, "test_accuracy": result.test_accuracy,
                         "best_params": {k: str(v) for k, v in
                                         result.search.best_params_.items()}}
    return results


def _run_stages(net: network.Network, splits: data.Splits, opts: FinetuneOptions, policy: str,
                threads: int, result: FinetuneResult, progress: bool, log) -> None:
    """Stage 1 (head) and stage 2 (top blocks); each keeps its best weights."""
    _, top, _ = network.split(net.model, net.features_layer)
    held = (splits.held_out.X, splits.held_out.y)
    if opts.stage1_epochs:
        log(f"stage 1: the head on the frozen base, up to {opts.stage1_epochs} epochs")
        stage = _fit(net, top, splits, splits.fit.X, splits.validation.X, opts,
                     opts.stage1_epochs, opts.head_learning_rate, policy, threads, progress, log)
        result.stages["stage 1"] = stage
    result.stage_accuracy["head only (stage 1)"] = evaluate(top, *held)["val_accuracy"]
    result.accuracy = result.stage_accuracy["head only (stage 1)"]
    if result.stages.get("stage 1") and result.stages["stage 1"].interrupted:
        result.interrupted = True
        return
    if not opts.unfreeze:
        return
    groups = network.unfreeze(net, opts.unfreeze, opts.unfreeze_by)
    result.unfrozen = network.trainable_summary(groups, net.model)
    log(f"stage 2: unfrozen {result.unfrozen}")
    trunk, top, cut = network.split(net.model, net.features_layer)
    parts = [splits.validation, splits.held_out] + ([splits.fit] if opts.augment == "none" else [])
    log(f"frozen activations at {cut} {tuple(trunk.output.shape[1:])}, computed once for the "
        f"{sum(len(p) for p in parts)} images that are not augmented")
    acts = [_activations(trunk, p, net, opts, threads) for p in parts]
    stage = _fit(net, top, splits, acts[2] if len(acts) > 2 else None, acts[0], opts,
                 opts.epochs, opts.learning_rate, policy, threads, progress, log)
    result.stages["stage 2"] = stage
    name = f"top {opts.unfreeze} {opts.unfreeze_by}{'s' if opts.unfreeze != 1 else ''} (stage 2)"
    result.stage_accuracy[name] = evaluate(top, acts[1], splits.held_out.y)["val_accuracy"]
    result.accuracy = result.stage_accuracy[name]
    result.interrupted = stage.interrupted


def _fit(net, top, splits: data.Splits, fit_acts: np.ndarray | None, val_acts: np.ndarray,
         opts: FinetuneOptions, epochs: int, learning_rate: float, policy: str, threads: int,
         progress: bool, log) -> Stage:
    """One stage: on images through the whole network (augmented), or, without augmentation,
    on the fit rows' stored trunk outputs ``fit_acts`` through ``top``."""
    import tensorflow as tf

    if fit_acts is not None and opts.augment == "none":
        model = top
        batches = (tf.data.Dataset.from_tensor_slices((fit_acts, splits.fit.y.astype(np.int32)))
                   .shuffle(len(fit_acts), seed=opts.seed).batch(opts.batch_size)
                   .prefetch(tf.data.AUTOTUNE))
    else:
        model = net.model
        batches = data.training_dataset(splits.fit, net.config.input_size, net.config.resize,
                                        opts, threads, log)
    return fit_stage(model, top, batches, (val_acts, splits.validation.y), epochs=epochs,
                     learning_rate=learning_rate, patience=opts.patience,
                     n_images=len(splits.fit), policy=policy, progress=progress)


def _activations(trunk, rows: data.Rows, net: network.Network, opts: FinetuneOptions,
                 threads: int) -> np.ndarray:
    outputs = [trunk.predict_on_batch(batch) for batch in data.decode_batches(
        rows.paths, net.config.input_size, net.config.resize, opts.batch_size, threads)]
    return np.concatenate(outputs) if outputs else np.empty((0, *trunk.output.shape[1:]))


def _accuracy_from_images(net: network.Network, rows: data.Rows, opts: FinetuneOptions,
                          threads: int) -> float:
    proba = np.concatenate([net.model.predict_on_batch(batch) for batch in data.decode_batches(
        rows.paths, net.config.input_size, net.config.resize, opts.batch_size, threads)])
    return float((proba.argmax(axis=1) == rows.y).mean())


def _start_from_logreg(net: network.Network, fit: data.Rows, opts: FinetuneOptions) -> None:
    """Stage 1 as a logistic regression on standardised frozen features (C by CV), folded into
    the head."""
    gs = search("logreg", fit.X, fit.y, cv=_folds(fit, opts.cv), grid={"norm": ["standard"]},
                seed=opts.seed)
    pipe = gs.best_estimator_
    scaler, clf = pipe.named_steps["norm"], pipe.named_steps["clf"]
    network.init_head(net, clf.coef_, clf.intercept_, scaler.mean_, scaler.scale_)


def _folds(rows: data.Rows, cv: int) -> int:
    smallest = int(np.bincount(rows.y, minlength=len(rows.classes)).min())
    if smallest < 2:
        raise FeatxError(f"cross-validating the classical heads needs 2 training images of "
                         f"every class; the smallest class has {smallest}")
    return min(cv, smallest)


def _check_classes(splits: data.Splits) -> None:
    for part, rows in [("fit", splits.fit), ("validation", splits.validation)]:
        missing = [c for i, c in enumerate(rows.classes) if not (rows.y == i).any()]
        if missing:
            raise FeatxError(f"no {part} images of class(es) {', '.join(missing)}")


def _meta(net: network.Network, result: FinetuneResult, opts: FinetuneOptions) -> dict:
    return {
        "classes": result.classes,
        "features_layer": net.features_layer,
        "input_size": list(net.config.input_size),
        "resize": net.config.resize,
        "base": {k: v for k, v in net.config.attrs().items() if k != "created"},
        "options": asdict(opts),
        "held_out": result.held_out,
        "accuracy": result.accuracy,
        "stage_accuracy": result.stage_accuracy,
        "baselines": result.baselines,
        "stages": {k: {**asdict(v), "images_per_s": v.images_per_s}
                   for k, v in result.stages.items()},
        "interrupted": result.interrupted,
    }


def _name(source) -> str:
    """A source as errors name it: a folder or list, else its listed paths."""
    return os.fspath(source) if isinstance(source, str | os.PathLike) else "the listed images"


@contextlib.contextmanager
def _feature_file(path: str | os.PathLike | None):
    if path is not None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="featx-") as tmp:
        yield os.path.join(tmp, "frozen.h5")
