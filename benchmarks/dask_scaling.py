"""Throughput of ``featx embed`` locally and on a local Dask cluster of 1 and 2 workers, and the
cost of merging parts (the client's share of a Dask run) against an HDF5 virtual dataset.

Run: ``python benchmarks/dask_scaling.py [--images 400] [--workers 1,2] [--smoke]``. It prints one
line; on the 2-core machine of this project, shared with other jobs (load average ~4.7):

    dask_scaling n=400 local=101.1/s workers1=153.3/s workers2=112.1/s start1=8.4s start2=18.5s
    merge=0.76s (20000 rows, 79 parts, 5.4 kB copied per row) vds_build=0.02s vds_read=0.27s
    merged_read=0.18s

Backbone: mobilenetv2, ``weights=None``, 96 px (1280-d), on generated 128 px JPEGs; each run
starts from an empty output and includes listing, hashing, planning and the merge. ``local``
also builds its backbone (~1-2 s here); the Dask runs get workers whose backbones are built
beforehand: ``start1``/``start2`` are the seconds to start the cluster and build them (TensorFlow
import included, in parallel on 2 cores). With 2 cores and other jobs, 2 workers cannot beat one:
TensorFlow already uses both cores in one process; the figures show the overhead of sharding is
small, not a speed-up. ``merge`` times :meth:`Journal.commit` on 20 000 synthetic 1280-d rows
written as parts of 256 rows (one part per shard), committed beside a store that already holds
them once (so the commit writes a delta: it reads every part, and copies each new row once).

How it scales to N machines, on paper:

* Client: lists and hashes the images (reads every byte once, or only ``stat`` when the output's
  stat cache matches), plans, and sends each shard as (path, key, stat) tuples, ~300 bytes per
  image: one task per ``shard_size`` images, so at 256 images per shard the scheduler's ~1 ms
  per task is negligible, even for 10^6 images (4000 tasks).
* Worker: builds the backbone once per process (weights from shared storage or a pre-filled
  cache), reads each image of its shards from shared storage once, and writes one part file per
  shard: per row ``D * 4`` bytes of features plus its strings (path, key, split) and 24 bytes of
  label, size and mtime (5.4 kB per row here, D = 1280). Workers never touch the main file, so they
  scale until the shared storage's bandwidth is the limit: N workers at r images/s read
  ``N * r * image size`` and write ``N * r * (D * 4 + ~200)`` bytes per second.
* Commit (client, once per run): reads every part and writes its new rows once more, as one delta
  beside the store (bytes per row as printed); the store itself is never copied (see
  ``benchmarks/store_scale.py``). It is sequential and I/O-bound, seconds for 10^5 images.

Why commit parts into one delta rather than an HDF5 virtual dataset over the parts: the virtual
dataset is nearly free to build (``vds_build`` vs ``merge``) but reads are slower (``vds_read`` vs
``merged_read``, one file open per part, worse with thousands of shards), the output would depend
on every part file staying in place, and it cannot drop rows whose content is already in the
store, which a commit must do.

``--smoke`` runs every step on 8 images, one worker and 600 merged rows (the tests run it so that
the script cannot rot); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

import featx
from featx._dask import connect
from featx.backbones.build import load_backbone
from featx.backbones.config import resolve
from featx.store.journal import Journal, write_part_file
from featx.store.shards import parts_dir
from featx.store.tables import Table
from featx.store.write import Batch

OPTIONS = {"backbone": "mobilenetv2", "weights": None, "input_size": 96, "progress": False}


def make_images(root: Path, n: int) -> Path:
    """``n`` distinct 128 px JPEGs in two class folders."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=90)
    return root


def rate(images: Path, out: Path, **options) -> float:
    result = featx.embed(images, out, **OPTIONS, **options)
    return result.embedded / result.seconds


