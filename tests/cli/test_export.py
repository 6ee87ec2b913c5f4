"""featx export: the file named by OUT, one row per listed image, what has no features said."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

import featx
from featx.cli.main import main
from tests.helpers import embed_args


def test_export_writes_one_row_per_listed_image_and_names_the_failed(class_tree, tmp_path,
                                                                     tiny_model_file, capsys):
    shutil.copy(class_tree / "train" / "cats" / "cats0.jpg", class_tree / "val" / "dogs" / "c.jpg")
    (class_tree / "train" / "cats" / "bad.jpg").write_text("not an image")
    features = tmp_path / "f.h5"
    assert main(embed_args(class_tree, features, tiny_model_file)) == 1
    capsys.readouterr()
    out = tmp_path / "new" / "folder" / "x.parquet"
    assert main(["export", str(features), str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{out}: 13 rows x 8 features (one 'features' column of float32 vectors)" in text
    assert "1 listed images have no features" in text and f"featx info {features}" in text
    df = pd.read_parquet(out)
    assert df["path"].tolist() == featx.load(features).paths.tolist()
    assert df["key"].value_counts().max() == 2  # the copy keeps its row


@pytest.mark.parametrize("out, message", [
    ("x.xlsx", "unknown export format '.xlsx'; use one of .npz, .parquet, .csv"),
    ("x", "unknown export format '(no extension)'"),
])
def test_unknown_formats_are_a_one_line_usage_error(features_file, tmp_path, capsys, out,
                                                    message):
    assert main(["export", str(features_file), str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_export_does_not_import_tensorflow(features_file, tmp_path):
    code = ("import sys; from featx.cli.main import main\n"
            f"assert main(['export', {str(features_file)!r}, {str(tmp_path / 'x.csv')!r}]) == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert (tmp_path / "x.csv").is_file()
