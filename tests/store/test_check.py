"""`featx check FILE`: a sound file passes with "OK"; each kind of damage is named; exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import featx
from featx.cli.main import main
from featx.store.check import problems
from tests.helpers import write_image


@pytest.fixture(scope="module")
def sound_file(tmp_path_factory, tiny_model_file) -> Path:
    """A feature file of 6 labelled images and one failure."""
    root = tmp_path_factory.mktemp("check")
    for i in range(6):
        write_image(root / "images" / ("a" if i % 2 else "b") / f"{i}.jpg", seed=i)
    (root / "images" / "a" / "bad.jpg").write_text("not an image")
    featx.embed(root / "images", root / "f.h5", backbone=str(tiny_model_file), layer="pool",
                progress=False)
    return root / "f.h5"


def test_a_sound_file_passes(sound_file, capsys):
    assert problems(sound_file) == []
    assert main(["check", str(sound_file)]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {sound_file}: 6 rows x 8 features, 1 errors")


def shorten_paths(h5):
    h5["paths"].resize(5, axis=0)


def duplicate_key(h5):
    h5["keys"][1] = h5["keys"][0]


def nan_feature(h5):
    h5["features"][2, 3] = np.nan


def label_out_of_range(h5):
    h5["labels"][0] = 7


def empty_error_reason(h5):
    h5["errors/reason"][0] = ""


def short_error_keys(h5):
    h5["errors/key"].resize(0, axis=0)


def drop_attribute(h5):
    del h5.attrs["weights_fingerprint"]
    del h5.attrs["updated"]


def wrong_feature_dim(h5):
    h5.attrs["feature_dim"] = 9


def pending_part(h5):
    parts = Path(f"{h5.filename}.parts")
    parts.mkdir()
    shutil.copy(h5.filename, parts / "part-1-000001.h5")


@pytest.mark.parametrize("damage, message", [
    (shorten_paths, "row datasets disagree in length: features 6, paths 5"),
    (duplicate_key, "1 duplicate keys"),
    (nan_feature, "1 feature rows hold NaN or Inf"),
    (label_out_of_range, "1 labels outside -1..1"),
    (empty_error_reason, "1 errors rows lack a path or a reason"),
    (short_error_keys, "errors datasets disagree in length: path 1, reason 1, key 0"),
    (drop_attribute, "attributes missing: weights_fingerprint, updated"),
    (wrong_feature_dim, "features has shape (6, 8), feature_dim is 9"),
    (pending_part, "1 pending parts in"),
])
def test_each_kind_of_damage_is_reported_with_exit_1(damage, message, sound_file, tmp_path,
                                                     capsys):
    damaged = tmp_path / "f.h5"
    shutil.copy(sound_file, damaged)
    with h5py.File(damaged, "a") as h5:
        damage(h5)
    assert main(["check", str(damaged)]) == 1
    out = capsys.readouterr().out
    assert f"{damaged}: {message}" in out and "OK" not in out


def test_check_does_not_import_tensorflow(sound_file):
    import subprocess
    import sys

    code = ("import sys; from featx.cli.main import main; "
            "assert main(['check', sys.argv[1]]) == 0; "
            "assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(sound_file)], check=True,
                   capture_output=True)
