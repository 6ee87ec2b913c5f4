"""Throughput of ``featx.embed`` against the bare forward pass and a naive Keras loop.

Run from the repository root::

    PYTHONPATH=. python benchmarks/embed_throughput.py [--source DIR] [--limit 160]
        [--backbone resnet50|vgg16|...] [--input-size N] [--upscale 3000x2000] [--smoke]

All three measurements use ``--backbone`` (default ResNet50) with random weights
(``weights=None``) at its default input size, in this one process, on the same ``--limit`` JPEGs of
``--source`` (a deterministic shuffle of the listing, so both classes and both splits appear), or
on copies of them upscaled to ``--upscale`` (to show that large photos cost no more: JPEG draft
mode decodes them near the target size):

1. **end to end** -- ``featx.embed(list.csv, fresh.h5, backbone="resnet50", weights=None,
   batch_size=32, progress=False)`` into a new temporary file each time. The whole call is timed:
   reading the list, stat + content hashing of every file, locking, decoding in the runner's
   threads, the forward pass, writing every batch as an fsynced part file and the final merge.
   The files are in the page cache after the first run (disk reads are not what is measured).

   * ``end_to_end_incl_build``: one such call that also builds the model itself (Keras model
     construction + ``tf.function`` trace inside ``featx.backbones.build.load_backbone``, plus the
     first-call graph instantiation). TensorFlow is already imported: a warm-up call on other
     images ran first. The build alone (``load_backbone``) is timed by wrapping it here.
   * ``end_to_end`` (steady state, the headline figure): ``load_backbone`` is replaced, in this
     script only, by a function that returns a model already built and warmed (one batch of 32
     run through it), as a long-lived process reusing its model would see. Everything else in the
     call is counted. Median of ``--repeats`` runs.

2. **bare** -- that same built ``Backbone`` called on already-decoded uint8 arrays in batches of 32
   (``np.stack`` included); only the forward calls are timed, after a warm-up batch. Median of
   ``--repeats`` runs over the ``--limit`` images.

3. **naive** -- the tutorial loop, one image at a time: ``keras.utils.load_img(path,
   target_size=(224, 224))``, ``img_to_array``, ``resnet50.preprocess_input``,
   ``model.predict(x[None], verbose=0)`` with ``ResNet50(include_top=False, pooling="avg",
   weights=None)`` (the same 2048-d features). Model build and the first ``predict`` (compile) are
   not timed. Median of ``--repeats`` runs over the first ``--naive`` images.

Repeats are interleaved (the order of the three rotates each round) so that drifts in the load of
a noisy machine hit all three alike. In the steady-state end-to-end runs the runner's
``decode_image`` and forward calls are wrapped to report where the wall time goes: ``decode_cpu``
is the CPU time the decoding threads spent (they overlap the forward pass), ``forward`` is wall
time inside the model calls, ``other`` is the rest of the call (hashing, waiting for decodes,
HDF5 writes, merge). ``fwd_share`` = forward / wall is what e2e/bare would be if the forward
pass inside featx ran exactly as fast as the bare one: on a noisy machine it is the steadier
measure of featx's own overhead. Ratios are of medians; per-round (paired) ratios are printed
on a detail line. Because wall-clock rates swing by 2-3x when other processes load the machine,
the CPU time this process spends per image (``time.process_time``, all threads) is also reported,
and the ``cpu_e2e/bare`` and ``cpu_e2e/naive`` ratios compare those: they show the work each way
costs, largely independent of how much of the machine the process was given at the time.

The last line is the one summary to compare, e.g.::

    embed_throughput resnet50 n=160 end_to_end=25.1/s bare=27.0/s naive=5.6/s e2e/bare=0.93 ...

``--smoke`` runs every step on 12 generated images with ``mobilenetv2`` at 32 px (the tests run it
so that the script cannot rot); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import featx.backbones.build  # noqa: E402
import featx.embedding.batches  # noqa: E402
import featx.embedding.run  # noqa: E402
from featx import SEED  # noqa: E402
from featx.backbones import registry  # noqa: E402
from featx.backbones.config import resolve  # noqa: E402
from featx.images.decode import decode_image  # noqa: E402
from featx.images.sources import list_images  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import make_images  # noqa: E402

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hymenoptera"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spec = registry.get(args.backbone)
    size = (args.input_size or spec.input_size,) * 2

    with tempfile.TemporaryDirectory(prefix="featx-bench-") as tmp:
        tmp = Path(tmp)
        if args.smoke:
            make_images(tmp / "smoke", 0, 12)
            args.source = tmp / "smoke"
        items = list_images(args.source).items
        random.Random(0).shuffle(items)
        n_warm = 8
        if len(items) < args.limit + n_warm:
            sys.exit(f"{args.source} holds {len(items)} images; need --limit + {n_warm}")
        main_items, warm_items = items[:args.limit], items[args.limit:args.limit + n_warm]
        if args.upscale:
            main_items = upscale(main_items, tmp / "large", args.upscale)
            warm_items = upscale(warm_items, tmp / "large-warm", args.upscale)
        naive_paths = [item.path for item in main_items[:args.naive]]
        source = write_list(tmp / "images.csv", main_items)
        warm_source = write_list(tmp / "warm.csv", warm_items)
        kwargs = dict(backbone=spec.name, weights=None, input_size=args.input_size,
                      batch_size=args.batch_size, progress=False)
        real_load = featx.backbones.build.load_backbone

        # Warm-up: imports TensorFlow/Keras and runs every code path once, on other images.
        timed = Timed(real_load)
        featx.backbones.build.load_backbone = timed
        try:
            t0 = time.perf_counter()
            featx.embedding.run.embed(warm_source, tmp / "warm.h5", **kwargs)
            print(f"# warm-up: {n_warm} images in {time.perf_counter() - t0:.1f} s "
                  f"(first TF import + build {timed.seconds:.1f} s)", flush=True)

            # End to end including the model build (once: it is the expensive one).
            real_load.cache_clear()  # load_backbone keeps built models; build this one anew
            timed = Timed(real_load)
            featx.backbones.build.load_backbone = timed
            t0 = time.perf_counter()
            result = featx.embedding.run.embed(source, tmp / "incl_build.h5", **kwargs)
            incl = time.perf_counter() - t0
            check(result, args.limit)
            print(f"# end_to_end_incl_build: {args.limit / incl:.1f}/s ({incl:.1f} s, of which "
                  f"load_backbone {timed.seconds:.1f} s)", flush=True)
        finally:
            featx.backbones.build.load_backbone = real_load

        net = real_load(resolve(spec.name, weights=None, input_size=args.input_size))
        net(np.zeros((args.batch_size, *size, 3), np.uint8))  # graph instantiation, kernels
        pixels = [decode_image(item.path, size) for item in main_items]
        naive_model = NaiveLoop(spec, size)
        naive_model.warm(naive_paths[0])

        runs: dict[str, list[float]] = {"e2e": [], "bare": [], "naive": []}
        shares: list[dict[str, float]] = []
        order = ["e2e", "bare", "naive"]
        cpu: dict[str, list[float]] = {"e2e": [], "bare": [], "naive": []}
        for rep in range(args.repeats):
            for name in order[rep % 3:] + order[:rep % 3]:
                cpu0 = time.process_time()
                if name == "e2e":
                    seconds, share = run_end_to_end(net, source, tmp / f"e2e-{rep}.h5", kwargs,
                                                    args.limit)
                    shares.append(share)
                    rate = args.limit / seconds
                elif name == "bare":
                    rate = args.limit / run_bare(net, pixels, args.batch_size)
                else:
                    rate = len(naive_paths) / naive_model.run(naive_paths)
                count = len(naive_paths) if name == "naive" else args.limit
                cpu[name].append((time.process_time() - cpu0) / count)
                runs[name].append(rate)
                print(f"# repeat {rep + 1} {name}: {rate:.1f}/s, "
                      f"{cpu[name][-1] * 1e3:.0f} CPU ms/image", flush=True)

        share = {k: statistics.median(s[k] for s in shares) for k in shares[0]}
        print(f"# end_to_end time split (median, s): wall {share['wall']:.2f}, forward "
              f"{share['forward']:.2f} ({share['forward'] / share['wall']:.0%}), other "
              f"{share['wall'] - share['forward']:.2f}; decode_cpu {share['decode_cpu']:.2f} "
              f"({share['decode_cpu'] / share['wall']:.0%} of wall, "
              f"{share['decode_cpu'] / (share['wall'] * (os.cpu_count() or 1)):.0%} of "
              f"{os.cpu_count()} cores)")
        pairs = zip(runs["e2e"], runs["bare"], runs["naive"], strict=True)
        paired_bare, paired_naive = (statistics.median(col) for col in
                                     zip(*((e / b, e / n) for e, b, n in pairs), strict=True))
        print(f"# per-round ratios (same round, so less exposed to load drift): e2e/bare "
              f"{paired_bare:.2f}, e2e/naive {paired_naive:.1f}; engine forward/wall "
              f"{share['forward'] / share['wall']:.2f} (the e2e/bare ratio if the engine's "
              f"forward ran at the bare speed)")
        e2e, bare, naive = (statistics.median(runs[k]) for k in ("e2e", "bare", "naive"))
        cpu_e2e, cpu_bare, cpu_naive = (statistics.median(cpu[k]) for k in ("e2e", "bare", "naive"))
        print(f"# CPU time per image (median, all threads of this process): end_to_end "
              f"{cpu_e2e * 1e3:.0f} ms, bare {cpu_bare * 1e3:.0f} ms, naive {cpu_naive * 1e3:.0f} "
              f"ms; as throughput ratios: e2e/bare {cpu_bare / cpu_e2e:.2f}, e2e/naive "
              f"{cpu_naive / cpu_e2e:.1f}")
        photos = "x".join(map(str, args.upscale)) if args.upscale else "original"
        print(f"embed_throughput {spec.name} photos={photos} n={args.limit} end_to_end={e2e:.1f}/s "
              f"bare={bare:.1f}/s naive={naive:.1f}/s e2e/bare={e2e / bare:.2f} "
              f"e2e/naive={e2e / naive:.1f} incl_build={args.limit / incl:.1f}/s "
              f"fwd_share={share['forward'] / share['wall']:.2f} "
              f"cpu_e2e/bare={cpu_bare / cpu_e2e:.2f} cpu_e2e/naive={cpu_naive / cpu_e2e:.1f} "
              f"naive_n={len(naive_paths)} repeats={args.repeats} cpus={os.cpu_count()}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE.resolve(),
                        help="image folder (default: ../shared/data/hymenoptera)")
    parser.add_argument("--limit", type=int, default=160, help="images embedded (default 160)")
    parser.add_argument("--naive", type=int, default=32,
                        help="images for the naive one-at-a-time loop (default 32)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbone", default="resnet50", help="registry name (default resnet50)")
    parser.add_argument("--input-size", type=int, default=None,
                        help="backbone input size in px (default: the registry's)")
    parser.add_argument("--upscale", type=_size, default=None, metavar="WxH",
                        help="embed copies of the photos upscaled to WxH (e.g. 3000x2000)")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run on generated images (meaningless figures)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.limit, args.naive, args.repeats, args.batch_size = 4, 2, 1, 4
        args.backbone, args.input_size = "mobilenetv2", 32
    return args


def _size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def upscale(items, folder: Path, size: tuple[int, int]) -> list:
    """JPEG copies (quality 90) of the items' photos resized to ``size``, as new items."""
    from PIL import Image

    folder.mkdir()
    out = []
    for i, item in enumerate(items):
        path = folder / f"{i:04d}.jpg"
        with Image.open(item.path) as img:
            img.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(path, quality=90)
        out.append(dataclasses.replace(item, path=str(path)))
    return out


