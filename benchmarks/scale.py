"""Scale, cache and reading benchmark: 2k vs 20k synthetic JPEGs through ``featx embed``.

Each embed runs in its own child process (``os.wait4`` gives its peak RSS); the child records when
each batch reaches the journal, so throughput over the first and last fifth of the run is compared.
Measured, in one run:

* **scale**: peak RSS at 20k vs 2k images, throughput early vs late, file size vs N x D x 4;
* **cache**: a rerun over the 20k unchanged images vs the first run; then 100 new images added,
  with the number of files whose bytes were hashed (the stat cache should spare the 20k);
* **reading**: ``featx.load(f).X`` vs a plain sequential read of the same bytes, and 1,000 random
  rows through ``Features.rows``; and the same features stored with LZF / gzip compression
  (smaller, but is reading still fast?).

Backbone: ``mobilenetv2`` with random weights at 32x32 (1280-d), so the run takes minutes on
2 cores; the costs measured here are featx's own (listing, hashing, journal, merge, HDF5 I/O).

    python benchmarks/scale.py [--n 20000] [--small 2000] [--workdir DIR] [--smoke]

``--smoke`` runs every step on 30 and 10 images (the tests run it so that the script cannot rot);
its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

CHILD = """
import json, sys, time
import featx.backbones.build, featx.embedding.plan, featx.embedding.run, featx.store.journal
stamps, hashed, build = [], [0], [0.0]
write_part = featx.store.journal.Journal.write_part
image_key = featx.embedding.plan.image_key
load_backbone = featx.backbones.build.load_backbone
def timed_load(config):
    begin = time.perf_counter()
    try:
        return load_backbone(config)
    finally:
        build[0] += time.perf_counter() - begin
def timed_write(self, attrs, batch):
    write_part(self, attrs, batch)
    stamps.append((time.perf_counter(), len(batch.keys)))
def counted_key(path):
    hashed[0] += 1
    return image_key(path)
featx.store.journal.Journal.write_part = timed_write
featx.embedding.plan.image_key = counted_key
featx.backbones.build.load_backbone = timed_load
start = time.perf_counter()
size = int(sys.argv[5]) if sys.argv[5] != "default" else None
r = featx.embedding.run.embed(sys.argv[1], sys.argv[2], backbone=sys.argv[4], weights=None,
                              input_size=size, batch_size=int(sys.argv[6]), progress=False)
json.dump({"seconds": time.perf_counter() - start, "embedded": r.embedded, "reused": r.reused,
           "hashed": hashed[0], "build": build[0], "stamps": stamps}, open(sys.argv[3], "w"))
