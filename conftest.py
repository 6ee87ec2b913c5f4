"""The doctests of ``featx/`` (``pytest`` runs them with ``--doctest-modules``).

Every docstring example runs in a fresh working folder holding ``images/`` (``train`` and ``val``
splits of ``ants`` and ``bees``, 4 tiny JPEGs each: ``images/train/ants/ants0.jpg`` ...) and
``features.h5``: those images embedded with ``mobilenetv2`` at 32 px with random weights, the
configuration the examples use. The fixtures of the test suite are in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXAMPLE_BACKBONE = {"backbone": "mobilenetv2", "weights": None, "input_size": 32}


@pytest.fixture(scope="session")
def example_folder(tmp_path_factory) -> Path:
    """``images/`` and ``features.h5``, made once per session."""
    import featx
    from tests.helpers import write_tree

    root = tmp_path_factory.mktemp("examples")
    write_tree(root / "images", ("ants", "bees"), 4)
    featx.embed(root / "images", root / "features.h5", progress=False, **EXAMPLE_BACKBONE)
    return root


@pytest.fixture(autouse=True)
def _examples_run_in_a_fresh_folder(request, tmp_path, monkeypatch):
    """Doctests only: work in a copy of :func:`example_folder`."""
    if isinstance(request.node, DoctestItem):
        shutil.copytree(request.getfixturevalue("example_folder"), tmp_path, dirs_exist_ok=True)
        monkeypatch.chdir(tmp_path)
    yield
