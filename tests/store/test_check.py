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


def config_group(h5):
    return next(iter(h5["configs"].values()))


def entries(h5):
    return next(iter(h5["sources"].values()))["entries"]


def replace(group, name, values):
    del group[name]
    group[name] = values


def shorten_paths(h5):
    table = entries(h5)
    replace(table, "path", table["path"].asstr()[:5].astype(object))


def duplicate_key(h5):
    keys = config_group(h5)["content"]["key"]
    keys[1] = keys[0]


def nan_feature(h5):
    config_group(h5)["content"]["features"][2, 3] = np.nan


def label_out_of_range(h5):
    entries(h5)["label"][0] = 7


def float_labels(h5):
    replace(entries(h5), "label", np.zeros(7, np.float64))


def two_d_labels(h5):
    replace(entries(h5), "label", np.zeros((7, 2), np.int32))


def int_split(h5):
    replace(entries(h5), "split_names", np.zeros(1, np.int64))


def string_input_size(h5):
    config_group(h5).attrs["input_size"] = "32x32"


def int_keys(h5):
    replace(config_group(h5)["content"], "key", np.arange(6))


def missing_content(h5):
    content = config_group(h5)["content"]
    replace(content, "key", np.array([b"f" * 32] + list(content["key"][1:]), dtype="S32"))


def drop_attribute(h5):
    del config_group(h5).attrs["weights_fingerprint"]


def wrong_feature_dim(h5):
    config_group(h5).attrs["feature_dim"] = 9


def pending_part(h5):
    parts = Path(f"{h5.filename}.parts")
    parts.mkdir()
    shutil.copy(h5.filename, parts / "part-1-000001.h5")


def orphan_shard(h5):
    parts = Path(f"{h5.filename}.parts")
    parts.mkdir()
    shutil.copy(h5.filename, parts / "delta-00000001-00000001.h5")


@pytest.mark.parametrize("damage, message", [
    (shorten_paths, "entries columns disagree in length: path 5, label 7"),
    (duplicate_key, "1 duplicate content keys"),
    (nan_feature, "1 feature rows hold NaN or Inf"),
    (label_out_of_range, "entries/label: 1 codes outside"),
    (float_labels, "entries/label is float64 with shape (7,), expected 1-D int32"),
    (two_d_labels, "entries/label is int32 with shape (7, 2), expected 1-D int32"),
    (int_split, "entries/split_names is int64 with shape (1,), expected 1-D UTF-8 strings"),
    (string_input_size, "input_size is '32x32', expected two integers"),
    (int_keys, "content/key is int64 with shape (6,), expected 1-D |S32"),
    (missing_content, "entries point at content that configuration"),
    (drop_attribute, "attributes missing: weights_fingerprint"),
    (wrong_feature_dim, "features has shape (6, 8), feature_dim is 9"),
    (pending_part, "1 pending parts in"),
    (orphan_shard, "1 orphan shards in"),
])
def test_each_kind_of_damage_is_reported_with_exit_1(damage, message, sound_file, tmp_path,
                                                     capsys):
    damaged = tmp_path / "f.h5"
    shutil.copy(sound_file, damaged)
    with h5py.File(damaged, "a") as h5:
        damage(h5)
    assert main(["check", str(damaged)]) == 1
    out = capsys.readouterr().out
    assert message in out and "OK" not in out and "Traceback" not in out


def test_a_file_that_is_not_hdf5_is_one_line(tmp_path, capsys):
    (tmp_path / "f.h5").write_bytes(b"garbage" * 100)
    assert main(["check", str(tmp_path / "f.h5")]) == 1
    assert "not a readable HDF5 feature file" in capsys.readouterr().out


def test_check_does_not_import_tensorflow(sound_file):
    import subprocess
    import sys

    code = ("import sys; from featx.cli.main import main; "
            "assert main(['check', sys.argv[1]]) == 0; "
            "assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(sound_file)], check=True,
                   capture_output=True)


def test_check_on_a_first_run_that_crashed_names_the_parts_waiting(tmp_path, capsys):
    from featx.store.journal import write_part_file
    from featx.store.shards import parts_dir
    from featx.store.tables import Table
    from featx.store.write import Batch
    from tests.helpers import SYNTHETIC_ATTRS

    out = tmp_path / "f.h5"
    write_part_file(parts_dir(out) / "part-1-000001.h5", SYNTHETIC_ATTRS,
                    Batch(["0" * 32], np.zeros((1, 4), np.float32), Table.empty("failed")))
    assert main(["check", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "no such feature file (1 uncommitted parts wait in" in printed
    assert "rerun `featx embed` to commit them" in printed
