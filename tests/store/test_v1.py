"""Version-1 feature files (featx 0.1.0): read as they are, upgraded on the first write, their
features never recomputed."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import featx
from featx._hashing import content_key
from featx.backbones.build import load_backbone
from featx.backbones.config import resolve
from featx.images.decode import decode_image
from featx.store.check import problems
from tests.helpers import write_v1_file


@pytest.fixture
def v1_file(class_tree, tmp_path, tiny_model_file):
    """``class_tree``'s images in a version-1 file, plus one failed image in its errors."""
    config = resolve(str(tiny_model_file), layer="pool")
    net = load_backbone(config)
    paths = sorted(str(p) for p in class_tree.rglob("*.jpg"))
    features = net(np.stack([decode_image(p, (32, 32)) for p in paths]))
    bad = class_tree / "train" / "cats" / "bad.jpg"
    bad.write_text("not an image")
    return write_v1_file(tmp_path / "v1.h5", features, paths,
                         [p.split("/")[-2] for p in paths], [p.split("/")[-3] for p in paths],
                         [content_key(p) for p in paths], net.config.attrs(),
                         errors=[(str(bad), "not an image Pillow can identify", content_key(bad))])


def test_a_version_1_file_is_read_as_it_is(v1_file, class_tree):
    feats = featx.load(v1_file)
    assert len(feats) == 12 and feats.X.shape == (12, 8)
    assert feats.label_names == ["cats", "dogs"] and sorted(set(feats.split)) == ["train", "val"]
    assert [e.reason for e in feats.errors] == ["not an image Pillow can identify"]
    assert problems(v1_file) == []
    with h5py.File(v1_file) as h5:
        assert h5.attrs["format_version"] == 1


def test_the_first_write_upgrades_it_without_embedding_again(v1_file, class_tree,
                                                             tiny_model_file, monkeypatch):
    before = featx.load(v1_file)
    stored = dict(zip(before.paths, before.X, strict=True))
    result = featx.embed(class_tree, v1_file, backbone=str(tiny_model_file), layer="pool",
                         progress=False)
    assert (result.embedded, result.reused) == (0, 12)
    with h5py.File(v1_file) as h5:
        assert h5.attrs["format_version"] == 2
    after = featx.load(v1_file)
    assert len(after) == 12 and problems(v1_file) == []
    for path, row in zip(after.paths, after.X, strict=True):
        np.testing.assert_array_equal(row, stored[path])  # the very bytes, not recomputed
    assert [e.reason for e in after.errors] == ["not an image Pillow can identify"]
