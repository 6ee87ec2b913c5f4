"""featx.finetuning.data: the held-out rows of featx train, validation rows, image pipelines."""

from __future__ import annotations

import numpy as np
import pytest

from featx.errors import FeatxError
from featx.finetuning import data
from featx.finetuning.options import FinetuneOptions
from featx.images.sources import list_images


def _rows(splits, keys=None) -> data.Rows:
    n = len(splits)
    return data.Rows([f"{i}.jpg" for i in range(n)], np.arange(n) % 2, list(splits),
                     np.zeros((n, 2)), ["a", "b"], keys or [f"k{i}" for i in range(n)])


def test_split_takes_the_held_out_split_of_featx_train_and_a_second_split_for_validation():
    rows = _rows(["train"] * 24 + ["val"] * 8 + ["test"] * 8)
    splits = data.split(rows, FinetuneOptions())
    assert (len(splits.train), len(splits.fit), len(splits.validation),
            len(splits.held_out)) == (24, 24, 8, 8)
    assert splits.held_out_how == "split 'test'" and splits.validation_how == "split 'val'"
    splits = data.split(rows, FinetuneOptions(validation=0.25))
    assert (len(splits.train), len(splits.fit), len(splits.validation)) == (24, 18, 6)
    assert not set(splits.fit.paths) & set(splits.validation.paths)


def test_without_splits_a_stratified_fraction_is_held_out_as_featx_train_holds_it_out():
    splits = data.split(_rows([""] * 40), FinetuneOptions(test_size=0.25))
    assert (len(splits.train), len(splits.held_out)) == (30, 10)
    assert splits.held_out_how == "stratified random 0.25 of the labelled rows (seed 0)"
    assert (len(splits.fit), len(splits.validation)) == (24, 6)


def test_validation_on_the_held_out_rows_is_said_to_be_optimistic():
    splits = data.split(_rows(["train"] * 8 + ["val"] * 4), FinetuneOptions(
        validation="held-out"))
    assert splits.validation_is_held_out and "optimistic" in splits.validation_how
    assert splits.validation.paths == splits.held_out.paths


def test_exact_copies_across_splits_are_warned_about_or_left_out():
    keys = [f"k{i}" for i in range(12)]
    keys[10] = keys[0]  # a held-out image that is also a training image
    rows = _rows(["train"] * 8 + ["val"] * 4, keys)
    warned = data.split(rows, FinetuneOptions())
    assert len(warned.held_out) == 4
    assert warned.warnings[0].startswith(
        "held-out images with an exact copy among the training images: 1 (a leak")
    dropped = data.split(rows, FinetuneOptions(drop_leaks=True))
    assert len(dropped.held_out) == 3 and "left out (--drop-leaks)" in dropped.warnings[0]


def test_a_class_too_small_to_split_is_a_clear_error():
    rows = _rows(["train"] * 3 + ["val"] * 2)
    rows.y = np.array([0, 0, 1, 0, 1])
    with pytest.raises(FeatxError, match="validation split needs at least 2 training images"):
        data.split(rows, FinetuneOptions())


def test_training_dataset_yields_augmented_float_batches(photo_tree):
    paths = [item.path for item in list_images(photo_tree / "train").items]
    rows = data.Rows(paths, np.arange(len(paths)) % 2, ["train"] * len(paths),
                     np.zeros((len(paths), 2)), ["a", "b"], paths)
    lines = []
    batches = data.training_dataset(rows, (32, 32), "squash", FinetuneOptions(batch_size=5),
                                    threads=2, log=lines.append)
    shapes = [(x.shape, x.dtype.name, y.shape) for x, y in batches]
    assert shapes == [((5, 32, 32, 3), "float32", (5,))] * 2 + [((2, 32, 32, 3), "float32",
                                                                  (2,))]
    assert lines == ["decoded training images kept in memory (0 MiB): one decode per image in "
                     "all"]


def test_an_image_gone_during_training_is_one_error_naming_it(tmp_path):
    gone = str(tmp_path / "gone.jpg")
    rows = data.Rows([gone], np.array([0]), ["train"], np.zeros((1, 2)), ["a", "b"], ["k"])
    batches = data.training_dataset(rows, (32, 32), "squash", FinetuneOptions(augment="none"),
                                    threads=1, log=lambda _: None)
    with pytest.raises(Exception) as raised:  # noqa: B017 (TensorFlow's own error class)
        list(batches)
    assert str(data.decode_failure(raised.value)) == (
        f"{gone}: file vanished before it could be read")
    assert data.decode_failure(ValueError("another error")) is None
    with pytest.raises(FeatxError, match="gone.jpg: file vanished before it could be read"):
        list(data.decode_batches([gone], (32, 32), "squash", 4, 1))
