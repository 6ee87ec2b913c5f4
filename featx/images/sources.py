"""List the images of a source, with their labels and splits, in a deterministic order.

A source is one of:

* a **class-folder tree**: each top-level sub-folder holding images is a class, named after the
  folder, as in Keras ``image_dataset_from_directory``; images directly in the root are listed
  without label;
* a **split tree**: top-level folders named as splits (``train``, ``val``, ``valid``,
  ``validation``, ``dev``, ``test``, in any case), each a class-folder tree; the split is kept per
  image, in lower case (``Train/`` gives ``train``); images directly in the root are listed without
  label or split; another top-level folder holding images makes the tree refused;
* a **flat folder** (no sub-folders): images without labels;
* a **CSV file** (``.csv``, or ``.tsv`` with tabs) of ``path``, ``label`` and ``split`` columns,
  or a **text file** (``.txt``) with one path per line; relative paths are relative to the list
  file;
* a **sequence of paths** (Python API only): images without labels. Every sequence is the one
  source ``(paths)`` of a store: embedding a second sequence replaces the first as that source's
  entries (a path it no longer lists leaves, unless a folder or list source holds it too).

Folders are walked recursively (symlinked folders followed, loops skipped) unless
``recursive=False``; files are kept when their extension is in ``extensions`` (case-insensitive).
Hidden files and folders (names starting with ``.``: ``.thumbnails/``, ``.ipynb_checkpoints/``)
are skipped at every depth, and folders holding no image are neither classes nor splits, so
featx's own outputs written into a tree (``OUT.h5``, ``OUT.h5.parts/``) are never listed.

A list file is UTF-8 (a byte-order mark is allowed). A first row whose first field ends with an
image extension (one of ``extensions``) is **data**: the columns are path, label and split, in
that order. Otherwise the first row is a **header** when one of its fields is ``path``, ``label``
or ``split`` (any case, spaces around ignored): the path column is ``path``, else the first column
(``filename,label`` works); other columns are ignored. Any other first row is refused, as is any
malformed line (not UTF-8, a NUL byte, more fields than the header, an empty path, a field over
csv's 128 KiB limit), naming the file and the line. A path listed on several lines is listed
once when every line gives it the same label and split, and refused otherwise, naming both lines.
Split names are written as in trees: ``Train`` is ``train``. Listed paths are not checked here; a
missing one fails when read, as "listed in LIST (line N) but does not exist".

Items come sorted by path.

>>> listing = list_images("images")
>>> listing.label_names, len(listing.items), listing.items[0].split
(['ants', 'bees'], 16, 'train')
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from featx.errors import FeatxError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SPLIT_NAMES = ("train", "val", "valid", "validation", "dev", "test")
LIST_SUFFIXES = (".csv", ".tsv", ".txt")
LIST_COLUMNS = ("path", "label", "split")
PATHS_SOURCE = "(paths)"


@dataclass(frozen=True)
class Item:
    """One image to embed: absolute path, class name (``None`` if unlabelled), split (or "");
    ``origin`` says where it was listed (``LIST (line N)``), "" when found in a folder."""

    path: str
    label: str | None = None
    split: str = ""
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class Listing:
    """The images of a source, the sorted class names their labels come from, and the source
    itself (the real path of a folder or list; ``(paths)`` for a sequence of paths)."""

    items: list[Item]
    label_names: list[str]
    source: str = PATHS_SOURCE
    stated: frozenset[str] = frozenset({"label", "split"})
    """What the listing says of its images, of ``label`` and ``split``: a folder tree what its
    folders give (a tree of split folders both, of class folders the label, a flat folder
    neither), a list the columns it has, a path list neither."""


def list_images(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    extensions: Iterable[str] = IMAGE_EXTENSIONS,
    recursive: bool = True,
) -> Listing:
    """List the images of ``source`` (see the module docstring for the accepted layouts)."""
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    if not isinstance(source, (str, os.PathLike)):
        return _make_listing(_once(Item(os.path.abspath(p), origin="the paths given")
                                   for p in source), PATHS_SOURCE, frozenset())
    root = Path(source)
    if root.is_file() and root.suffix.lower() in LIST_SUFFIXES:
        items, stated = _read_list(root, exts)
        return _make_listing(items, os.path.realpath(root), stated)
    if not root.is_dir():
        kind = "is not a folder or a .csv/.txt list" if root.exists() else "does not exist"
        raise FeatxError(f"source {root} {kind}")
    items = list(_walk_tree(root, exts, recursive))
    stated = frozenset(c for c in ("label", "split") if any(getattr(i, c) for i in items))
    listing = _make_listing(items, os.path.realpath(root), stated)
    if not listing.items:
        raise FeatxError(f"source {root} holds no images with extensions {', '.join(exts)}")
    return listing


def split_name(name: str) -> str:
    """The split a folder name or a list's ``split`` field stands for: a known split name in
    lower case (``Train`` is ``train``), any other name as written (spaces around removed)."""
    name = name.strip()
    return name.lower() if name.lower() in SPLIT_NAMES else name


# --- folders -----------------------------------------------------------------------------------


def _walk_tree(root: Path, exts: tuple[str, ...], recursive: bool) -> Iterable[Item]:
    folders = sorted(e.name for e in _scan(root) if _is_dir(e) and not _hidden(e.name))
    splits = [f for f in folders if f.lower() in SPLIT_NAMES]
    if not splits:
        yield from _class_tree(root, exts, recursive, "")
        return
    others = [f for f in folders if f not in splits and _holds_images(root / f, exts, recursive)]
    if others:
        raise FeatxError(
            f"source {root} mixes split folders ({', '.join(splits)}) with other folders "
            f"holding images ({', '.join(others)}); use either train/val/test folders or class "
            "folders at the top"
        )
    for name in SPLIT_NAMES:
        same = [f for f in splits if f.lower() == name]
        if len(same) > 1:
            raise FeatxError(f"source {root} has {len(same)} folders for split {name!r} "
                             f"({', '.join(same)}); merge them into one")
    yield from _root_files(root, exts, "")
    for split in splits:
        yield from _class_tree(root / split, exts, recursive, split_name(split))


def _class_tree(root: Path, exts: tuple[str, ...], recursive: bool, split: str) -> Iterable[Item]:
    yield from _root_files(root, exts, split)
    for entry in _scan(root):
        if _is_dir(entry) and not _hidden(entry.name):
            files = _files(Path(entry.path), exts, recursive)
            yield from (Item(p, entry.name, split) for p in files)


def _root_files(root: Path, exts: tuple[str, ...], split: str) -> Iterable[Item]:
    """The images directly in ``root``, without label."""
    for entry in _scan(root):
        if not _is_dir(entry) and _is_image_name(entry.name, exts):
            yield Item(os.path.abspath(entry.path), None, split)


def _holds_images(folder: Path, exts: tuple[str, ...], recursive: bool) -> bool:
    return next(iter(_files(folder, exts, recursive)), None) is not None


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _is_image_name(name: str, exts: tuple[str, ...]) -> bool:
    return not _hidden(name) and name.lower().endswith(exts)


def _is_dir(entry: os.DirEntry) -> bool:
    """A folder, or a symlink to one; a broken link or a link loop is not (it is listed as a
    file, and fails with its reason when read)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _scan(folder: Path) -> list[os.DirEntry]:
    """The entries of ``folder``; a folder that cannot be read is an error naming it (its
    images must not silently drop out of the listing)."""
    try:
        with os.scandir(folder) as found:
            return list(found)
    except OSError as exc:
        _unreadable(exc)


