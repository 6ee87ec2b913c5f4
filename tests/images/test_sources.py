"""featx.images.sources: the images of a source, with labels and splits, in a deterministic
order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from featx.errors import FeatxError
from featx.images.sources import IMAGE_EXTENSIONS, Item, Listing, list_images
from tests.helpers import write_image


def names(listing: Listing) -> list[str]:
    return [os.path.basename(item.path) for item in listing.items]


def touch(path: Path) -> Path:
    """An empty file: listing never opens images, so tree tests need no pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


# --- class-folder trees ------------------------------------------------------------------------


def test_class_folder_tree_labels_images_with_their_folder_name(tmp_path):
    for label in ("zebra", "ant", "moth"):
        for i in range(2):
            write_image(tmp_path / label / f"{label}{i}.jpg", seed=i)
    listing = list_images(tmp_path)
    assert listing.label_names == ["ant", "moth", "zebra"]        # sorted
    assert len(listing.items) == 6
    for item in listing.items:
        assert item.label == Path(item.path).parent.name
        assert item.split == ""


def test_items_are_sorted_by_absolute_path(tmp_path, monkeypatch):
    for rel in ("b/2.jpg", "b/10.jpg", "a/z.jpg", "a/sub/a.jpg", "c/x.png"):
        touch(tmp_path / "tree" / rel)
    monkeypatch.chdir(tmp_path)
    listing = list_images("tree")                                   # a relative source
    paths = [item.path for item in listing.items]
    assert paths == sorted(paths)
    assert all(os.path.isabs(p) for p in paths)
    assert paths[0] == str(tmp_path / "tree" / "a" / "sub" / "a.jpg")


def test_listing_is_the_same_whatever_order_the_filesystem_lists_entries(tmp_path, monkeypatch):
    for rel in ("tree/cats/a.jpg", "tree/cats/deep/b.jpg", "tree/dogs/c.jpg", "tree/root.jpg",
                "shared/s.jpg"):
        touch(tmp_path / rel)
    for link in ("a_link", "b_link"):                 # one folder reached through two links
        os.symlink(tmp_path / "shared", tmp_path / "tree" / "dogs" / link)
    forward = list_images(tmp_path / "tree")
    real_scandir = os.scandir

    class Reversed:
        """``os.scandir`` that lists entries in reverse order (os.walk calls ``next`` on it)."""

        def __init__(self, path="."):
            self._it = real_scandir(path)
            self._entries = iter(list(self._it)[::-1])

        def __iter__(self):
            return self

        def __next__(self):
            return next(self._entries)

        def close(self):
            self._it.close()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._it.close()

    monkeypatch.setattr(os, "scandir", Reversed)
    assert list_images(tmp_path / "tree") == forward


def test_images_in_the_root_of_a_class_tree_are_unlabelled(tmp_path):
    touch(tmp_path / "cats" / "a.jpg")
    touch(tmp_path / "stray.jpg")
    listing = list_images(tmp_path)
    by_name = {os.path.basename(item.path): item for item in listing.items}
    assert by_name["stray.jpg"].label is None
    assert by_name["a.jpg"].label == "cats"
    assert listing.label_names == ["cats"]


def test_flat_folder_gives_unlabelled_images(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"img{i}.png", seed=i, fmt="PNG")
    listing = list_images(tmp_path)
    assert names(listing) == ["img0.png", "img1.png", "img2.png"]
    assert all(item.label is None and item.split == "" for item in listing.items)
    assert listing.label_names == []


def test_nested_folders_inside_a_class_belong_to_that_class(tmp_path):
    touch(tmp_path / "cats" / "indoor" / "deep" / "a.jpg")
    listing = list_images(tmp_path)
    assert [item.label for item in listing.items] == ["cats"]


def test_recursive_false_ignores_folders_nested_inside_class_folders(tmp_path):
    touch(tmp_path / "cats" / "top.jpg")
    touch(tmp_path / "cats" / "nested" / "deep.jpg")
    assert names(list_images(tmp_path, recursive=False)) == ["top.jpg"]
    assert sorted(names(list_images(tmp_path))) == ["deep.jpg", "top.jpg"]


# --- split trees -------------------------------------------------------------------------------


