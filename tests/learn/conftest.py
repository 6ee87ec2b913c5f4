"""Fixtures of the learning tests."""

from __future__ import annotations

import pytest

from featx.extractor import load_xy
from featx.learn import bundle
from featx.learn.heads import make_head
from tests.helpers import SYNTHETIC_ATTRS


@pytest.fixture
def bundle_file(features_file, tmp_path):
    X, y = load_xy(features_file, split="train")
    path = tmp_path / "model.skops"
    bundle.save(path, make_head("logreg").fit(X, y), SYNTHETIC_ATTRS, "logreg")
    return path