def write_list(path: Path, items) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "split"])
        writer.writerows((item.path, item.label or "", item.split) for item in items)
    return path


def check(result, expected: int) -> None:
    if result.embedded != expected or result.failures:
        sys.exit(f"embed went wrong: {result.summary()} {result.failures[:3]}")


class Timed:
    """A callable whose calls are timed (wall, in ``seconds``): ``load_backbone`` stood in for,
    or a built ``Backbone`` (its other attributes, ``config`` and ``dim``, are passed through)."""

    def __init__(self, call):
        self.call = call
        self.seconds = 0.0

    def __getattr__(self, name: str):
        return getattr(self.call, name)

    def __call__(self, *args):
        t0 = time.perf_counter()
        try:
            return self.call(*args)
        finally:
            self.seconds += time.perf_counter() - t0


def run_end_to_end(net, source: Path, out: Path, kwargs: dict, expected: int):
    """One steady-state ``embed`` call; returns its wall seconds and the time split."""
    timed_net = Timed(net)
    decode_cpu = [0.0]
    lock = threading.Lock()
    real_decode = featx.embedding.batches.decode_image

    def timed_decode(*args, **kw):
        t0 = time.thread_time()
        try:
            return real_decode(*args, **kw)
        finally:
            with lock:
                decode_cpu[0] += time.thread_time() - t0

    real_load = featx.backbones.build.load_backbone
    featx.backbones.build.load_backbone = lambda config: timed_net
    featx.embedding.batches.decode_image = timed_decode
    try:
        t0 = time.perf_counter()
        result = featx.embedding.run.embed(source, out, **kwargs)
        wall = time.perf_counter() - t0
    finally:
        featx.backbones.build.load_backbone = real_load
        featx.embedding.batches.decode_image = real_decode
    check(result, expected)
    return wall, {"wall": wall, "forward": timed_net.seconds, "decode_cpu": decode_cpu[0]}