def rate_on_dask(images: Path, out: Path, workers: int) -> tuple[float, float]:
    """Images/s on a new local cluster of ``workers`` processes whose backbones are built
    beforehand, and the seconds to start it and build them (TensorFlow import included)."""
    config = resolve(OPTIONS["backbone"], weights=None, input_size=OPTIONS["input_size"])
    start = time.perf_counter()
    with connect(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(lambda: load_backbone(config).dim)
        started = time.perf_counter() - start
        return rate(images, out, client=client, shard_size=50), started


def fake_rows(n: int, dim: int, seed: int) -> Batch:
    rng = np.random.default_rng(seed)
    keys = [f"{seed:08x}{i:024x}" for i in range(n)]
    return Batch(keys, rng.normal(size=(n, dim)).astype(np.float32), Table.empty("failed"))


def merge_cost(folder: Path, rows: int = 20_000, shard: int = 256, dim: int = 1280) -> dict:
    """Seconds to commit ``rows`` rows from parts of ``shard``, file bytes per row, VDS times."""
    out = folder / "merge.h5"
    config = resolve("mobilenetv2", weights=None, input_size=96)
    attrs = config.attrs()
    parts = []
    for i, start in enumerate(range(0, rows, shard)):
        part = parts_dir(out) / f"part-bench-{i:06d}.h5"
        write_part_file(part, attrs, fake_rows(min(shard, rows - start), dim, i))
        parts.append(part)
    vds_build, vds_read = _virtual_dataset(folder / "vds.h5", parts, dim)
    with Journal(out) as journal:
        start = time.perf_counter()
        journal.commit()
        merge = time.perf_counter() - start
    start = time.perf_counter()
    featx.load(out).by_keys(fake_rows(1, dim, 0).keys)
    merged_read = time.perf_counter() - start
    copied = out.stat().st_size / rows
    return {"rows": rows, "parts": len(parts), "merge": merge, "bytes_per_row": copied,
            "vds_build": vds_build, "vds_read": vds_read, "merged_read": merged_read}


def _features(h5: h5py.File) -> h5py.Dataset:
    """The features of a part (its one configuration)."""
    return next(iter(h5["configs"].values()))["content"]["features"]


def _virtual_dataset(path: Path, parts: list[Path], dim: int) -> tuple[float, float]:
    """Build a virtual ``features`` over the parts (without merging); time building and reading."""
    start = time.perf_counter()
    sizes = []
    sizes, names = [], []
    for part in parts:
        with h5py.File(part) as h5:
            features = _features(h5)
            sizes.append(len(features))
            names.append(features.name)
    layout = h5py.VirtualLayout((sum(sizes), dim), np.float32)
    offset = 0
    for part, n, name in zip(parts, sizes, names, strict=True):
        layout[offset:offset + n] = h5py.VirtualSource(part, name, (n, dim))
        offset += n
    with h5py.File(path, "w") as h5:
        h5.create_virtual_dataset("features", layout)
    build = time.perf_counter() - start
    start = time.perf_counter()
    with h5py.File(path) as h5:
        h5["features"][:]
    return build, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--workers", default="1,2", help="cluster sizes to try (default 1,2)")
    parser.add_argument("--merge-rows", type=int, default=20_000)
    parser.add_argument("--smoke", action="store_true",
                        help="8 images, one worker, 600 merged rows (meaningless figures)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.images, args.workers, args.merge_rows = 8, "1", 600
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = make_images(folder / "images", args.images)
        rate(make_images(folder / "warm-up", 8), folder / "warm-up.h5")
        local = rate(images, folder / "local.h5")
        on_dask = {n: rate_on_dask(images, folder / f"w{n}.h5", n)
                   for n in map(int, args.workers.split(","))}
        cost = merge_cost(folder, rows=args.merge_rows)
    rates = " ".join(f"workers{n}={r:.1f}/s" for n, (r, _) in on_dask.items())
    starts = " ".join(f"start{n}={s:.1f}s" for n, (_, s) in on_dask.items())
    print(f"dask_scaling n={args.images} local={local:.1f}/s {rates} {starts} "
          f"merge={cost['merge']:.2f}s "
          f"({cost['rows']} rows, {cost['parts']} parts, {cost['bytes_per_row'] / 1e3:.1f} kB "
          f"copied per row) vds_build={cost['vds_build']:.2f}s vds_read={cost['vds_read']:.2f}s "
          f"merged_read={cost['merged_read']:.2f}s")


if __name__ == "__main__":
    main()
