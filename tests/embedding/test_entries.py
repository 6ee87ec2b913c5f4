"""Every listed image is an entry: duplicates kept and reported, sources kept apart, edits and
deletions followed, predictions and extractors never touching a data set's entries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import featx
from featx.cli.main import main
from featx.store.check import problems
from featx.store.read import configs
from tests.helpers import embed_args, write_image


@pytest.fixture
def dup_tree(tmp_path) -> Path:
    """Six images: one val image a byte copy of a train image (a leak), one train image in both
    ``ants/`` and ``bees/`` (a label conflict)."""
    root = tmp_path / "dup"
    for i, path in enumerate(["train/ants/a1.jpg", "train/ants/a2.jpg", "train/bees/b1.jpg",
                              "val/bees/b2.jpg"]):
        write_image(root / path, seed=i)
    (root / "val" / "ants").mkdir(parents=True)
    shutil.copy(root / "train/ants/a1.jpg", root / "val/ants/a1copy.jpg")
    shutil.copy(root / "train/ants/a2.jpg", root / "train/bees/a2copy.jpg")
    return root


def test_duplicates_are_kept_as_listed_and_reported(dup_tree, tmp_path, tiny_model_file, capsys):
    out = tmp_path / "dup.h5"
    assert main(embed_args(dup_tree, out, tiny_model_file)) == 0
    printed = capsys.readouterr().out
    assert ("embedded 4, reused 0, duplicates 2 (2 groups: 1 across splits, 1 with two labels)"
            in printed)
    feats = featx.load(out)
    listed = [(str(p.relative_to(dup_tree).parent), p.name) for p in map(Path, feats.paths)]
    assert listed == [("train/ants", "a1.jpg"), ("train/ants", "a2.jpg"),
                      ("train/bees", "a2copy.jpg"), ("train/bees", "b1.jpg"),
                      ("val/ants", "a1copy.jpg"), ("val/bees", "b2.jpg")]
    assert [feats.label_names[y] for y in feats.y] == ["ants", "ants", "bees", "bees", "ants",
                                                       "bees"]
    assert list(feats.split) == ["train"] * 4 + ["val"] * 2

    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "exact duplicates: 2 groups: 1 across splits, 1 with two labels" in info
    assert "leak: " in info and "a1copy.jpg (ants, val)" in info
    assert "label conflict: " in info and "a2copy.jpg (bees, train)" in info

    assert main(["train", str(out), "--cv", "2", "--out", str(tmp_path / "run")]) == 0
    trained = capsys.readouterr().out
    assert "warning: held-out images with an exact copy among the training images: 1" in trained
    assert "warning: exact copies under different labels (label conflicts): 2 images" in trained
    assert main(["train", str(out), "--cv", "2", "--drop-leaks", "--out",
                 str(tmp_path / "run2")]) == 0
    assert "held out 1 (split 'val')" in capsys.readouterr().out


def test_an_image_edited_in_place_is_one_entry_with_its_new_content(class_tree, tmp_path,
                                                                    tiny_model_file):
    out = tmp_path / "f.h5"
    featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    edited = class_tree / "val" / "dogs" / "dogs0.jpg"
    write_image(edited, seed=999)
    result = featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool",
                         progress=False)
    assert (result.embedded, result.reused) == (1, 11)
    feats = featx.load(out)
    assert len(feats) == 12 and list(feats.paths).count(str(edited)) == 1
    assert feats.keys[list(feats.paths).index(str(edited))] == result.keys[
        [i.path for i in result.items].index(str(edited))]
    assert problems(out) == []


def test_deleted_images_leave_the_store(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    gone = sorted((class_tree / "train" / "cats").iterdir())[:2]
    for path in gone:
        path.unlink()
    featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    feats = featx.load(out)
    assert len(feats) == 10 and not {str(p) for p in gone} & set(feats.paths)


def test_two_sources_in_one_store_keep_their_own_labels_and_splits(tmp_path, tiny_model_file):
    c1 = tmp_path / "c1"
    write_image(c1 / "train" / "ants" / "a.jpg", seed=1)
    write_image(c1 / "train" / "bees" / "b.jpg", seed=2)
    shutil.copy(c1 / "train" / "ants" / "a.jpg", tmp_path / "copy.jpg")
    write_image(c1 / "val" / "bees" / "b2.jpg", seed=3)
    shutil.copy(tmp_path / "copy.jpg", c1 / "val" / "bees" / "a_as_bee.jpg")
    out = tmp_path / "f.h5"
    for source in (c1 / "train", c1 / "val"):
        featx.embed(source, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    feats = featx.load(out)
    labels = {Path(p).name: feats.label_names[y] for p, y in zip(feats.paths, feats.y,
                                                                 strict=True)}
    assert labels == {"a.jpg": "ants", "b.jpg": "bees", "b2.jpg": "bees", "a_as_bee.jpg": "bees"}
    assert problems(out) == []


def test_a_list_that_states_a_label_is_taken_as_it_is_and_keeps_what_it_does_not_state(
        tmp_path, tiny_model_file):
    for i in range(3):
        write_image(tmp_path / "im" / f"{i}.jpg", seed=i)
    listed, out = tmp_path / "l.csv", tmp_path / "f.h5"
    listed.write_text("path,label,split\nim/0.jpg,ants,train\nim/1.jpg,bees,val\n"
                      "im/2.jpg,bees,train\n")
    featx.embed(listed, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    listed.write_text("path,label\nim/0.jpg,ants\nim/1.jpg,\nim/2.jpg,bees\n")  # 1: no label
    featx.embed(listed, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    feats = featx.load(out)
    labels = [feats.label_names[y] if y >= 0 else "" for y in feats.y]
    assert labels == ["ants", "", "bees"]                 # the cleared label stays cleared
    assert list(feats.split) == ["train", "val", "train"]  # the dropped column keeps its splits


def test_a_list_reaching_a_folder_image_by_a_relative_path_claims_that_entry(class_tree,
                                                                             tmp_path,
                                                                             tiny_model_file):
    out = tmp_path / "f.h5"
    featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    fix = tmp_path / "lists" / "fix.csv"
    fix.parent.mkdir()
    fix.write_text(f"path,label\n../{class_tree.name}/train/cats/cats0.jpg,dogs\n")
    featx.embed(fix, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    feats = featx.load(out)
    assert len(feats) == 12  # one entry per image, the relabelled one once
    relabelled = [feats.label_names[y] for p, y in zip(feats.paths, feats.y, strict=True)
                  if p.endswith(os.path.join("train", "cats", "cats0.jpg"))]
    assert relabelled == ["dogs"]


def test_a_class_folder_whose_name_is_not_utf8_is_kept_with_its_bytes_escaped(tmp_path,
                                                                              tiny_model_file):
    root = tmp_path / "t"
    write_image(root / "ants" / "a.jpg", seed=1)
    odd = os.fsdecode(os.fsencode(str(root)) + b"/caf\xe9")
    write_image(Path(odd) / "b.jpg", seed=2)
    out = tmp_path / "f.h5"
    featx.embed(root, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    assert sorted(featx.load(out).label_names) == ["ants", "caf\\xe9"]
    assert problems(out) == []


def test_a_sub_folder_embedded_with_another_configuration_keeps_its_images_in_the_first(
        class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    featx.embed(class_tree / "train", out, backbone=str(tiny_model_file), layer="pool",
                pooling="max", progress=False)  # takes the train paths over, with max pooling
    names = sorted(configs(out), key=lambda name: ".max." in name)  # avg, then max
    first, second = (featx.load(out, config=name) for name in names)
    assert len(first) == 12 and not first.missing and not first.errors
    assert sorted(first.split) == ["train"] * 6 + ["val"] * 6  # the sub-folder states no split
    assert len(second) == 6 and not second.missing
    assert problems(out) == []


def test_predict_with_the_training_file_as_cache_keeps_its_entries(class_tree, tmp_path,
                                                                   tiny_model_file, capsys):
    out, run = tmp_path / "f.h5", tmp_path / "run"
    featx.embed(class_tree / "train", out, backbone=str(tiny_model_file), layer="pool",
                progress=False)
    main(["train", str(out), "--head", "centroid", "--cv", "2", "--test-size", "0.25",
          "--out", str(run)])
    before = featx.load(out)
    status = main(["predict", str(run / "model.skops"), str(class_tree / "val"), "--out",
                   str(tmp_path / "predicted"), "--cache", str(out)])
    assert status == 0, capsys.readouterr().err
    after = featx.load(out)
    assert list(after.paths) == list(before.paths) and list(after.y) == list(before.y)
    assert list(after.split) == list(before.split)
    assert len(after.unique_content()) == 6  # the val content is cached beside, unlisted
    capsys.readouterr()


def test_feature_extractor_adds_content_only(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    featx.embed(class_tree / "train", out, backbone=str(tiny_model_file), layer="pool",
                progress=False)
    fx = featx.FeatureExtractor(str(tiny_model_file), layer="pool", cache=out)
    rows = fx.fit_transform([str(p) for p in sorted((class_tree / "val").rglob("*.jpg"))])
    assert rows.shape == (6, 8)
    assert len(featx.load(out)) == 6  # still the 6 listed training images
    np.testing.assert_array_equal(featx.load(out).by_keys(
        [featx.load(out).keys[0]]), featx.load(out).X[:1])