def test_split_tree_keeps_the_split_of_each_image(class_tree):
    listing = list_images(class_tree)
    assert len(listing.items) == 12
    assert listing.label_names == ["cats", "dogs"]
    for item in listing.items:
        parts = Path(item.path).relative_to(class_tree).parts
        assert (item.split, item.label) == (parts[0], parts[1])
    assert {item.split for item in listing.items} == {"train", "val"}


def test_split_tree_labels_are_the_union_over_splits(class_tree):
    write_image(class_tree / "val" / "birds" / "b0.jpg", seed=99)
    write_image(class_tree / "test" / "ants" / "a0.jpg", seed=98)
    listing = list_images(class_tree)
    assert listing.label_names == ["ants", "birds", "cats", "dogs"]
    assert {item.split for item in listing.items} == {"train", "val", "test"}


@pytest.mark.parametrize("split", ["train", "val", "valid", "validation", "dev", "test"])
def test_every_split_folder_name_is_recognised(tmp_path, split):
    touch(tmp_path / split / "cats" / "a.jpg")
    (item,) = list_images(tmp_path).items
    assert (item.split, item.label) == (split, "cats")


def test_mixing_split_folders_with_class_folders_is_an_error_naming_both(tmp_path):
    touch(tmp_path / "train" / "cats" / "a.jpg")
    touch(tmp_path / "dogs" / "b.jpg")
    with pytest.raises(FeatxError) as info:
        list_images(tmp_path)
    message = str(info.value)
    assert "train" in message and "dogs" in message and str(tmp_path) in message


def test_split_folders_in_any_case_are_splits_written_in_lower_case(tmp_path):
    touch(tmp_path / "Train" / "cats" / "a.jpg")
    touch(tmp_path / "VAL" / "cats" / "b.jpg")
    touch(tmp_path / "Test" / "dogs" / "c.jpg")
    listing = list_images(tmp_path)
    assert [(i.split, i.label) for i in listing.items] == [
        ("test", "dogs"), ("train", "cats"), ("val", "cats")]


def test_two_folders_for_one_split_are_an_error_naming_both(tmp_path):
    touch(tmp_path / "Train" / "cats" / "a.jpg")
    touch(tmp_path / "train" / "cats" / "b.jpg")
    with pytest.raises(FeatxError, match=r"2 folders for split 'train' \(Train, train\)"):
        list_images(tmp_path)


def test_images_at_the_root_of_a_split_tree_are_listed_without_label_or_split(tmp_path):
    touch(tmp_path / "train" / "cats" / "a.jpg")
    touch(tmp_path / "val" / "cats" / "b.jpg")
    touch(tmp_path / "stray.jpg")
    touch(tmp_path / "train" / "loose.jpg")
    by_name = {os.path.basename(i.path): (i.label, i.split) for i in list_images(tmp_path).items}
    assert by_name == {"a.jpg": ("cats", "train"), "b.jpg": ("cats", "val"),
                       "stray.jpg": (None, ""), "loose.jpg": (None, "train")}


@pytest.mark.parametrize("hidden", [".thumbnails", ".ipynb_checkpoints", ".git", ".x.parts"])
def test_hidden_folders_are_never_classes(tmp_path, hidden):
    touch(tmp_path / "cats" / "a.jpg")
    touch(tmp_path / hidden / "thumb.jpg")
    touch(tmp_path / "cats" / hidden / "cats_thumb.jpg")           # at any depth
    listing = list_images(tmp_path)
    assert names(listing) == ["a.jpg"] and listing.label_names == ["cats"]


@pytest.mark.parametrize("holds_images", [False, True])
def test_hidden_folders_next_to_split_folders_are_ignored(tmp_path, holds_images):
    touch(tmp_path / "train" / "cats" / "a.jpg")
    touch(tmp_path / "val" / "cats" / "b.jpg")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    if holds_images:
        touch(tmp_path / ".ipynb_checkpoints" / "c.jpg")
        touch(tmp_path / "train" / ".thumbnails" / "a.jpg")
    listing = list_images(tmp_path)
    assert sorted(names(listing)) == ["a.jpg", "b.jpg"]
    assert {i.split for i in listing.items} == {"train", "val"}


