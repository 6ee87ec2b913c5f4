"""What an incremental ``featx embed`` costs as the store grows: adding 100 images (a tiny backbone:
VGG16 at 32 px, random weights, 512-d) to stores of 20k, 200k and 1M existing rows, and a rerun
with nothing new against each, and how fast ``featx.load(STORE).X`` reads against a raw h5py read
of the same features dataset.

Each store is built first through the store's own writer (synthetic rows of the same
configuration, as one source); then ``featx embed NEW100 STORE`` runs in a child process, then the
same command again (nothing new). For each size it prints the seconds of the update, the bytes it
wrote (``wchar`` of the child, every ``write()`` it made), the peak extra disk the store used
during it (polled), and the seconds of the rerun; the summary line gives the ratios 1M/20k.

Run: ``python benchmarks/store_scale.py [--sizes 20000,200000,1000000] [--workdir DIR] [--smoke]``
(``--smoke``: 200 and 400 rows, figures meaningless; the tests run it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scale import best_of  # the benchmarks' folder is on sys.path when run or tested

REPO = Path(__file__).resolve().parents[1]
BACKBONE = ["--backbone", "vgg16", "--weights", "none", "--input-size", "32"]
CHILD = """
import sys
from featx.cli.main import main
status = main(sys.argv[1:])
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
print("wchar", io["wchar"], file=sys.stderr)
sys.exit(status)
"""


def build_store(out: Path, rows: int, chunk: int = 50_000) -> None:
    """A store of ``rows`` synthetic rows of the benchmark's configuration, one source."""
    from featx.backbones.config import resolve
    from featx.store.journal import Journal, Update
    from featx.store.schema import config_name
    from featx.store.tables import Table
    from featx.store.write import Batch

    config = resolve("vgg16", weights=None, input_size=32)
    attrs = config.attrs()
    rng = np.random.default_rng(0)
    keys = np.array([f"{i:032x}" for i in range(rows)], dtype="S32")
    with Journal(out) as journal:
        for lo in range(0, rows, chunk):
            part = keys[lo:lo + chunk]
            journal.write_part(attrs, Batch(part, rng.random((len(part), 512), np.float32),
                                            Table.empty("failed")))
        paths = [f"/synthetic/class{i % 17}/{i:08d}.jpg" for i in range(rows)]
        journal.commit(Update("/synthetic", Table.make(
            "entries", path=paths, label=[f"class{i % 17}" for i in range(rows)],
            split=["train"] * rows, key=keys, size=[1] * rows, mtime=[1] * rows,
            error=[""] * rows), config_name(attrs)))


def make_images(folder: Path, n: int = 100) -> None:
    rng = np.random.default_rng(1)
    for i in range(n):
        path = folder / f"class{i % 2}" / f"{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(path)


def store_bytes(out: Path) -> int:
    """Bytes of the store's files: the base, a temporary file beside it (a compaction under
    way), and everything in ``OUT.parts``."""
    parts = Path(f"{out}.parts")
    files = [out, *out.parent.glob(f".{out.name}.tmp-*"),
             *(parts.iterdir() if parts.is_dir() else [])]
    total = 0
    for path in files:
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def embed(images: Path, out: Path) -> tuple[float, int, int]:
    """Seconds, bytes written and peak extra store bytes of one ``featx embed`` child."""
    before, peak, done = store_bytes(out), [0], threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], store_bytes(out) - before)
            time.sleep(0.005)

    watcher = threading.Thread(target=poll)
    watcher.start()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, "embed", str(images), str(out),
                           *BACKBONE, "--quiet"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"featx embed failed ({proc.returncode}): {proc.stderr[-500:]}")
    wchar = int(proc.stderr.rsplit("wchar", 1)[1])
    return seconds, wchar, max(peak[0], store_bytes(out) - before)


def reading(out: Path) -> tuple[float, float]:
    """Best-of-3 seconds of ``featx.load(out).X`` and of a raw h5py read of its features."""
    import h5py

    import featx

    def load() -> None:
        with featx.load(out) as feats:
            feats.X  # noqa: B018 (the read is what is timed)

    def raw() -> None:
        with h5py.File(out) as h5:
            ds = next(iter(h5["configs"].values()))["content"]["features"]
            ds.read_direct(np.empty(ds.shape, np.float32))

    return best_of(3, load), best_of(3, raw)


def measure(sizes: list[int], work: Path) -> list[dict]:
    images = work / "new100"
    make_images(images)
    found = []
    for rows in sizes:
        out = work / f"store-{rows}.h5"
        build_store(out, rows)
        size = store_bytes(out)
        load_s, raw_s = reading(out)
        add, written, extra = embed(images, out)
        rerun, _, _ = embed(images, out)
        found.append({"rows": rows, "store_mb": size / 1e6, "add_s": add, "written_mb":
                      written / 1e6, "extra_mb": extra / 1e6, "rerun_s": rerun,
                      "load/raw": load_s / raw_s})
        print(f"# {rows:>8} rows ({size / 1e6:,.0f} MB): add 100 images {add:.2f} s, wrote "
              f"{written / 1e6:.2f} MB, peak extra disk {extra / 1e6:.2f} MB; rerun with "
              f"nothing new {rerun:.2f} s; featx.load {load_s * 1e3:.0f} ms vs raw read "
              f"{raw_s * 1e3:.0f} ms", flush=True)
        out.unlink()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,200000,1000000")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    sizes = [200, 400] if args.smoke else [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="featx-store-", dir=args.workdir) as tmp:
        rows = measure(sizes, Path(tmp))
    small, large = rows[0], rows[-1]

    def column(name: str, digits: int = 2) -> str:
        return ",".join(f"{row[name]:.{digits}f}" for row in rows)

    print(f"store_scale sizes={','.join(str(row['rows']) for row in rows)} "
          f"add_s={column('add_s')} written_mb={column('written_mb')} "
          f"extra_mb={column('extra_mb')} rerun_s={column('rerun_s')} "
          f"load/raw={column('load/raw')} "
          f"add_large/small={large['add_s'] / small['add_s']:.2f} "
          f"written_large/small={large['written_mb'] / small['written_mb']:.2f} "
          f"rerun_large/small={large['rerun_s'] / small['rerun_s']:.2f}")


if __name__ == "__main__":
    main()
