"""Fine-tuning throughput: featx's training loop against the plain Keras recipe, side by side.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/finetune.py [--source DIR] [--backbone FILE|NAME]
        [--unfreeze 1] [--epochs 3] [--smoke]

One network (``--backbone``, default the shared EfficientNet-Lite0 file; its top ``--unfreeze``
blocks trainable, BatchNorm frozen, augmentation on) and one split of ``--source`` (the fit and
validation rows ``featx finetune`` uses: hymenoptera's train split, 195 + 49 images), trained for
``--epochs`` epochs each way in this one process:

1. **keras**: the recipe as usually written: a ``tf.data`` pipeline that decodes every image every
   epoch (featx's reader and decoder in a parallel ``map``), shuffles, batches, augments and
   prefetches;
   ``model.fit(..., validation_data=...)`` with the validation images decoded and run through the
   whole network every epoch.
2. **featx**: ``featx.finetuning``'s loop: decoded pixels cached in memory after the first epoch,
   prefetch, and validation on stored activations (the frozen trunk runs once on the validation
   images; each epoch evaluates only the trainable top).
3. **none** (``--augment none``): training on stored activations as well; the frozen trunk never
   runs during training.
4. **bare**: the train step alone on tensors already in memory (no decoding, no augmentation, no
   validation): the ceiling for 1 and 2.

Rates are training images (fit rows) per second of epoch wall time, validation included, median
over the epochs after the first (which traces the step and, for featx, fills the pixel cache); the
first epoch is reported apart. Two settings that featx leaves off on CPUs are timed on the bare
step: ``mixed_bfloat16`` (epochs interleaved with the float32 ones: ``bf16/bare``) and XLA
(``jit_compile=True``, on 64 images: ``xla/bare``).

The last line is the one summary to compare, e.g.::

    finetune lite0 unfreeze=1 fit=195 val=49 keras=14.2/s featx=21.0/s none=690/s bare=24.8/s ...
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SHARED / "data" / "hymenoptera"))
    parser.add_argument("--backbone",
                        default=str(SHARED / "backbones" / "efficientnet_lite0_imagenet.keras"))
    parser.add_argument("--unfreeze", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny generated model and 16 images, 2 epochs (for the tests)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="featx-finetune-bench-") as work:
        if args.smoke:
            args.source, args.backbone = _smoke_inputs(Path(work))
            args.epochs = 2
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Train the one network each way, print the detail lines and the summary line."""
    from featx.backbones.build import quiet_start
    from featx.backbones.config import resolve
    from featx.finetuning import data, network
    from featx.finetuning.loop import fit_stage
    from featx.finetuning.options import FinetuneOptions
    from featx.images.pixels import load_pixels

    with quiet_start():
        import keras

    opts = FinetuneOptions(unfreeze=args.unfreeze, batch_size=16 if args.smoke else 32)
    splits = data.split(_rows(args.source), opts)
    fit, validation = splits.fit, splits.validation
    print(f"# {args.backbone}: fit {len(fit)}, validation {len(validation)}, epochs "
          f"{args.epochs}, threads {args.threads}")
    keras.utils.set_random_seed(0)
    net = network.build(resolve(args.backbone), len(fit.classes))
    network.unfreeze(net, opts.unfreeze)
    size, resize = net.config.input_size, net.config.resize
    start = [w.copy() for w in net.model.get_weights()]
    trunk, top, _ = network.split(net.model, net.features_layer)
    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    clock = Clock(len(fit))
    _keras_recipe(net.model, fit, validation, size, resize, opts, args, clock)
    rates["keras"], cpu["keras"] = clock.rates, clock.cpu

    net.model.set_weights(start)
    validation_acts = _activations(trunk, validation, size, resize, opts, args.threads)
    clock = Clock(len(fit))
    fit_stage(net.model, top, data.training_dataset(fit, size, resize, opts, args.threads, _quiet),
              (validation_acts, validation.y), epochs=args.epochs,
              learning_rate=opts.learning_rate, patience=args.epochs, n_images=len(fit),
              progress=False, callbacks=[clock])
    rates["featx"], cpu["featx"] = clock.rates, clock.cpu

    net.model.set_weights(start)
    import tensorflow as tf

    stored = (tf.data.Dataset.from_tensor_slices(
        (_activations(trunk, fit, size, resize, opts, args.threads), fit.y.astype(np.int32)))
        .shuffle(len(fit), seed=0).batch(opts.batch_size).prefetch(tf.data.AUTOTUNE))
    clock = Clock(len(fit))
    fit_stage(top, top, stored, (validation_acts, validation.y), epochs=args.epochs,
              learning_rate=opts.learning_rate, patience=args.epochs, n_images=len(fit),
              progress=False, callbacks=[clock])
    rates["none"], cpu["none"] = clock.rates, clock.cpu

    pixels = np.stack([load_pixels(p, size, resize) for p in fit.paths]).astype(np.float32)
    net.model.set_weights(start)
    _bare({"bare": net.model, "bf16": network.with_precision(net.model, "mixed_bfloat16")},
          pixels, fit.y, opts.batch_size, args.epochs, rates, cpu)
    _bare({"xla": network.with_precision(net.model, "float32")}, pixels[:64], fit.y[:64],
          opts.batch_size, 2, rates, cpu, jit=True)

    rate = {name: _median_after_first(r) for name, r in rates.items()}
    ms = {name: _median_after_first(r) for name, r in cpu.items()}
    for name, r in rates.items():
        print(f"# {name}: {rate[name]:.2f} images/s, {ms[name]:.1f} CPU ms/image (epochs: "
              f"{', '.join(f'{v:.1f}/s' for v in r)})")
    name = Path(args.backbone).stem if os.sep in args.backbone else args.backbone
    print(f"finetune {name} unfreeze={args.unfreeze} fit={len(fit)} val={len(validation)} "
          f"keras={rate['keras']:.1f}/s featx={rate['featx']:.1f}/s none={rate['none']:.0f}/s "
          f"bare={rate['bare']:.1f}/s featx/keras={rate['featx'] / rate['keras']:.2f} "
          f"cpu_keras/featx={ms['keras'] / ms['featx']:.2f} "
          f"featx/bare={rate['featx'] / rate['bare']:.2f} "
          f"bf16/bare={rate['bf16'] / rate['bare']:.2f} "
          f"cpu_bare/bf16={ms['bare'] / ms['bf16']:.2f} "
          f"xla/bare={rate['xla'] / rate['bare']:.2f}")