def _unreadable(exc: OSError) -> NoReturn:
    raise FeatxError(f"cannot read the folder {exc.filename}: {exc.strerror or exc}; its "
                     "images would be left out") from None


def _files(folder: Path, exts: tuple[str, ...], recursive: bool) -> Iterable[str]:
    """Files under ``folder`` with a matching extension, hidden ones skipped; symlinked folders
    once each.

    Sub-folders are walked in sorted order, so a folder reached through two links is always
    listed through the same (first) one, whatever order the file system lists entries in.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, onerror=_unreadable, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d)) if recursive else []
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        yield from (os.path.abspath(os.path.join(dirpath, f)) for f in filenames
                    if _is_image_name(f, exts))


# --- list files --------------------------------------------------------------------------------


def _read_list(list_file: Path, exts: tuple[str, ...]) -> tuple[list[Item], frozenset[str]]:
    """The items of a CSV, TSV or text list (the rules are in the module docstring), and the
    columns it has of ``label`` and ``split``."""
    text = _read_text(list_file)
    if list_file.suffix.lower() == ".txt":
        lines = io.StringIO(text, newline="")  # lines end at \n, \r\n or \r, as in csv
        rows = [(n, [line]) for n, line in enumerate(lines, start=1) if line.strip()]
    else:
        rows = _csv_rows(list_file, text)
    if not rows:
        raise FeatxError(f"list {list_file} holds no rows")
    layout = _Layout({"path": 0}, 1, "") if list_file.suffix.lower() == ".txt" else _layout(
        list_file, rows, exts)
    if not rows:
        raise FeatxError(f"list {list_file} holds a header but no rows")
    seen: dict[str, tuple[int, Item]] = {}
    for number, fields in rows:
        item = _list_item(list_file, number, fields, layout)
        if item.path not in seen:
            seen[item.path] = number, item
            continue
        first_number, first = seen[item.path]
        if (first.label, first.split) != (item.label, item.split):
            raise FeatxError(
                f"list {list_file}: {item.path} is listed on line {first_number} "
                f"({_describe(first)}) and on line {number} ({_describe(item)}); an image has "
                "one label and one split")
    return [item for _, item in seen.values()], frozenset({"label", "split"} & set(layout.columns))


def _read_text(list_file: Path) -> str:
    try:
        data = list_file.read_bytes()
    except OSError as exc:
        raise FeatxError(f"list {list_file} cannot be read: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FeatxError(f"list {list_file}, line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}"
                         "); save the list as UTF-8") from None


def _csv_rows(list_file: Path, text: str) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of every non-blank record; a record's number is its first line."""
    dialect = csv.excel_tab if list_file.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows, end = [], 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if any(f.strip() for f in fields):
                rows.append((start, fields))
    except csv.Error as exc:
        reason = str(exc)
        if "field limit" in reason:
            reason = (f"a field is longer than {csv.field_size_limit()} characters (csv's "
                      "field_size_limit); no path or label is that long")
        raise FeatxError(f"list {list_file}, line {end + 1}: {reason}") from None
    return rows


