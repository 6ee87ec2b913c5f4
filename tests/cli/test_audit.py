"""featx audit: a summary, audit.csv and audit.html in --out DIR; exit 0 whatever it finds, 2 on
a usage error; no TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import pytest

from featx.cli.main import main
from tests.helpers import SYNTHETIC_ATTRS, write_features


def test_cli_writes_csv_and_page_and_exits_0_with_findings(features_file, tmp_path, capsys):
    out = tmp_path / "report" / "deeper"
    assert main(["audit", str(features_file), "--out", str(out), "--threshold", "0.2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{features_file}: 80 images (train 40, val 40), 2 classes")
    assert "near duplicates" in text and "label errors" in text and "outliers" in text
    assert f"wrote {out / 'audit.csv'} (" in text
    assert (out / "audit.csv").is_file() and (out / "audit.html").is_file()


def test_one_configuration_of_several_is_chosen_with_config(features_file, tmp_path, capsys):
    write_features(features_file, attrs={**SYNTHETIC_ATTRS, "pooling": "max"}, seed=1)
    assert main(["audit", str(features_file), "--out", str(tmp_path / "a"),
                 "--checks", "exact"]) == 2
    assert "holds 2 configurations; choose one with config=NAME (or --config NAME)" in \
        capsys.readouterr().err
    from featx.store.read import configs

    name = list(configs(features_file))[1]
    assert main(["audit", str(features_file), "--out", str(tmp_path / "a"), "--checks",
                 "exact,near", "--config", name]) == 0


@pytest.mark.parametrize("args, message", [
    (["audit", "{tmp}/missing.h5", "--out", "{tmp}/a"], "no such feature file"),
    (["audit", "{file}", "--out", "{tmp}/a", "--checks", "dupes"], "unknown check(s) dupes"),
    (["audit", "{file}", "--out", "{tmp}/a", "--threshold", "3"],
     "threshold is a cosine distance"),
    (["audit", "{file}", "--out", "{tmp}/a", "--head", "nope"], "invalid choice: 'nope'"),
    (["audit", "{file}", "--out", "{file}"], "is a file; --out names the folder"),
    (["audit", "{file}"], "the following arguments are required: --out"),
    (["audit", "{file}", "--out", "{tmp}/a", "--limit", "-1"], "--limit is a number of findings"),
])
def test_usage_errors_exit_2_with_one_line(features_file, tmp_path, capsys, args, message):
    args = [a.format(tmp=tmp_path, file=features_file) for a in args]
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("featx: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists()


def test_audit_and_its_page_do_not_import_tensorflow(features_file, tmp_path):
    code = ("import sys; from featx.cli.main import main\n"
            f"assert main(['audit', {str(features_file)!r}, '--out', {str(tmp_path / 'a')!r}])"
            " == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert (tmp_path / "a" / "audit.html").is_file()