def run_bare(net, pixels: list[np.ndarray], batch_size: int) -> float:
    seconds = 0.0
    for i in range(0, len(pixels), batch_size):
        t0 = time.perf_counter()
        net(np.stack(pixels[i:i + batch_size]))
        seconds += time.perf_counter() - t0
    return seconds


class NaiveLoop:
    """The one-image-at-a-time Keras tutorial loop, for the registry backbone ``spec``."""

    def __init__(self, spec: registry.BackboneSpec, size: tuple[int, int]):
        import keras

        keras.utils.set_random_seed(SEED)  # the seed of featx's random weights
        self.keras, self.size = keras, size
        builder = getattr(keras.applications, spec.builder.rsplit(".", 1)[1])
        module = importlib.import_module(f"keras.applications.{spec.preprocess}")
        self.preprocess = module.preprocess_input
        self.model = builder(include_top=False, pooling="avg", weights=None,
                             input_shape=(*self.size, 3))

    def embed_one(self, path: str) -> np.ndarray:
        img = self.keras.utils.load_img(path, target_size=self.size)
        x = self.preprocess(self.keras.utils.img_to_array(img))
        return self.model.predict(x[None], verbose=0)[0]

    def warm(self, path: str) -> None:
        self.embed_one(path)

    def run(self, paths: list[str]) -> float:
        t0 = time.perf_counter()
        for path in paths:
            self.embed_one(path)
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