def _rows(source: str):
    """The labelled images of ``source`` as fine-tuning rows (no features: none are needed)."""
    from featx.finetuning import data
    from featx.images.sources import list_images

    items = [i for i in list_images(source).items if i.label is not None]
    classes = sorted({i.label for i in items})
    return data.Rows([i.path for i in items], np.array([classes.index(i.label) for i in items]),
                     [i.split for i in items], np.zeros((len(items), 1)), classes,
                     [i.path for i in items])


def Clock(n_images: int):  # noqa: N802 (a Keras callback, made once Keras is imported)
    import keras

    class EpochClock(keras.callbacks.Callback):
        """Training images per second of epoch wall time, and CPU ms per image (all threads of
        this process), validation included."""

        def __init__(self):
            super().__init__()
            self.rates: list[float] = []
            self.cpu: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.begin, self.begin_cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.rates.append(n_images / (time.perf_counter() - self.begin))
            self.cpu.append(1000 * (time.process_time() - self.begin_cpu) / n_images)

    return EpochClock()


def _activations(trunk, rows, size, resize, opts, threads) -> np.ndarray:
    from featx.finetuning import data

    return np.concatenate([trunk.predict(b, verbose=0) for b in data.decode_batches(
        rows.paths, size, resize, opts.batch_size, threads)])


def _keras_recipe(model, fit, validation, size, resize, opts, args, clock) -> None:
    """Decode every epoch; validate through the whole network every epoch."""
    import keras
    import tensorflow as tf

    from featx.finetuning import data
    from featx.images.pixels import load_pixels

    def pipeline(rows, augment):
        def load(path, label):
            pixels = tf.numpy_function(lambda p: load_pixels(p.decode(), size, resize), [path],
                                       tf.uint8)
            pixels.set_shape((*size, 3))
            return tf.cast(pixels, tf.float32), label

        ds = tf.data.Dataset.from_tensor_slices((rows.paths, rows.y.astype(np.int32)))
        ds = ds.map(load, num_parallel_calls=args.threads)
        if augment:
            layers = data.augmentation(opts)
            ds = ds.shuffle(len(rows), seed=0).batch(opts.batch_size).map(
                lambda x, y: (layers(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.batch(opts.batch_size)
        return ds.prefetch(tf.data.AUTOTUNE)

    model.compile(keras.optimizers.Adam(opts.learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(pipeline(fit, True), validation_data=pipeline(validation, False),
              epochs=args.epochs, callbacks=[clock], verbose=0, shuffle=False)


def _bare(models: dict, pixels, y, batch_size: int, rounds: int, rates: dict, cpu: dict,
          jit: bool = False) -> None:
    """The train step alone on in-memory tensors: images/s and CPU ms/image per epoch, after a
    warm-up batch; the models' epochs interleave, so load changes on the machine hit them alike."""
    import keras

    for name, model in models.items():
        model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy",
                      jit_compile=jit)
        model.fit(pixels[:batch_size], y[:batch_size], batch_size=batch_size, verbose=0)
        rates[name], cpu[name] = [], []
    for _ in range(rounds):
        for name, model in models.items():
            begin, begin_cpu = time.perf_counter(), time.process_time()
            model.fit(pixels, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
            rates[name].append(len(pixels) / (time.perf_counter() - begin))
            cpu[name].append(1000 * (time.process_time() - begin_cpu) / len(pixels))


def _median_after_first(rates: list[float]) -> float:
    return statistics.median(rates[1:] or rates)


def _smoke_inputs(work: Path) -> tuple[str, str]:
    """16 random photos (train 12, val 4) and a tiny model with named blocks, in ``work``."""
    import keras
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("val", 2)):
        for label in ("a", "b"):
            for i in range(n):
                path = work / "images" / split / label / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="block1_conv")(inputs)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.Conv2D(4, 1, name="top_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    keras.Model(inputs, x).save(work / "tiny.keras")
    return str(work / "images"), str(work / "tiny.keras")


def _quiet(_: str) -> None:
    pass


if __name__ == "__main__":
    main()
