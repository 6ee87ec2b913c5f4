"""Fine-tuning data: the labelled images, their train / validation / held-out split, and image
pipelines.

The held-out rows are chosen as ``featx train`` chooses them (:func:`featx.learn.dataset.
hold_out`), so the fine-tuned network and the classical heads are scored on the same images.
Images are read and decoded as ``featx embed`` reads them (:func:`featx.images.pixels.
load_pixels`: regular files, EXIF orientation, colour modes, resize policy), in parallel threads:

* :func:`decode_batches`: every image once, in order, the next batch decoding while the caller
  works on the current one (the frozen passes);
* :func:`training_dataset`: a ``tf.data`` pipeline: decode in parallel, keep the decoded pixels in
  memory when they fit :data:`PIXEL_CACHE_BYTES` (later epochs decode nothing), shuffle (seeded,
  every epoch), batch, augment with Keras preprocessing layers, prefetch.

>>> rows = Rows(["a.jpg", "b.jpg", "c.jpg"], np.array([0, 1, 1]), ["train", "train", "val"],
...             np.zeros((3, 4)), ["ants", "bees"], ["k1", "k2", "k3"])
>>> rows.take(np.array([2])).paths, rows.counts()
(['c.jpg'], 'ants 1, bees 2')
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from featx.errors import FeatxError
from featx.finetuning.options import FinetuneOptions
from featx.images.decode import describe_error
from featx.images.pixels import decode_ahead, load_pixels
from featx.images.sources import split_name
from featx.learn.dataset import HELD_OUT_SPLITS, Dataset, hold_out
from featx.store.read import load
from featx.store.schema import Failure

PIXEL_CACHE_BYTES = 2 << 30
"""Decoded training images are kept in memory up to this size (uint8 pixels)."""
_FEATX_ERROR = re.compile(r"FeatxError: (.*)")


@dataclass
class Rows:
    """Labelled images: paths, class indices into ``classes``, splits, frozen features, keys."""

    paths: list[str]
    y: np.ndarray
    split: list[str]
    X: np.ndarray  # noqa: N815 (scikit-learn naming)
    classes: list[str]
    keys: list[str]

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, index: np.ndarray) -> Rows:
        return Rows([self.paths[i] for i in index], self.y[index],
                    [self.split[i] for i in index], self.X[index], self.classes,
                    [self.keys[i] for i in index])

    def names(self) -> np.ndarray:
        """Labels as class names."""
        return np.asarray(self.classes, dtype=object)[self.y]

    def counts(self) -> str:
        found = Counter(self.names())
        return ", ".join(f"{name} {found[name]}" for name in self.classes if found[name])


@dataclass
class Splits:
    """``train``: the rows ``featx train`` would train on (the classical heads' data); ``fit``
    (gradient steps) and ``validation`` (early stopping): a fraction of ``train`` and the rest,
    or ``train`` and a second held-out-like split (``val`` when ``test`` is held out);
    ``held_out``: the comparison. ``*_how`` say where each came from; ``warnings`` are those of
    the held-out rule (exact duplicates)."""

    train: Rows
    fit: Rows
    validation: Rows
    held_out: Rows
    held_out_how: str
    validation_how: str
    validation_is_held_out: bool = False
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        return (f"train {len(self.train)} ({self.train.counts()}); fine-tuning: fit "
                f"{len(self.fit)}, validation {len(self.validation)} ({self.validation_how}); "
                f"held out {len(self.held_out)} ({self.held_out_how})")

    def dataset(self, meta: dict) -> Dataset:
        """The training and held-out rows as the classical heads see them."""
        return Dataset(self.train.X, self.train.names(), self.held_out.X, self.held_out.names(),
                       sorted(set(self.train.names())), self.held_out_how, meta,
                       list(self.held_out.paths), list(self.warnings))


@dataclass
class Listed:
    """What an embedding run listed: the labelled images that have frozen features, the images
    that could not be embedded, the number of unlabelled images (not used), and the features'
    configuration (the feature file's attributes)."""

    rows: Rows
    failures: list[Failure]
    unlabelled: int
    meta: dict


def labelled_rows(result, store: str | os.PathLike) -> Listed:
    """The labelled images an embedding run (``result``, into ``store``) listed, in listing
    order, with their frozen features; every listed image is a row, exact copies included,
    except those that failed (listed with their reasons) and unlabelled ones (counted)."""
    failed = {f.path for f in result.failures}
    chosen = [(item, key) for item, key in zip(result.items, result.keys, strict=True)
              if key is not None and item.path not in failed and item.label is not None]
    unlabelled = sum(item.label is None and key is not None and item.path not in failed
                     for item, key in zip(result.items, result.keys, strict=True))
    classes = sorted({item.label for item, _ in chosen})
    if len(classes) < 2:
        raise FeatxError(f"fine-tuning needs labelled images of at least 2 classes; found "
                         f"{len(classes)} ({', '.join(classes) or 'none'})")
    keys = [key for _, key in chosen]
    with load(store, result.config) as feats:
        X, meta = feats.by_keys(keys), feats.meta  # noqa: N806
    position = {name: i for i, name in enumerate(classes)}
    rows = Rows([item.path for item, _ in chosen],
                np.array([position[item.label] for item, _ in chosen]),
                [split_name(item.split) for item, _ in chosen], X, classes, keys)
    return Listed(rows, list(result.failures), unlabelled, meta)


def split(rows: Rows, opts: FinetuneOptions, source: str | os.PathLike = "") -> Splits:
    """Train / held-out rows as ``featx train`` chooses them; validation rows per ``opts``."""
    held = hold_out(rows.names(), rows.split, rows.keys, opts.test_size, opts.seed,
                    opts.drop_leaks, source)
    train, test = rows.take(held.train), rows.take(held.test)
    parts = dict(held_out_how=held.how, warnings=tuple(held.warnings))
    if opts.validation == "held-out":
        return Splits(train, train, test, test, validation_how="the held-out rows themselves: "
                      "held-out accuracy is optimistic", validation_is_held_out=True, **parts)
    splits = np.asarray(rows.split, dtype=object)
    present = [s for s in HELD_OUT_SPLITS if (splits == s).any()] if opts.test_size is None \
        else []
    if opts.validation == "auto" and len(present) > 1:
        validation = np.flatnonzero(splits == present[1])
        return Splits(train, train, rows.take(validation), test,
                      validation_how=f"split {present[1]!r}", **parts)
    fraction = opts.validation_fraction if opts.validation == "auto" else opts.validation
    fit, validation = _stratified(held.train, rows.y[held.train], fraction, opts.seed)
    return Splits(train, rows.take(fit), rows.take(validation), test,
                  validation_how=f"stratified random {fraction:g} of train (seed {opts.seed})",
                  **parts)


def _stratified(index: np.ndarray, y: np.ndarray, size: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(y)
    if counts[counts > 0].min() < 2:
        raise FeatxError(f"a stratified validation split needs at least 2 training images of "
                         f"every class; the smallest class has {counts[counts > 0].min()}")
    try:
        return train_test_split(index, test_size=size, stratify=y, random_state=seed)
    except ValueError as exc:
        raise FeatxError(f"cannot draw a {size:g} validation split from {len(index)} training "
                         f"images: {exc}") from None


def decode_batches(paths: Sequence[str], size: tuple[int, int], resize: str, batch_size: int,
                   threads: int) -> Iterator[np.ndarray]:
    """Decoded uint8 batches of ``paths``; an image that no longer decodes (it did when its
    features were computed) is an error naming it."""
    done = 0
    for batch in decode_ahead(paths, size, resize, batch_size, threads):
        for path, pixels in zip(paths[done:done + len(batch)], batch, strict=True):
            if isinstance(pixels, Exception):
                raise FeatxError(f"{path}: {describe_error(pixels)}")
        done += len(batch)
        yield np.stack(batch)


def augmentation(opts: FinetuneOptions):
    """The Keras preprocessing layers of ``augment="default"`` (``None`` for ``"none"``)."""
    if opts.augment == "none":
        return None
    import keras

    layers = [keras.layers.RandomFlip("horizontal", seed=opts.seed)]
    if opts.rotation:
        layers.append(keras.layers.RandomRotation(opts.rotation, seed=opts.seed + 1))
    if opts.zoom:
        layers.append(keras.layers.RandomZoom(opts.zoom, seed=opts.seed + 2))
    return keras.Sequential(layers, name="augment")


def training_dataset(rows: Rows, size: tuple[int, int], resize: str, opts: FinetuneOptions,
                     threads: int, log: Callable[[str], object] = print):
    """``tf.data``: decode (parallel) -> cache in memory if it fits -> shuffle -> batch ->
    augment -> prefetch; yields ``(float32 pixels, class index)`` batches. An image that no
    longer decodes stops training with an error naming it (see :func:`decode_failure`)."""
    import tensorflow as tf

    def decode(path: bytes) -> np.ndarray:
        try:
            return load_pixels(path.decode(), size, resize)
        except Exception as exc:
            raise FeatxError(f"{path.decode()}: {describe_error(exc)}") from None

    def read(path, label):
        pixels = tf.numpy_function(decode, [path], tf.uint8, stateful=False)
        pixels.set_shape((*size, 3))
        return pixels, label

    autotune = tf.data.AUTOTUNE
    data = tf.data.Dataset.from_tensor_slices((rows.paths, rows.y.astype(np.int32)))
    data = data.map(read, num_parallel_calls=threads)
    nbytes = len(rows) * size[0] * size[1] * 3
    if nbytes <= PIXEL_CACHE_BYTES:
        data = data.cache()
        log(f"decoded training images kept in memory ({nbytes / 2**20:.0f} MiB): one decode "
            "per image in all")
    else:
        log(f"decoding the training images every epoch ({nbytes / 2**30:.1f} GiB is more than "
            f"the {PIXEL_CACHE_BYTES / 2**30:.0f} GiB pixel cache)")
    data = data.shuffle(len(rows), seed=opts.seed, reshuffle_each_iteration=True)
    data = data.batch(opts.batch_size)
    augment = augmentation(opts)
    if augment is None:
        data = data.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=autotune)
    else:
        data = data.map(lambda x, y: (augment(tf.cast(x, tf.float32), training=True), y),
                        num_parallel_calls=autotune)
    return data.prefetch(autotune)


def decode_failure(error: Exception) -> FeatxError | None:
    """The :class:`FeatxError` an image decoded inside ``tf.data`` raised (TensorFlow hands it
    on wrapped in one of its own errors), or ``None`` for any other error."""
    found = _FEATX_ERROR.search(str(error))
    return FeatxError(found.group(1).strip()) if found else None