@dataclass(frozen=True)
class _Layout:
    """Where a list's fields are: column name -> field index, the number of fields a row may
    have, and that rule in words."""

    columns: dict[str, int]
    width: int
    expected: str


def _layout(list_file: Path, rows: list[tuple[int, list[str]]], exts: tuple[str, ...]) -> _Layout:
    """The layout of a CSV's rows; a header row is removed from ``rows``."""
    number, first = rows[0]
    names = [f.strip().lower() for f in first]
    if names[0].endswith(exts):
        return _Layout({name: i for i, name in enumerate(LIST_COLUMNS)}, len(LIST_COLUMNS),
                       "a list without a header has path[,label[,split]]")
    if not any(name in LIST_COLUMNS for name in names):
        raise FeatxError(
            f"list {list_file}, line {number}: {','.join(first)!r} is neither a header (no "
            "column named path, label or split) nor an image (the first field does not end "
            f"with {', '.join(exts)}); add the header path,label,split")
    del rows[0]
    repeated = sorted({n for n in names if n in LIST_COLUMNS and names.count(n) > 1})
    if repeated:
        raise FeatxError(f"list {list_file}, line {number}: the header names column "
                         f"{repeated[0]!r} twice")
    columns = {n: i for i, n in enumerate(names) if n in LIST_COLUMNS}
    if "path" not in columns:
        if names[0] in LIST_COLUMNS:
            raise FeatxError(f"list {list_file}, line {number}: the header names no path column "
                             "(a column named path, or an unnamed first column)")
        columns["path"] = 0
    return _Layout(columns, len(names), f"the header (line {number}) names {len(names)}")


def _list_item(list_file: Path, number: int, fields: list[str], layout: _Layout) -> Item:
    where = f"list {list_file}, line {number}"
    if any("\0" in f for f in fields):
        raise FeatxError(f"{where}: holds a NUL byte")
    if any(f.strip() for f in fields[layout.width:]):
        raise FeatxError(f"{where}: {len(fields)} fields, but {layout.expected}")

    def get(name: str) -> str:
        i = layout.columns.get(name)
        return fields[i].strip() if i is not None and i < len(fields) else ""

    path = get("path")
    if not path:
        raise FeatxError(f"{where}: empty path")
    return Item(os.path.abspath(list_file.parent / path), get("label") or None,
                split_name(get("split")), f"{list_file} (line {number})")


def _describe(item: Item) -> str:
    return f"label {item.label or '(none)'}, split {item.split or '(none)'}"


def _once(items: Iterable[Item]) -> Iterable[Item]:
    """Each path once (a sequence naming a path twice lists it once)."""
    seen: set[str] = set()
    for item in items:
        if item.path not in seen:
            seen.add(item.path)
            yield item


def _make_listing(items: Iterable[Item], source: str, stated: frozenset[str]) -> Listing:
    ordered = sorted(items, key=lambda item: item.path)
    names = sorted({item.label for item in ordered if item.label is not None})
    return Listing(ordered, names, source, stated)