def test_hidden_image_files_are_skipped(tmp_path):
    touch(tmp_path / "cats" / "a.jpg")
    touch(tmp_path / "cats" / "._a.jpg")                            # macOS resource fork
    touch(tmp_path / ".cover.png")
    assert names(list_images(tmp_path)) == ["a.jpg"]


def test_folders_without_images_next_to_split_folders_are_ignored(tmp_path):
    touch(tmp_path / "train" / "cats" / "a.jpg")
    touch(tmp_path / "features.h5")                                 # featx's own outputs
    touch(tmp_path / "features.h5.parts" / "part-1-000001.h5")
    touch(tmp_path / "notes" / "README.md")
    (tmp_path / "empty").mkdir()
    (item,) = list_images(tmp_path).items
    assert (item.split, item.label) == ("train", "cats")


def test_folders_without_images_are_not_classes(tmp_path):
    touch(tmp_path / "cats" / "a.jpg")
    touch(tmp_path / "features.h5.parts" / "part-1-000001.h5")
    assert list_images(tmp_path).label_names == ["cats"]


# --- extensions --------------------------------------------------------------------------------


def test_extension_filter_is_case_insensitive(tmp_path):
    for name in ("a.JPG", "b.Png", "c.jpeg", "d.TIFF", "notes.txt", "model.keras"):
        touch(tmp_path / name)
    assert names(list_images(tmp_path)) == ["a.JPG", "b.Png", "c.jpeg", "d.TIFF"]


def test_custom_extension_list_is_honoured_with_or_without_dot(tmp_path):
    for name in ("a.jpg", "b.PNG", "c.raw", "d.ppm"):
        touch(tmp_path / name)
    assert names(list_images(tmp_path, extensions=["png"])) == ["b.PNG"]
    assert names(list_images(tmp_path, extensions=[".RAW", "ppm"])) == ["c.raw", "d.ppm"]


def test_default_extensions_cover_common_image_formats():
    for ext in (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"):
        assert ext in IMAGE_EXTENSIONS


# --- symbolic links ----------------------------------------------------------------------------


def test_symlinked_class_folder_is_followed(tmp_path):
    touch(tmp_path / "elsewhere" / "x.jpg")
    (tmp_path / "tree").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "tree" / "linked")
    (item,) = list_images(tmp_path / "tree").items
    assert item.label == "linked"
    assert item.path == str(tmp_path / "tree" / "linked" / "x.jpg")


def test_symlinked_folder_reached_twice_is_listed_once(tmp_path):
    touch(tmp_path / "elsewhere" / "x.jpg")
    touch(tmp_path / "tree" / "cats" / "own.jpg")
    os.symlink(tmp_path / "elsewhere", tmp_path / "tree" / "cats" / "a_link")
    os.symlink(tmp_path / "elsewhere", tmp_path / "tree" / "cats" / "b_link")
    listing = list_images(tmp_path / "tree")
    assert sorted(names(listing)) == ["own.jpg", "x.jpg"]
    # deterministically through the first link in sorted order
    assert str(tmp_path / "tree" / "cats" / "a_link" / "x.jpg") in [i.path for i in listing.items]


def test_symlink_loop_inside_a_class_folder_does_not_hang(tmp_path):
    touch(tmp_path / "cats" / "a.jpg")
    os.symlink("..", tmp_path / "cats" / "parent")              # cats/parent -> cats
    os.symlink("self", tmp_path / "cats" / "self")              # dangling self loop
    listing = list_images(tmp_path)
    assert names(listing) == ["a.jpg"]


def test_symlink_loop_at_the_top_of_a_tree_is_skipped(tmp_path):
    touch(tmp_path / "cats" / "a.jpg")
    os.symlink("loop", tmp_path / "loop")                       # loop -> loop
    listing = list_images(tmp_path)
    assert names(listing) == ["a.jpg"]
    assert listing.label_names == ["cats"]


def test_symlink_loop_at_the_top_of_a_split_folder_is_skipped(tmp_path):
    touch(tmp_path / "train" / "cats" / "a.jpg")
    os.symlink("loop", tmp_path / "train" / "loop")             # train/loop -> train/loop
    (item,) = list_images(tmp_path).items
    assert (item.split, item.label) == ("train", "cats")


# --- list files --------------------------------------------------------------------------------


