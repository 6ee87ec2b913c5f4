"""Decode threads and TensorFlow thread pools: images/s of ``featx embed`` under each setting.

Each setting runs ``featx embed`` in a fresh child process (TensorFlow reads its thread settings
once, at start-up) on the same ``--limit`` photos with ``--backbone`` (random weights), into a new
file, through ``scale.run_embed``; the rate counts the images over the child's embed call minus
the model build (TensorFlow import included), which the child times apart.
Settings: ``FEATX_THREADS`` (decode and hashing threads) and TensorFlow's own
``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` ("" = TensorFlow's default: one thread
per core for each pool).

    python benchmarks/threads.py [--source DIR] [--limit 96] [--backbone resnet50] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import make_images, run_embed  # noqa: E402

SETTINGS = [  # (FEATX_THREADS, TF_NUM_INTRAOP_THREADS, TF_NUM_INTEROP_THREADS)
    ("", "", ""), ("1", "", ""), ("4", "", ""), ("", "1", ""), ("", "", "1"), ("1", "1", "1"),
]
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "hymenoptera"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--limit", type=int, default=96)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--input-size", type=int, default=None,
                        help="backbone input size in px (default: the registry's)")
    parser.add_argument("--smoke", action="store_true",
                        help="two settings, 8 generated images, mobilenetv2 at 32 px "
                        "(meaningless figures)")
    args = parser.parse_args(argv)
    settings = SETTINGS[:2] if args.smoke else SETTINGS
    if args.smoke:
        args.limit, args.backbone, args.input_size = 8, "mobilenetv2", 32
    with tempfile.TemporaryDirectory(prefix="featx-threads-") as tmp:
        work = Path(tmp)
        if args.smoke:
            make_images(work / "smoke", 0, args.limit)
            args.source = work / "smoke"
        measure(args, settings, work)


def measure(args: argparse.Namespace, settings: list[tuple[str, str, str]], work: Path) -> None:
    """Images/s of ``featx embed`` under each setting, one child process each; the report."""
    from featx.images.sources import list_images

    paths = [item.path for item in list_images(args.source).items[:args.limit]]
    listing = work / "images.txt"
    listing.write_text("\n".join(paths) + "\n")
    rates = {}
    for i, (featx_threads, intra, inter) in enumerate(settings):
        env = {**os.environ, "FEATX_THREADS": featx_threads, "TF_NUM_INTRAOP_THREADS": intra,
               "TF_NUM_INTEROP_THREADS": inter, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env = {k: v for k, v in env.items() if v != ""}
        result = run_embed(listing, work / f"{i}.h5", args.backbone, args.input_size, 32, env)
        label = (f"decode={featx_threads or 'cores'} intra={intra or 'default'} "
                 f"inter={inter or 'default'}")
        rates[label] = result["embedded"] / (result["seconds"] - result["build"])
        print(f"# {label}: {rates[label]:.1f} images/s", flush=True)
    best = max(rates, key=rates.get)
    default = next(iter(rates))
    print(f"threads {args.backbone} n={len(paths)} cpus={os.cpu_count()} "
          + " ".join(f"[{k}]={v:.1f}/s" for k, v in rates.items())
          + f" default/best={rates[default] / rates[best]:.2f}")


if __name__ == "__main__":
    main()
