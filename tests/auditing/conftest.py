"""Fixtures of the audit tests: a data set of two Gaussian classes with one planted problem of
each kind, and its audit."""

from __future__ import annotations

import numpy as np
import pytest

from featx.auditing.data import AuditInput
from featx.auditing.run import audit

DIM = 64
NOISE = 0.5


def planted_input() -> tuple[AuditInput, dict[str, list[int]]]:
    """Two Gaussian classes in train and val (20 each), plus one planted problem of each kind.

    Returns the input and, per planted problem, the rows it involves.
    """
    rng = np.random.default_rng(0)
    X, y, paths, split, keys = [], [], [], [], []

    def add(vector, label, part, key, name):
        X.append(vector)
        y.append(label)
        paths.append(f"/photos/{part}/{name}.jpg")
        split.append(part)
        keys.append(key)
        return len(X) - 1

    centres = np.zeros((2, DIM))
    centres[0, 0] = centres[1, 1] = 4.0
    for part in ("train", "val"):
        for label in (0, 1):
            for i in range(20):
                add(rng.normal(centres[label], NOISE), label, part, f"{part}{label}-{i}",
                    f"{label}-{i}")
    planted = {
        "exact leak": [3, add(X[3], 0, "val", keys[3], "copy-of-3")],
        "near leak": [25, add(X[25] + rng.normal(0, 0.05, DIM), 1, "val", "resized-25",
                              "resized-25")],
        "exact conflict": [7, add(X[7], 1, "train", keys[7], "ant-7-as-bee")],
        "mislabelled": [add(rng.normal(centres[0], NOISE), 1, "train", "ant-as-bee", "ant")],
        "off-topic": [add(np.r_[np.zeros(5), 9.0, np.zeros(DIM - 6)], 0, "train", "chart",
                          "chart")],
    }
    return AuditInput(np.array(X), np.array(y), ["ants", "bees"], paths, split, keys,
                      "planted"), planted


@pytest.fixture(scope="module")
def planted():
    """:func:`planted_input`: the input and the planted rows."""
    return planted_input()


@pytest.fixture(scope="module")
def planted_audit(planted):
    """The full audit of :func:`planted_input` (computed once per module) and the planted rows."""
    data, rows = planted
    return audit(data), rows