def test_csv_with_path_label_and_split_columns(tmp_path, monkeypatch):
    write_image(tmp_path / "data" / "img" / "a.jpg", seed=1)
    write_image(tmp_path / "data" / "img" / "b.jpg", seed=2)
    csv_file = tmp_path / "data" / "list.csv"
    absolute = tmp_path / "abs.jpg"
    csv_file.write_text(
        f"split,path,label\ntrain,img/b.jpg,dogs\nval,img/a.jpg,cats\ntest,{absolute},\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)                      # relative to the CSV, not the cwd
    listing = list_images(csv_file)
    assert listing.items == [
        Item(str(absolute), None, "test"),
        Item(str(tmp_path / "data" / "img" / "a.jpg"), "cats", "val"),
        Item(str(tmp_path / "data" / "img" / "b.jpg"), "dogs", "train"),
    ]
    assert listing.label_names == ["cats", "dogs"]


def test_relative_csv_path_resolves_against_the_csv_folder(tmp_path, monkeypatch):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "l.csv").write_text("path\nimg/a.jpg\n")
    monkeypatch.chdir(tmp_path)
    (item,) = list_images("lists/l.csv").items
    assert item.path == str(tmp_path / "lists" / "img" / "a.jpg")


def test_csv_without_a_path_header_uses_the_first_column(tmp_path):
    csv_file = tmp_path / "l.csv"
    csv_file.write_text("filename,label\nx.jpg,cats\ny.jpg,dogs\n")
    listing = list_images(csv_file)
    assert [(os.path.basename(i.path), i.label) for i in listing.items] == [
        ("x.jpg", "cats"), ("y.jpg", "dogs")]
    assert all(os.path.isabs(item.path) for item in listing.items)


def test_tsv_list_is_read_with_tabs(tmp_path):
    tsv = tmp_path / "l.tsv"
    tsv.write_text("path\tlabel\na b.jpg\tcats\n")
    (item,) = list_images(tsv).items
    assert (item.path, item.label) == (str(tmp_path / "a b.jpg"), "cats")


def test_text_list_gives_one_unlabelled_image_per_non_blank_line(tmp_path):
    txt = tmp_path / "list.txt"
    txt.write_text("b.jpg\n\n  sub/a.png  \n")
    listing = list_images(txt)
    assert [item.path for item in listing.items] == [
        str(tmp_path / "b.jpg"), str(tmp_path / "sub" / "a.png")]
    assert all(item.label is None for item in listing.items)


def test_empty_list_file_is_an_error_naming_it(tmp_path):
    txt = tmp_path / "empty.txt"
    txt.write_text("\n\n")
    with pytest.raises(FeatxError, match="empty.txt"):
        list_images(txt)


def test_csv_row_with_an_empty_path_is_an_error_naming_the_line(tmp_path):
    csv_file = tmp_path / "l.csv"
    csv_file.write_text("path,label\na.jpg,cats\n,dogs\n")
    with pytest.raises(FeatxError, match=r"l\.csv, line 3: empty path"):
        list_images(csv_file)


