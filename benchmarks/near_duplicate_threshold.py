"""Calibrate ``featx audit``'s near-duplicate threshold: copies of photos vs distinct photos.

Every photo of a class-folder tree with splits gets six copies a user could plausibly have
(resized to half and re-encoded, heavily re-encoded, a 160 px PNG thumbnail, a 90% centre crop;
harder: a 75% corner crop and a mirror image). Originals and copies are embedded with featx
(cached in ``--work``), and for each threshold the script reports, per split (calibrate on train,
confirm on val):

* recall: the share of (original, copy) pairs within the threshold, for the four plain copies
  and separately for the two harder ones;
* false links: pairs of distinct originals within the threshold, and copies within the
  threshold of a photo other than their original; precision = true / (true + false) pairs.

Prints ``#`` detail lines and one summary line for the chosen ``--threshold``.

    PYTHONPATH=. .venv/bin/python benchmarks/near_duplicate_threshold.py \\
        --backbone ../shared/backbones/efficientnet_lite0_imagenet.keras --layer avg_pool
    PYTHONPATH=. .venv/bin/python benchmarks/near_duplicate_threshold.py --smoke  # tiny, random
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from sklearn.metrics.pairwise import cosine_distances

import featx
from featx.auditing.options import DEFAULT_THRESHOLD

PLAIN = ("half_q75", "q30", "thumb_png", "crop90")
HARD = ("crop75", "mirror")
THRESHOLDS = (0.05, 0.08, 0.1, 0.12, 0.15, 0.18, 0.2, 0.25)


def _crop(img: Image.Image, keep: float, centred: bool) -> Image.Image:
    w, h = img.size
    if not centred:
        return img.crop((0, 0, int(w * keep), int(h * keep)))
    dx, dy = int(w * (1 - keep) / 2), int(h * (1 - keep) / 2)
    return img.crop((dx, dy, w - dx, h - dy))


def _thumb(img: Image.Image) -> Image.Image:
    small = img.copy()
    small.thumbnail((160, 160))
    return small


COPIES = {  # name: (transformation, format, save options)
    "half_q75": (lambda im: im.resize((max(1, im.width // 2), max(1, im.height // 2)),
                                      Image.Resampling.LANCZOS), "JPEG", {"quality": 75}),
    "q30": (lambda im: im, "JPEG", {"quality": 30}),
    "thumb_png": (_thumb, "PNG", {}),
    "crop90": (lambda im: _crop(im, 0.9, True), "JPEG", {"quality": 90}),
    "crop75": (lambda im: _crop(im, 0.75, False), "JPEG", {"quality": 90}),
    "mirror": (ImageOps.mirror, "JPEG", {"quality": 90}),
}


def make_copies(data: Path, work: Path) -> Path:
    """Write every copy of every photo under ``work/copies`` and a list file naming them."""
    listing = work / "copies.csv"
    if listing.exists():
        return listing
    rows = []
    for photo in sorted(data.glob("*/*/*")):
        split, label = photo.parts[-3:-1]
        with Image.open(photo) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            for name, (transform, fmt, options) in COPIES.items():
                folder = work / "copies" / name / split / label
                folder.mkdir(parents=True, exist_ok=True)
                out = folder / f"{photo.stem}.{'png' if fmt == 'PNG' else 'jpg'}"
                transform(img).save(out, fmt, **options)
                rows.append({"path": str(out), "label": label, "split": name})
    with open(listing, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return listing


def measure(originals, copies, threshold: float, split: str) -> dict:
    """Recall, false links and precision at ``threshold`` among the originals of ``split``."""
    where = {_photo(p): i for i, p in enumerate(originals.paths)}
    source = np.array([where[_photo(p)] for p in copies.paths])
    in_split = originals.split[source] == split
    mine = originals.split == split
    between = cosine_distances(originals.X[mine])
    distinct = int((np.triu(between <= threshold, 1)).sum())
    to_all = cosine_distances(copies.X[in_split], originals.X)
    own = to_all[np.arange(len(source[in_split])), source[in_split]]
    to_all[np.arange(len(source[in_split])), source[in_split]] = np.inf
    kinds = copies.split[in_split]
    plain, hard = np.isin(kinds, PLAIN), np.isin(kinds, HARD)
    true = int((own[plain] <= threshold).sum())
    wrong = int((to_all[plain] <= threshold).sum())
    return {"recall": (own[plain] <= threshold).mean(), "hard": (own[hard] <= threshold).mean(),
            "distinct": distinct, "pairs": int(mine.sum() * (mine.sum() - 1) // 2),
            "cross": wrong, "precision": true / max(1, true + distinct + wrong)}


def _photo(path: str) -> tuple[str, ...]:
    """(split, label, name without extension): the same for a photo and its copies."""
    parts = Path(path).parts
    return (*parts[-3:-1], Path(path).stem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/data/hymenoptera")
    parser.add_argument("--backbone",
                        default="../shared/backbones/efficientnet_lite0_imagenet.keras")
    parser.add_argument("--layer", default="avg_pool")
    parser.add_argument("--work", default=None, help="folder for copies and features "
                        "(default: a temporary folder)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--smoke", action="store_true",
                        help="8 generated images per class, a random vgg16 at 32 px")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        data, options = Path(args.data), {"backbone": args.backbone, "layer": args.layer}
        if args.smoke:
            data, options = _smoke_data(work), {"backbone": "vgg16", "weights": None,
                                                "input_size": (32, 32)}
        originals = featx.embed(data, work / "originals.h5", progress=False, **options)
        copies = featx.embed(make_copies(data, work), work / "copies.h5", progress=False,
                             **options)
        if originals.failures or copies.failures:
            print(f"# {len(originals.failures) + len(copies.failures)} images failed to embed")
        originals, copies = featx.load(work / "originals.h5"), featx.load(work / "copies.h5")
        splits = [s for s in ("train", "val") if (originals.split == s).any()]
        between = cosine_distances(originals.X)
        np.fill_diagonal(between, np.inf)
        print(f"# {len(originals)} photos, {len(copies)} copies; closest distinct pair "
              f"{between.min():.3f}, 1% of nearest-neighbour distances under "
              f"{np.quantile(between.min(axis=1), 0.01):.3f}")
        for t in sorted({*THRESHOLDS, args.threshold}):
            for split in splits:
                m = measure(originals, copies, t, split)
                print(f"# t={t:.2f} {split:5s} recall {m['recall']:.3f} (crop75/mirror "
                      f"{m['hard']:.3f}) distinct pairs linked {m['distinct']}/{m['pairs']} "
                      f"copies linked to another photo {m['cross']} precision "
                      f"{m['precision']:.3f}")
        chosen = [measure(originals, copies, args.threshold, s) for s in splits]
        print(f"near_duplicate_threshold layer={options.get('layer')} t={args.threshold:g} "
              + " ".join(f"{s}:recall={m['recall']:.3f},hard={m['hard']:.3f},"
                         f"precision={m['precision']:.3f}" for s, m in zip(splits, chosen,
                                                                          strict=True)))
    return 0


def _smoke_data(work: Path) -> Path:
    rng = np.random.default_rng(0)
    root = work / "smoke"
    for split in ("train", "val"):
        for label in ("a", "b"):
            (root / split / label).mkdir(parents=True, exist_ok=True)
            for i in range(4):
                pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / label / f"{label}{i}.jpg")
    return root


if __name__ == "__main__":
    sys.exit(main())
