"""One training stage: compile, ``fit`` with Keras progress bars, validate, keep the best weights.

Validation runs on stored activations: the validation images pass through the frozen trunk once,
and each epoch only the trainable top is evaluated on them (see :func:`featx.finetuning.network.
split`). Early stopping watches the validation loss; the best weights, the stage's starting
weights included, are restored at the end, on early stopping, and on Ctrl-C.

>>> import keras
>>> import tensorflow as tf
>>> top = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
>>> X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
>>> y = (X[:, 0] > 0).astype(np.int32)
>>> batches = tf.data.Dataset.from_tensor_slices((X, y)).batch(8)
>>> stage = fit_stage(top, top, batches, (X, y), epochs=3, learning_rate=0.1, patience=3,
...                   n_images=16, progress=False)
>>> stage.epochs, stage.best["val_loss"] <= stage.start["val_loss"]
(3, True)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from featx.finetuning.data import decode_failure

MONITOR = "val_loss"


@dataclass
class Stage:
    """What one stage did. ``best_epoch`` 0 means the starting weights were kept."""

    epochs: int = 0
    best_epoch: int = 0
    start: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float | None:
        """Training images per second, the first epoch (decoding, tracing) left out when there
        are later ones."""
        rates = [row["images/s"] for row in self.history if "images/s" in row]
        rates = rates[1:] or rates
        return float(np.mean(rates)) if rates else None

    @property
    def best(self) -> dict:
        return self.history[self.best_epoch - 1] if self.best_epoch else self.start


def evaluate(top, activations: np.ndarray, y: np.ndarray, batch_size: int = 64) -> dict:
    """Loss and accuracy of ``top`` on stored activations (inference mode)."""
    proba = np.concatenate([np.asarray(top(activations[i:i + batch_size], training=False))
                            for i in range(0, len(activations), batch_size)]).astype(np.float64)
    picked = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
    return {"val_loss": float(-np.log(picked).mean()),
            "val_accuracy": float((proba.argmax(axis=1) == y).mean())}


def fit_stage(model, top, data, validation: tuple[np.ndarray, np.ndarray], *, epochs: int,
              learning_rate: float, patience: int, n_images: int, policy: str = "float32",
              progress: bool = True, callbacks: Sequence = ()) -> Stage:
    """Train ``model``'s trainable weights on ``data`` (a ``tf.data`` dataset of batches),
    validating ``top`` on ``validation`` (trunk activations, labels); ``callbacks`` are added to
    featx's own."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile="auto")
    stage = Stage()
    keep = _keep_best(keras)(lambda: evaluate(top, *validation), patience)
    validate = _validate(keras)(top, validation)
    begin = time.perf_counter()
    try:
        model.fit(data, epochs=epochs, shuffle=False,  # tf.data shuffles
                  callbacks=[_throughput(keras)(n_images), validate, keep, *callbacks],
                  verbose=1 if progress else 0)
    except KeyboardInterrupt:
        stage.interrupted = True
        if keep.best_weights is not None:
            model.set_weights(keep.best_weights)
    except Exception as exc:
        failure = decode_failure(exc)
        if failure is None:
            raise
        raise failure from None
    stage.seconds = time.perf_counter() - begin
    stage.start = keep.start
    stage.history = validate.rows
    stage.epochs = len(stage.history)
    stage.best_epoch = keep.best_epoch + 1
    return stage


def _throughput(keras):
    class Throughput(keras.callbacks.Callback):
        """Adds ``images/s`` (training only) to each epoch's logs, so the progress bar shows it."""

        def __init__(self, n_images: int):
            super().__init__()
            self.n_images = n_images

        def on_epoch_begin(self, epoch, logs=None):
            self.begin = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs["images/s"] = self.n_images / (time.perf_counter() - self.begin)

    return Throughput


def _validate(keras):
    class Validate(keras.callbacks.Callback):
        """Adds ``val_loss`` and ``val_accuracy`` from the stored validation activations and
        keeps every finished epoch's logs in ``rows`` (also when training is interrupted)."""

        def __init__(self, top, validation):
            super().__init__()
            self.top, self.validation = top, validation
            self.rows: list[dict] = []

        def on_epoch_end(self, epoch, logs=None):
            logs.update(evaluate(self.top, *self.validation))
            self.rows.append({k: float(v) for k, v in logs.items()})

    return Validate


def _keep_best(keras):
    class KeepBest(keras.callbacks.EarlyStopping):
        """Early stopping on the validation loss that counts the starting weights as epoch 0."""

        def __init__(self, evaluate_start, patience: int):
            super().__init__(monitor=MONITOR, patience=patience, restore_best_weights=True)
            self.evaluate_start = evaluate_start
            self.start: dict = {}

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self.start = self.evaluate_start()
            self.best = self.start[MONITOR]
            self.best_weights = self.model.get_weights()
            self.best_epoch = -1

    return KeepBest