def write_list(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def pairs(listing: Listing) -> list[tuple[str, str | None, str]]:
    return [(os.path.basename(i.path), i.label, i.split) for i in listing.items]


def test_csv_without_a_header_keeps_its_first_row_and_labels(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "img/a.jpg,ants\nimg/b.jpg,bees,val\nimg/c.PNG\n")
    listing = list_images(csv_file)
    assert pairs(listing) == [("a.jpg", "ants", ""), ("b.jpg", "bees", "val"), ("c.PNG", None, "")]
    assert listing.label_names == ["ants", "bees"]


def test_csv_without_a_header_may_have_a_class_named_like_a_column(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "a.jpg,label\nb.jpg,split\n")
    assert pairs(list_images(csv_file)) == [("a.jpg", "label", ""), ("b.jpg", "split", "")]


def test_csv_without_a_header_follows_the_extension_list(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "scan.raw,ants\n")
    assert pairs(list_images(csv_file, extensions=["raw"])) == [("scan.raw", "ants", "")]


@pytest.mark.parametrize("header", ["Path,Label,Split", " PATH , label ,SPLIT ",
                                    "\ufeffpath,label,split", "label,split,path"])
def test_csv_header_is_recognised_in_any_case_order_and_with_a_byte_order_mark(tmp_path, header):
    columns = [c.strip().lstrip("\ufeff").lower() for c in header.split(",")]
    row = {"path": "a.jpg", "label": "ants", "split": "Train"}
    text = f"{header}\n{','.join(row[c] for c in columns)}\n"
    assert pairs(list_images(write_list(tmp_path / "l.csv", text))) == [("a.jpg", "ants", "train")]


def test_csv_header_other_columns_are_ignored(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "image,width,label\na.jpg,640,ants\n")
    assert pairs(list_images(csv_file)) == [("a.jpg", "ants", "")]  # no `path`: the first column
    csv_file.write_text("label,image\nants,a.jpg\n")
    with pytest.raises(FeatxError, match="line 1: the header names no path column"):
        list_images(csv_file)


def test_a_first_row_neither_header_nor_image_is_an_error_naming_the_line(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "file,class\na.jpg,ants\n")
    with pytest.raises(FeatxError, match=r"l\.csv, line 1: 'file,class' is neither a header"):
        list_images(csv_file)


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_a_latin1_list_is_one_line_naming_the_file_and_line(tmp_path, suffix):
    path = write_list(tmp_path / f"l{suffix}", "path,label\na.jpg,ants\ncaf\u00e9.jpg,bees\n"
                      .encode("latin-1"))
    with pytest.raises(FeatxError, match=rf"l\{suffix}, line 3: not UTF-8 \(byte 0xe9\)"):
        list_images(path)


@pytest.mark.parametrize("text, line", [("path,label\na.jpg,ants\nb\0.jpg,bees\n", 3),
                                        ("path,label\na.jpg,an\0ts\n", 2),
                                        ("a.jpg\nb\0.jpg\n", 2)])
def test_a_nul_byte_in_a_path_or_label_is_an_error_naming_the_line(tmp_path, text, line):
    path = write_list(tmp_path / ("l.txt" if "," not in text else "l.csv"), text)
    with pytest.raises(FeatxError, match=rf"line {line}: holds a NUL byte"):
        list_images(path)


def test_a_field_over_the_csv_limit_is_an_error_naming_the_line(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", f"path,label\na.jpg,ants\nb.jpg,{'x' * 140_000}\n")
    with pytest.raises(FeatxError, match=r"l\.csv, line 3: a field is longer than 131072"):
        list_images(csv_file)


def test_a_row_with_more_fields_than_the_header_is_an_error_naming_the_line(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "path,label\na.jpg,ants\nb,c.jpg,bees\n")
    with pytest.raises(FeatxError, match=r"line 3: 3 fields, but the header \(line 1\) names 2"):
        list_images(csv_file)
    csv_file.write_text("a.jpg,ants,train,extra\n")
    with pytest.raises(FeatxError, match=r"line 1: 4 fields, but a list without a header"):
        list_images(csv_file)


def test_a_quoted_field_may_hold_commas_and_newlines(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", 'path,label\n"a, b.jpg","two\nlines"\n')
    assert pairs(list_images(csv_file)) == [("a, b.jpg", "two\nlines", "")]


def test_a_path_listed_twice_with_two_labels_is_an_error_naming_both_lines(tmp_path):
    csv_file = write_list(tmp_path / "l.csv",
                          "path,label\nimg/a.jpg,ants\nimg/b.jpg,bees\n./img/a.jpg,bees\n")
    with pytest.raises(FeatxError) as info:
        list_images(csv_file)
    message = str(info.value)
    assert str(tmp_path / "img" / "a.jpg") in message
    assert "line 2 (label ants, split (none))" in message
    assert "line 4 (label bees, split (none))" in message


def test_a_path_listed_twice_in_two_splits_is_an_error(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "a.jpg,ants,train\na.jpg,ants,val\n")
    with pytest.raises(FeatxError, match="line 1 .*split train.* line 2 .*split val"):
        list_images(csv_file)


@pytest.mark.parametrize("name, text", [
    ("l.csv", "path,label\na.jpg,ants\nb.jpg,ants\na.jpg, ants \n"),
    ("l.txt", "a.jpg\nb.jpg\n./a.jpg\n")])
def test_a_path_listed_twice_alike_is_listed_once(tmp_path, name, text):
    listing = list_images(write_list(tmp_path / name, text))
    assert names(listing) == ["a.jpg", "b.jpg"]


def test_list_items_know_their_file_and_line(tmp_path):
    csv_file = write_list(tmp_path / "l.csv", "path\n\nb.jpg\na.jpg\n")
    assert [i.origin for i in list_images(csv_file).items] == [
        f"{csv_file} (line 4)", f"{csv_file} (line 3)"]


def test_a_header_without_rows_is_an_error(tmp_path):
    with pytest.raises(FeatxError, match="holds a header but no rows"):
        list_images(write_list(tmp_path / "l.csv", "path,label\n\n"))


# --- Python sequences --------------------------------------------------------------------------


def test_sequence_of_paths_gives_unlabelled_absolute_sorted_items(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    listing = list_images([tmp_path / "z.jpg", "rel/a.jpg", str(tmp_path / "m.png")])
    assert [item.path for item in listing.items] == [
        str(tmp_path / "m.png"), str(tmp_path / "rel" / "a.jpg"), str(tmp_path / "z.jpg")]
    assert all(item.label is None and item.split == "" for item in listing.items)
    assert listing.label_names == []


# --- errors ------------------------------------------------------------------------------------


def test_missing_source_is_an_error_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FeatxError, match="does not exist") as info:
        list_images(missing)
    assert str(missing) in str(info.value)


def test_folder_without_images_is_an_error_naming_the_path(tmp_path):
    touch(tmp_path / "cats" / "readme.md")
    with pytest.raises(FeatxError, match="holds no images") as info:
        list_images(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_empty_folder_is_an_error_naming_the_path(tmp_path):
    with pytest.raises(FeatxError) as info:
        list_images(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("name", ["notes.json", "photo.jpg"])
def test_a_file_that_is_not_a_list_is_an_error_naming_it(tmp_path, name):
    path = touch(tmp_path / name)
    with pytest.raises(FeatxError, match="is not a folder or a .csv/.txt list") as info:
        list_images(path)
    assert str(path) in str(info.value)


def test_a_folder_that_cannot_be_read_is_one_line_naming_it(tmp_path, monkeypatch):
    touch(tmp_path / "t" / "ants" / "a.jpg")
    touch(tmp_path / "t" / "bees" / "sub" / "b.jpg")
    locked = str(tmp_path / "t" / "bees" / "sub")
    scandir = os.scandir

    def refusing(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)  # os.walk reads folders with it too
    with pytest.raises(FeatxError, match=f"cannot read the folder {locked}: Permission denied; "
                                         "its images would be left out"):
        list_images(tmp_path / "t")


def test_list_paths_are_normalised_so_one_image_is_one_path(tmp_path):
    touch(tmp_path / "images" / "ants" / "a.jpg")
    listed = tmp_path / "lists" / "l.csv"
    listed.parent.mkdir()
    listed.write_text("path,label\n../images/ants/a.jpg,ants\n../images/./ants/../ants/a.jpg,bees\n")
    with pytest.raises(FeatxError, match="is listed on line 2 .* and on line 3"):
        list_images(listed)
    listed.write_text("path,label\n../images/ants/a.jpg,ants\n")
    assert [item.path for item in list_images(listed).items] == [
        str(tmp_path / "images" / "ants" / "a.jpg")]


def test_what_a_listing_states_of_labels_and_splits(tmp_path):
    touch(tmp_path / "t" / "ants" / "a.jpg")
    (tmp_path / "l.csv").write_text("path,label\nt/ants/a.jpg,\n")
    (tmp_path / "l.txt").write_text("t/ants/a.jpg\n")
    touch(tmp_path / "s" / "train" / "ants" / "a.jpg")
    touch(tmp_path / "flat" / "a.jpg")
    assert list_images(tmp_path / "s").stated == {"label", "split"}
    assert list_images(tmp_path / "t").stated == {"label"}
    assert list_images(tmp_path / "flat").stated == set()
    assert list_images(tmp_path / "l.csv").stated == {"label"}
    assert list_images(tmp_path / "l.txt").stated == set()
    assert list_images([tmp_path / "t" / "ants" / "a.jpg"]).stated == set()
