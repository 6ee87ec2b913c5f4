"""Several layers from one forward pass against one configuration at a time.

Run from the repository root::

    PYTHONPATH=. python benchmarks/multi_layer.py [--source DIR] [--limit 160] [--repeats 5]
        [--smoke]

ResNet50 with random weights (``weights=None``) at 224 px, batch 32, on ``--limit`` JPEGs of
``--source`` (a deterministic shuffle of the listing). Four candidate layers, those of
``--layer auto`` (``conv2_block3_out``, ``conv3_block4_out``, ``conv4_block6_out``,
``conv5_block3_out``), each average-pooled. Timed in ``--repeats`` interleaved rounds, each
figure the best (shortest) of its rounds, as :mod:`timeit` advises: on a shared machine a round
that another job slowed down says nothing about featx (here wall times come out bimodal, the
pass either getting both cores or one); the CPU time of this process, which interference
barely moves, is reported beside it, and the per-round times and medians on detail lines:

* ``one``: the deepest layer alone, one forward pass;
* ``two``: the two deepest layers in one pass; ``four``: all four in one pass;
* ``separately``: the four layers embedded one configuration at a time: four passes, each
  through the backbone up to its own layer only (the shallow ones cost a fraction of a pass).

Each run is :func:`featx.embedding.run.run` (what ``featx embed --layer L1,L2`` runs) into a
fresh feature store, end to end (listing, hashing, decoding in threads, the forward pass,
writing); "separately" is four such runs into one store, one configuration each. The backbones
are built and warmed up first (a long-lived process that reuses its model), and the time to
build them is printed apart. The rows of every layer of the four-in-one run are compared with
those of its single-layer run (``max_abs_diff``; at most 1e-5 is the contract).

The last line is the one summary to compare::

    multi_layer resnet50 n=160 one=6.95s two=6.96s four=7.14s separately=18.89s four/one=1.03
    separately/four=2.65 cpu_four/one=1.02 cpu_separately/four=2.66 max_abs_diff=0.0e+00

``four/one`` is what three more layers cost in one pass (the pass to the deepest layer dominates;
pooling more outputs is cheap); ``separately/four`` what one pass saves over four.
``--smoke`` runs every step on 12 generated images with ``mobilenetv2`` at 32 px (the tests run
it so that the script cannot rot); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import featx  # noqa: E402
from featx.backbones import build  # noqa: E402
from featx.backbones.config import resolve  # noqa: E402
from featx.backbones.layers import layer_configs  # noqa: E402
from featx.embedding.options import RunOptions  # noqa: E402
from featx.embedding.run import run  # noqa: E402
from featx.images.sources import list_images  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import make_images  # noqa: E402

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hymenoptera"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with (tempfile.TemporaryDirectory(prefix="featx-bench-") as tmp,
          mock.patch.object(build, "load_backbone") as load_backbone):
        tmp = Path(tmp)
        if args.smoke:
            make_images(tmp / "smoke", 0, 12)
            args.source = tmp / "smoke"
        items = list_images(args.source).items
        random.Random(0).shuffle(items)
        if len(items) < args.limit:
            sys.exit(f"{args.source} holds {len(items)} images; need --limit {args.limit}")
        listing = tmp / "images.txt"
        listing.write_text("".join(f"{item.path}\n" for item in items[:args.limit]))
        base = resolve(args.backbone, weights=None, input_size=args.input_size)
        configs = layer_configs(base, "auto")
        runs = {"one": [configs[-1:]], "two": [configs[-2:]], "four": [configs],
                "separately": [[config] for config in configs]}

        start = time.perf_counter()  # build every backbone a run uses, once, before timing
        built = {key: build.Backbone(key) for key in [
            *configs, tuple(configs[-2:]), tuple(configs)]}
        load_backbone.side_effect = built.__getitem__  # what run() calls: the built ones
        print(f"# build: {time.perf_counter() - start:.1f} s for the {len(built)} backbones "
              "(not timed below)", flush=True)
        warm = tmp / "warm.txt"  # one batch through each compiled pass
        warm.write_text("".join(f"{item.path}\n" for item in items[:args.batch_size]))
        for name, passes in runs.items():
            for i, one_pass in enumerate(passes):
                embed(warm, tmp / f"warm-{name}-{i}.h5", one_pass, args.batch_size)

        wall: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for round_ in range(args.repeats):
            order = list(runs)[round_ % len(runs):] + list(runs)[:round_ % len(runs)]
            for name in order:
                out = tmp / f"{name}-{round_}.h5"
                timed = [embed(listing, out, passes, args.batch_size) for passes in runs[name]]
                wall[name].append(sum(t[0] for t in timed))
                cpu[name].append(sum(t[1] for t in timed))
            print(f"# round {round_}: " + "  ".join(
                f"{name} {wall[name][-1]:.2f} s ({cpu[name][-1]:.1f} s CPU)" for name in runs)
                + f"; four/one {wall['four'][-1] / wall['one'][-1]:.2f}", flush=True)
        diff = max_abs_diff(tmp / "four-0.h5", tmp / "separately-0.h5", configs)
        median = {name: statistics.median(values) for name, values in wall.items()}
        best = {name: min(values) for name, values in wall.items()}
        least = {name: min(values) for name, values in cpu.items()}
        n = args.limit
        print("# medians: " + "  ".join(f"{name} {median[name]:.2f} s" for name in runs)
              + f"; four/one {median['four'] / median['one']:.2f}")
        print("# best: " + "  ".join(f"{name} {n / best[name]:.1f} images/s" for name in runs))
        print(f"multi_layer {base.backbone} n={n} " + " ".join(
            f"{name}={best[name]:.2f}s" for name in runs)
            + f" four/one={best['four'] / best['one']:.2f}"
            f" separately/four={best['separately'] / best['four']:.2f}"
            f" cpu_four/one={least['four'] / least['one']:.2f}"
            f" cpu_separately/four={least['separately'] / least['four']:.2f}"
            f" max_abs_diff={diff:.1e}")


def embed(listing: Path, out: Path, configs: list, batch_size: int) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) to embed the listed images with
    ``configs`` in one pass into the store ``out``."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = run(configs, listing, out, RunOptions(batch_size=batch_size, progress=False))
    assert result.embedded and not result.failures, result.report()
    return time.perf_counter() - start, time.process_time() - start_cpu


def max_abs_diff(together: Path, separately: Path, configs: list) -> float:
    """The largest difference between a layer's rows from the one pass and from its own."""
    worst = 0.0
    for config in configs:
        a = featx.load(together, config=config)
        b = featx.load(separately, config=config)
        assert list(a.keys) == list(b.keys)
        worst = max(worst, float(np.abs(a.X - b.X).max()))
    return worst


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--limit", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--input-size", type=int, default=None)
    parser.add_argument("--smoke", action="store_true",
                        help="12 generated images, mobilenetv2 at 32 px, one round")
    args = parser.parse_args(argv)
    if args.smoke:
        args.limit, args.repeats, args.backbone, args.input_size = 12, 1, "mobilenetv2", 32
    return args


if __name__ == "__main__":
    main()
