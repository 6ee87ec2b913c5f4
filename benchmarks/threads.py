"""Decode threads and TensorFlow thread pools: images/s of ``featx embed`` under each setting.

Each setting runs ``featx embed`` in a fresh child process (TensorFlow reads its thread settings
once, at start-up) on the same ``--limit`` photos with ``--backbone`` (random weights), into a new
file; the rate counts the images over the child's whole embed call minus the model build
(reported by the engine's summary line, which excludes nothing, so the build is timed apart by
the child). Settings: ``FEATX_THREADS`` (decode and hashing threads) and TensorFlow's own
``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` ("" = TensorFlow's default: one thread
per core for each pool).

    python benchmarks/threads.py [--source DIR] [--limit 96] [--backbone resnet50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS = [  # (FEATX_THREADS, TF_NUM_INTRAOP_THREADS, TF_NUM_INTEROP_THREADS)
    ("", "", ""), ("1", "", ""), ("4", "", ""), ("", "1", ""), ("", "", "1"), ("1", "1", "1"),
]
CHILD = """
import json, sys, time
import featx.backbone, featx.engine
build = [0.0]
load = featx.backbone.load_backbone
def timed_load(config):
    start = time.perf_counter()
    try:
        return load(config)
    finally:
        build[0] += time.perf_counter() - start
featx.backbone.load_backbone = timed_load
r = featx.engine.embed(sys.argv[1], sys.argv[2], backbone=sys.argv[3], weights=None,
                       progress=False)
print(json.dumps({"embedded": r.embedded, "seconds": r.seconds - build[0]}))
"""
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "hymenoptera"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--limit", type=int, default=96)
    parser.add_argument("--backbone", default="resnet50")
    args = parser.parse_args()
    from featx.sources import list_images

    paths = [item.path for item in list_images(args.source).items[:args.limit]]
    work = Path(tempfile.mkdtemp(prefix="featx-threads-"))
    listing = work / "images.txt"
    listing.write_text("\n".join(paths) + "\n")
    rates = {}
    for i, (featx_threads, intra, inter) in enumerate(SETTINGS):
        env = {**os.environ, "FEATX_THREADS": featx_threads, "TF_NUM_INTRAOP_THREADS": intra,
               "TF_NUM_INTEROP_THREADS": inter, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env = {k: v for k, v in env.items() if v != ""}
        out = subprocess.run([sys.executable, "-c", CHILD, str(listing), str(work / f"{i}.h5"),
                              args.backbone], env=env, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        label = (f"decode={featx_threads or 'cores'} intra={intra or 'default'} "
                 f"inter={inter or 'default'}")
        rates[label] = result["embedded"] / result["seconds"]
        print(f"# {label}: {rates[label]:.1f} images/s", flush=True)
    best = max(rates, key=rates.get)
    default = next(iter(rates))
    print(f"threads {args.backbone} n={len(paths)} cpus={os.cpu_count()} "
          + " ".join(f"[{k}]={v:.1f}/s" for k, v in rates.items())
          + f" default/best={rates[default] / rates[best]:.2f}")


if __name__ == "__main__":
    main()
