"""List the images of a source, with their labels and splits, in a deterministic order.

A source is one of:

* a **class-folder tree**: each top-level sub-folder is a class, named after the folder, as in
  Keras ``image_dataset_from_directory``; images directly in the root are listed without label;
* a **split tree**: every top-level folder is a split (``train``, ``val``, ``valid``,
  ``validation``, ``dev``, ``test``), each a class-folder tree; the split is kept per image;
* a **flat folder** (no sub-folders): images without labels;
* a **CSV file** with a ``path`` column (or the first column) and optional ``label`` and ``split``
  columns, or a **text file** with one path per line; relative paths are relative to the list file;
* a **sequence of paths** (Python API only): images without labels.

Folders are walked recursively (symlinked folders followed, loops skipped) unless
``recursive=False``; files are kept when their extension is in ``extensions`` (case-insensitive).
Items come sorted by path.

>>> listing = list_images("images")
>>> listing.label_names, len(listing.items), listing.items[0].split
(['ants', 'bees'], 16, 'train')
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from featx.errors import FeatxError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SPLIT_NAMES = ("train", "val", "valid", "validation", "dev", "test")
LIST_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Item:
    """One image to embed: absolute path, class name (``None`` if unlabelled), split (or "")."""

    path: str
    label: str | None = None
    split: str = ""


@dataclass(frozen=True)
class Listing:
    """The images of a source and the sorted class names their labels come from."""

    items: list[Item]
    label_names: list[str]


def list_images(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    extensions: Iterable[str] = IMAGE_EXTENSIONS,
    recursive: bool = True,
) -> Listing:
    """List the images of ``source`` (see the module docstring for the accepted layouts)."""
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    if not isinstance(source, (str, os.PathLike)):
        return _make_listing(Item(os.path.abspath(p)) for p in source)
    root = Path(source)
    if root.is_file() and root.suffix.lower() in LIST_SUFFIXES:
        return _make_listing(_read_list(root))
    if not root.is_dir():
        kind = "is not a folder or a .csv/.txt list" if root.exists() else "does not exist"
        raise FeatxError(f"source {root} {kind}")
    listing = _make_listing(_walk_tree(root, exts, recursive))
    if not listing.items:
        raise FeatxError(f"source {root} holds no images with extensions {', '.join(exts)}")
    return listing


def _walk_tree(root: Path, exts: tuple[str, ...], recursive: bool) -> Iterable[Item]:
    folders = sorted(e.name for e in os.scandir(root) if _is_dir(e))
    splits = [f for f in folders if f.lower() in SPLIT_NAMES]
    if splits and len(splits) < len(folders):
        others = ", ".join(f for f in folders if f not in splits)
        raise FeatxError(
            f"source {root} mixes split folders ({', '.join(splits)}) with other folders "
            f"({others}); use either train/val/test folders or class folders at the top"
        )
    if splits:
        for split in splits:
            yield from _class_tree(root / split, exts, recursive, split)
    else:
        yield from _class_tree(root, exts, recursive, "")


def _class_tree(root: Path, exts: tuple[str, ...], recursive: bool, split: str) -> Iterable[Item]:
    for entry in os.scandir(root):
        if _is_dir(entry):
            files = _files(Path(entry.path), exts, recursive)
            yield from (Item(p, entry.name, split) for p in files)
        elif entry.name.lower().endswith(exts):
            yield Item(os.path.abspath(entry.path), None, split)


def _is_dir(entry: os.DirEntry) -> bool:
    """A folder, or a symlink to one; a broken link or a link loop is not (it is listed as a
    file, and fails with its reason when read)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _files(folder: Path, exts: tuple[str, ...], recursive: bool) -> Iterable[str]:
    """Files under ``folder`` with a matching extension; symlinked folders once each.

    Sub-folders are walked in sorted order, so a folder reached through two links is always
    listed through the same (first) one, whatever order the file system lists entries in.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        yield from (
            os.path.abspath(os.path.join(dirpath, f)) for f in filenames if f.lower().endswith(exts)
        )
        if not recursive:
            dirnames[:] = []


def _read_list(list_file: Path) -> Iterable[Item]:
    base = list_file.parent
    with open(list_file, newline="", encoding="utf-8") as fh:
        if list_file.suffix.lower() == ".txt":
            rows = [{"path": line.strip()} for line in fh if line.strip()]
        else:
            rows = list(csv.DictReader(fh, dialect=csv.excel_tab if ".tsv" in list_file.suffix
                                       else csv.excel))
    if not rows:
        raise FeatxError(f"list {list_file} holds no rows")
    path_col = "path" if "path" in rows[0] else next(iter(rows[0]))
    for number, row in enumerate(rows, start=2):
        path = (row.get(path_col) or "").strip()
        if not path:
            raise FeatxError(f"list {list_file}, line {number}: empty path")
        label = (row.get("label") or "").strip() or None
        yield Item(str((base / path).absolute()), label, (row.get("split") or "").strip())


def _make_listing(items: Iterable[Item]) -> Listing:
    ordered = sorted(items, key=lambda item: item.path)
    names = sorted({item.label for item in ordered if item.label is not None})
    return Listing(ordered, names)