"""


def make_images(folder: Path, start: int, stop: int) -> None:
    """Small distinct JPEGs (64x64 gradients with a per-image pattern), 10 per class folder."""
    rng = np.random.default_rng(start)
    base = np.linspace(0, 255, 64, dtype=np.float32)
    for i in range(start, stop):
        shift = rng.integers(0, 255, 3)
        pixels = (base[None, :, None] + base[:, None, None] * 0.5 + shift) % 256
        pixels[i % 64, :, :] = 255 - (i // 64) % 256
        path = folder / f"class{i % 10}" / f"img{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.astype(np.uint8)).save(path, quality=90)


def run_embed(source: Path, out: Path, backbone: str = "mobilenetv2", input_size: int | None = 32,
              batch_size: int = 64, env: dict | None = None) -> dict:
    """One ``featx embed`` (random weights) in a child process: its JSON report (seconds,
    embedded, reused, files hashed, model build seconds, batch times) plus peak RSS in MiB."""
    report = out.with_suffix(".json")
    args = [str(source), str(out), str(report), backbone, str(input_size or "default"),
            str(batch_size)]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stderr=subprocess.DEVNULL,
                            env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"embed of {source} failed with exit code {proc.returncode}")
    result = json.loads(report.read_text())
    result["rss_mib"] = usage.ru_maxrss / 1024
    return result


def rates(result: dict) -> tuple[float, float]:
    """Images/s over the first and the last fifth of the batches."""
    stamps = result["stamps"]
    fifth = max(2, len(stamps) // 5)

    def rate(chunk):
        return sum(n for _, n in chunk[1:]) / (chunk[-1][0] - chunk[0][0])

    return rate(stamps[:fifth]), rate(stamps[-fifth:])


def reading(path: Path) -> tuple[float, float, float]:
    """Seconds for ``featx.load(path).X``, for a raw sequential read of the same bytes, and for
    1,000 random rows (all rows, in a smaller file)."""
    import featx

    X = featx.load(path).X  # noqa: N806
    raw = path.with_suffix(".raw")
    X.tofile(raw)
    rows = np.random.default_rng(0).choice(len(X), min(1000, len(X)), replace=False)
    np.testing.assert_array_equal(featx.load(path).rows(rows), X[rows])
    return (best_of(3, lambda: featx.load(path).X),
            best_of(3, lambda: np.fromfile(raw, np.float32)),
            best_of(3, lambda: featx.load(path).rows(rows)))


def compression_table(X: np.ndarray, folder: Path) -> list[str]:  # noqa: N803
    """Size and read time of ``X`` stored uncompressed (featx's choice), with LZF and gzip."""
    import h5py

    lines = []
    rows = np.sort(np.random.default_rng(0).choice(len(X), min(1000, len(X)), replace=False))
    for compression, level in [(None, None), ("lzf", None), ("gzip", 1), ("gzip", 4)]:
        path = folder / f"compression-{compression}.h5"
        with h5py.File(path, "w") as h5:
            chunk_rows = min(len(X), max(1, (1 << 20) // (4 * X.shape[1])))
            h5.create_dataset("x", data=X, chunks=(chunk_rows, X.shape[1]),
                              compression=compression, compression_opts=level,
                              shuffle=compression is not None)

        def read_all(path=path):
            with h5py.File(path) as h5:
                h5["x"].read_direct(np.empty(X.shape, np.float32))

        def read_rows(path=path):
            with h5py.File(path) as h5:
                h5["x"][rows]

        lines.append(f"# {compression or 'none'}{level or ''}: size "
                     f"{path.stat().st_size / X.nbytes:.2f} x raw, read all "
                     f"{best_of(3, read_all) * 1e3:.0f} ms, 1000 random rows "
                     f"{best_of(3, read_rows) * 1e3:.0f} ms")
    return lines


def best_of(repeats: int, call) -> float:
    """The fastest of ``repeats`` timed calls, in seconds (files are in the page cache)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run on 30 and 10 images (meaningless figures)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.small, args.batch_size = 30, 10, 4
    if args.workdir is None and args.smoke:
        with tempfile.TemporaryDirectory(prefix="featx-scale-") as tmp:
            return measure(args, Path(tmp))
    return measure(args, args.workdir or Path(tempfile.mkdtemp(prefix="featx-scale-")))


def measure(args: argparse.Namespace, work: Path) -> None:
    """Every measurement, in ``work``, and the lines that report them."""
    small, large = work / "small", work / "large"
    make_images(small, 0, args.small)
    make_images(large, 0, args.n)
    print(f"# images in {work}")

    first_small = run_embed(small, work / "small.h5", batch_size=args.batch_size)
    first = run_embed(large, work / "large.h5", batch_size=args.batch_size)
    rerun = run_embed(large, work / "large.h5", batch_size=args.batch_size)
    make_images(large, args.n, args.n + 100)
    plus100 = run_embed(large, work / "large.h5", batch_size=args.batch_size)
    early, late = rates(first)
    dim = 1280
    size_ratio = (work / "large.h5").stat().st_size / ((args.n + 100) * dim * 4)
    load_s, raw_s, random_s = reading(work / "large.h5")
    per_image = first["seconds"] / args.n
    for name, r in [("first 2k", first_small), ("first 20k", first), ("rerun 20k", rerun),
                    ("+100 new", plus100)]:
        print(f"# {name}: {r['seconds']:.1f} s, embedded {r['embedded']}, reused {r['reused']}, "
              f"hashed {r['hashed']}, peak RSS {r['rss_mib']:.0f} MiB")
    added = plus100["seconds"] - plus100["build"]
    print(f"# throughput first fifth {early:.0f}/s, last fifth {late:.0f}/s; +100 new: "
          f"{plus100['build']:.1f} s model start-up + {added:.1f} s = "
          f"{added / per_image:.0f} images of first-run work")
    print(f"# reading {args.n + 100} x {dim}: featx.load {load_s * 1e3:.0f} ms, raw read "
          f"{raw_s * 1e3:.0f} ms; 1000 random rows {random_s * 1e3:.0f} ms")
    import featx

    print("\n".join(compression_table(featx.load(work / "large.h5").X, work)))
    print(f"scale n={args.n} rss_20k/2k={first['rss_mib'] / first_small['rss_mib']:.2f} "
          f"late/early={late / early:.2f} file/(NxDx4)={size_ratio:.2f} "
          f"rerun/first={rerun['seconds'] / first['seconds']:.3f} "
          f"plus100_hashed={plus100['hashed']} plus100_work={added / per_image:.0f}img "
          f"load_speed/raw={raw_s / load_s:.2f} "
          f"random1000={random_s * 1e3:.0f}ms")


if __name__ == "__main__":
    main()
