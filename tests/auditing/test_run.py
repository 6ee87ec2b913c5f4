"""featx.audit: every planted problem is found with its kind, from a value object, a feature file
and, end to end, from real photos embedded with Lite0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import featx
from featx.auditing.run import audit
from featx.store.read import configs
from tests.helpers import HYMENOPTERA, LITE0_FILE, SYNTHETIC_ATTRS, needs_shared, write_features


def kinds_of(result, rows) -> set[tuple[str, tuple[str, ...]]]:
    """(kind, flags) of every finding that involves all of ``rows``."""
    return {(f.kind, f.flags) for f in result.findings if set(rows) <= set(f.rows)}


def test_every_planted_problem_is_found_with_its_kind(planted_audit):
    result, planted = planted_audit
    assert ("exact-duplicate", ("leak",)) in kinds_of(result, planted["exact leak"])
    assert ("near-duplicate", ("leak",)) in kinds_of(result, planted["near leak"])
    assert ("exact-duplicate", ("conflict",)) in kinds_of(result, planted["exact conflict"])
    assert ("label-error", ()) in kinds_of(result, planted["mislabelled"])
    assert ("outlier", ()) in kinds_of(result, planted["off-topic"])


def test_audit_reads_a_feature_file_and_its_loaded_features(tmp_path):
    path = write_features(tmp_path / "f.h5")
    checks = ["exact", "near", "outliers"]
    by_path = audit(path, checks=checks)
    by_features = featx.audit(featx.load(path), checks=checks)
    assert by_path.findings == by_features.findings
    assert len(by_path.data) == 80 and by_path.data.source == str(path)


def test_a_store_of_several_configurations_is_audited_one_at_a_time(tmp_path):
    path = write_features(tmp_path / "f.h5")
    write_features(path, attrs={**SYNTHETIC_ATTRS, "pooling": "max"}, seed=1)
    with pytest.raises(featx.FeatxError, match="holds 2 configurations; choose one"):
        audit(path, checks=["exact"])
    for name in configs(path):
        assert len(audit(path, config=name, checks=["exact"]).data) == 80


# --- end to end on real photos: hymenoptera with Lite0 features ---------------------------------

def _photos(split: str, label: str, n: int) -> list[Path]:
    return sorted((HYMENOPTERA / split / label).glob("*.jpg"))[:n]


def _off_topic(path: Path) -> None:
    """A screenshot-like picture of a bar chart with text: nothing like an insect photo."""
    img = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(img)
    for i, h in enumerate((120, 200, 80, 160, 240)):
        draw.rectangle([40 + i * 70, 280 - h, 90 + i * 70, 280], fill=(30 + 40 * i, 90, 200))
    for row in range(4):
        draw.text((20, 10 + 14 * row), "quarterly figures " * 3, fill="black")
    img.save(path)


@pytest.fixture(scope="module")
def planted_photos(tmp_path_factory) -> tuple[Path, dict]:
    """74 hymenoptera photos in train/val and the planted problems, embedded with Lite0: an exact
    copy of a bee across splits and under the wrong label, a resized and re-encoded copy of an
    ant across splits, a re-encoded copy of another ant under the wrong label, an off-topic
    chart."""
    from featx.embedding.run import embed

    root = tmp_path_factory.mktemp("planted") / "images"
    for split, n in (("train", 25), ("val", 12)):
        for label in ("ants", "bees"):
            (root / split / label).mkdir(parents=True)
            for photo in _photos(split, label, n):
                shutil.copy(photo, root / split / label / photo.name)
    ant, other_ant = _photos("train", "ants", 3)[0], _photos("train", "ants", 3)[2]
    bee = _photos("train", "bees", 1)[0]
    planted = {
        "resized copy in val": root / "val" / "ants" / "resized.jpg",
        "off-topic": root / "train" / "bees" / "chart.png",
        "exact copy in val": root / "val" / "bees" / "exact.jpg",
        "exact copy as ants": root / "train" / "ants" / "exact-bee.jpg",
        "re-encoded copy as bees": root / "train" / "bees" / "reencoded-ant.jpg",
        "ant": root / "train" / "ants" / ant.name,
        "bee": root / "train" / "bees" / bee.name,
        "other ant": root / "train" / "ants" / other_ant.name,
    }
    with Image.open(ant) as img:
        img.resize((img.width // 2, img.height // 2)).save(planted["resized copy in val"],
                                                            quality=75)
    with Image.open(other_ant) as img:
        img.save(planted["re-encoded copy as bees"], quality=80)
    _off_topic(planted["off-topic"])
    shutil.copy(bee, planted["exact copy in val"])
    shutil.copy(bee, planted["exact copy as ants"])
    out = tmp_path_factory.mktemp("features") / "planted.h5"
    embed(root, out, backbone=str(LITE0_FILE), layer="avg_pool", progress=False)
    return out, planted


def _found(result, *paths: Path) -> set[tuple[str, tuple[str, ...]]]:
    wanted = {str(p) for p in paths}
    return {(f.kind, f.flags) for f in result.findings
            if wanted <= {result.data.paths[r] for r in f.rows}}


@needs_shared
def test_planted_problems_in_real_photos_are_found_with_their_kind(planted_photos):
    features, planted = planted_photos
    result = audit(features)
    exact = _found(result, planted["bee"], planted["exact copy in val"],
                   planted["exact copy as ants"])
    assert ("exact-duplicate", ("leak", "conflict")) in exact
    assert ("near-duplicate", ("leak",)) in _found(result, planted["ant"],
                                                   planted["resized copy in val"])
    assert ("near-duplicate", ("conflict",)) in _found(result, planted["other ant"],
                                                       planted["re-encoded copy as bees"])
    assert ("outlier", ()) in _found(result, planted["off-topic"])
    assert len(result.of_kind("exact-duplicate")) == 1
