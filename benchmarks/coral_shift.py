"""CORAL on a synthetic domain shift made from real photos: accuracy with and without adaptation.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/coral_shift.py [--source DIR] [--backbone FILE|NAME]
        [--heads all] [--smoke]

Source domain: the ``train`` split of ``--source`` (default the shared hymenoptera photos) as it
is. Target domain: its ``val`` split darkened (brightness x0.35), desaturated (colour x0.2) and
blurred (Gaussian, radius 2), written as new JPEGs (quality 90). Both are embedded with
``--backbone`` (default the shared EfficientNet-Lite0); then ``featx.train(source, heads,
adapt_to=target)``, as ``featx train --adapt-to`` runs it, grid-searches every head on the
source's training rows mapped onto the target by CORAL and scores it on the shifted photos, next
to the same search without CORAL. ``featx.train`` on the source alone scores the unshifted val
photos, for scale.

The last line is the one summary to compare, e.g.::

    coral_shift efficientnet_lite0_imagenet source=244 target=153 logreg=0.784->0.797 ...
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shift(path: Path, out: Path) -> None:
    """The target domain: darker, greyer, blurred."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
    img = ImageEnhance.Brightness(img).enhance(0.35)
    img = ImageEnhance.Color(img).enhance(0.2)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.filter(ImageFilter.GaussianBlur(2)).save(out, "JPEG", quality=90)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SHARED / "data" / "hymenoptera"))
    parser.add_argument("--backbone",
                        default=str(SHARED / "backbones" / "efficientnet_lite0_imagenet.keras"))
    parser.add_argument("--heads", default="all", help="comma-separated, or all")
    parser.add_argument("--smoke", action="store_true",
                        help="generated photos and a tiny random model (for the tests)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="featx-coral-") as work:
        if args.smoke:
            args.source, args.backbone = _smoke_inputs(Path(work))
            args.heads = "logreg,centroid"
        measure(args, Path(work))


def measure(args: argparse.Namespace, work: Path) -> None:
    """Shift, embed, train with and without CORAL; print the detail lines and the summary."""
    import featx
    from featx.learn.train import train

    source = Path(args.source)
    for photo in sorted((source / "val").glob("*/*")):
        shift(photo, work / "target" / photo.parent.name / (photo.stem + ".jpg"))
    options = dict(backbone=args.backbone, progress=False)
    featx.embed(source, work / "source.h5", **options)
    featx.embed(work / "target", work / "target.h5", **options)
    heads = args.heads.split(",")
    cv = 2 if args.smoke else 5
    quiet = dict(cv=cv, n_jobs=1, log=lambda _: None)
    adapted = train(work / "source.h5", heads, work / "adapted", adapt_to=work / "target.h5",
                    **quiet)
    unshifted = train(work / "source.h5", heads, work / "unshifted", **quiet)
    summary = json.loads((work / "adapted" / "summary.json").read_text())
    without = {row["head"]: row["unadapted_accuracy"] for row in summary["comparison"]}
    for result, same in zip(adapted, unshifted, strict=True):
        print(f"# {result.head}: without CORAL {without[result.head]:.4f}, with CORAL "
              f"{result.test_accuracy:.4f} (unshifted photos {same.test_accuracy:.4f}; "
              f"best {result.search.best_params_})")
    with featx.load(work / "source.h5") as feats:
        source_rows = int((feats.split == "train").sum())
    with featx.load(work / "target.h5") as feats:
        target_rows = len(feats)
    pairs = " ".join(f"{r.head}={without[r.head]:.3f}->{r.test_accuracy:.3f}" for r in adapted)
    raised = sum(round(r.test_accuracy, 4) > without[r.head] for r in adapted)  # both 4 places
    print(f"coral_shift {Path(args.backbone).stem} source={source_rows} target={target_rows} "
          f"{pairs} raised={raised}/{len(adapted)}")


def _smoke_inputs(work: Path) -> tuple[str, str]:
    """Photos of two colours (train 16, val 12) and a tiny random model, in ``work``."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 6)):
        for c, label in enumerate(("reds", "blues")):
            for i in range(n):
                pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
                pixels[..., 2 * c] = 255
                path = work / "photos" / split / label / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(path)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x)).save(
        work / "tiny.keras")
    return str(work / "photos"), str(work / "tiny.keras")


if __name__ == "__main__":
    main()
