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


@pytest.mark.parametrize("split", ["train", "val", "valid", "validation", "dev", "test", "Train"])
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
