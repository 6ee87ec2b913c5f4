"""report.html: every section, the misclassified held-out images with their nearest training
images, long galleries paged and capped, every referenced image present, nothing online."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from featx.cli.main import main
from featx.errors import FeatxError
from featx.report.data import ReportData
from featx.report.page import Page
from featx.report.train_page import write_train_report
from tests.helpers import write_image
from tests.report.html import check_page

SECTIONS = ("comparison", "metrics", "confusion", "mistakes", "map")


def synthetic_report(tmp_path: Path, n_test: int, wrong: int, **kwargs) -> ReportData:
    """ReportData over real images: ``n_test`` held out, the first ``wrong`` of them mistaken."""
    rng = np.random.default_rng(0)
    paths = [str(write_image(tmp_path / "img" / f"{i}.jpg", i)) for i in range(n_test + 10)]
    y_true = np.array(["ants", "bees"] * (n_test // 2))
    y_pred = y_true.copy()
    y_pred[:wrong] = np.where(y_true[:wrong] == "ants", "bees", "ants")
    proba = rng.uniform(0.5, 1, n_test)
    scores = np.where(y_pred == "bees", proba, 1 - proba)
    return ReportData(title="synthetic", classes=["ants", "bees"], train_paths=paths[:10],
                      y_train=["ants", "bees"] * 5, X_train=rng.normal(size=(10, 4)),
                      test_paths=paths[10:], y_true=y_true, y_pred=y_pred,
                      X_test=rng.normal(size=(n_test, 4)),
                      scores=np.c_[1 - scores, scores], score_names=["proba_ants", "proba_bees"],
                      **kwargs)


def test_train_writes_a_report_with_every_section_and_the_mistakes_with_neighbours(
        photo_features, tmp_path, capsys):
    features = photo_features(n=16)
    out = tmp_path / "run"
    assert main(["train", str(features), "--head", "all", "--cv", "3", "--n-jobs", "1",
                 "--out", str(out)]) == 0
    assert f"heldout_predictions.csv, {out / 'report.html'} and the reports in" in \
        capsys.readouterr().out
    page = check_page(out / "report.html", SECTIONS)
    with open(out / "heldout_predictions.csv", newline="") as fh:
        predictions = list(csv.DictReader(fh))
    wrong = [p for p in predictions if p["label"] != p["predicted"]]
    assert len(predictions) == 32 and wrong, "the classes overlap: some val images are wrong"
    assert f"1–{len(wrong)} of {len(wrong)}" in page.text
    assert page.classes.count("card") == len(wrong)
    assert page.classes.count("tiles small") == len(wrong)  # each with its neighbours
    assert page.classes.count("tile wrong") + page.classes.count("tile right") == 4 * len(wrong)
    shown = {Path(urlparse(h).path).name for h in page.links if h.startswith("file:")}
    assert {Path(p["path"]).name for p in wrong} <= shown
    assert "logreg" in page.text and "knn" in page.text  # the comparison of heads
    assert "balanced accuracy" in page.text and "precision" in page.text
    assert "heldout_predictions.csv" in page.links


def test_long_galleries_are_paged_and_capped_with_the_counts_shown(tmp_path):
    data = synthetic_report(tmp_path, n_test=30, wrong=23)
    path = write_train_report(data, tmp_path / "run", per_page=5, max_pages=3)
    page = check_page(Path(path), SECTIONS)
    assert "1–5 of 23 (15 on these pages; all 23 in the CSV)" in page.text
    for n in (2, 3):
        sub = check_page(tmp_path / "run" / "report_files" / f"mistakes-{n}.html", ["mistakes"])
        assert f"{5 * n - 4}–{5 * n} of 23" in sub.text
        assert sub.classes.count("card") == 5
    assert not (tmp_path / "run" / "report_files" / "mistakes-4.html").exists()
    write_train_report(data, tmp_path / "run", per_page=10, max_pages=2)
    assert not (tmp_path / "run" / "report_files" / "mistakes-3.html").exists()  # stale page


def test_a_perfect_head_says_so_instead_of_an_empty_gallery(tmp_path):
    page = check_page(Path(write_train_report(synthetic_report(tmp_path, 10, 0), tmp_path)),
                      SECTIONS)
    assert "The head classified every held-out image correctly." in page.text


def test_images_that_moved_since_embedding_become_placeholders(photo_features, tmp_path):
    features = photo_features(missing=12)
    out = tmp_path / "run"
    assert main(["train", str(features), "--cv", "3", "--n-jobs", "1", "--out", str(out),
                 "--quiet"]) == 0
    page = check_page(out / "report.html", SECTIONS)
    assert "image no longer at this path" in page.text


def test_the_map_and_its_legend_are_on_the_page(tmp_path):
    page = check_page(Path(write_train_report(synthetic_report(tmp_path, 20, 3,
                                                               feature_map="tsne"), tmp_path)),
                      SECTIONS)
    assert "t-SNE" in page.text and "misclassified (held out)" in page.text
    assert page.classes.count("mark cross") == 1 and page.classes.count("mark ring") == 2
    assert "report_files/feature_map.png" in page.images


def test_a_learning_curve_in_the_output_folder_is_shown(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    Image.new("RGB", (60, 40), "white").save(out / "learning_curve.png")
    data = synthetic_report(tmp_path, 10, 2, learning_curve=str(out / "learning_curve.png"))
    check_page(Path(write_train_report(data, out)), (*SECTIONS, "curve"))


def test_leaks_and_untrained_classes_are_noted_on_the_page(tmp_path):
    data = synthetic_report(tmp_path, 10, 2, notes=["held-out images with an exact copy among "
                                                    "the training images: 1"])
    page = check_page(Path(write_train_report(data, tmp_path)), SECTIONS)
    assert page.classes.count("note") == 1 and "exact copy" in page.text


def test_pages_need_room_for_one_item():
    with pytest.raises(FeatxError, match="pages need at least 1 item and 1 page"):
        Page("out", "report.html", per_page=0)


def test_featx_run_writes_the_report_too(class_tree, tiny_model_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.toml").write_text(f"""
output = "runs/x"
[data]
source = "{class_tree}"
[backbone]
name = "{tiny_model_file}"
layer = "pool"
[train]
heads = ["centroid"]
cv = 2
n_jobs = 1
""")
    assert main(["run", "spec.toml", "--quiet"]) == 0
    check_page(tmp_path / "runs" / "x" / "report.html", SECTIONS)


def test_report_writing_does_not_import_tensorflow(photo_features, tmp_path):
    features = photo_features()
    code = ("import sys; from featx.cli.main import main\n"
            f"assert main(['train', {str(features)!r}, '--cv', '3', '--n-jobs', '1', "
            f"'--out', {str(tmp_path / 'run')!r}, '--quiet']) == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert (tmp_path / "run" / "report.html").exists()
