"""featx.learn.bundle: a fitted head plus its feature configuration; strict loading."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn import bundle


def test_bundle_round_trip_keeps_model_and_configuration(bundle_file):
    loaded = bundle.load(bundle_file)
    assert loaded.head == "logreg" and loaded.classes == ["ants", "bees"]
    assert loaded.features["layer"] == "pool"


def test_a_bundle_edited_to_hold_an_untrusted_type_is_refused(bundle_file, tmp_path):
    edited = tmp_path / "edited.skops"
    with zipfile.ZipFile(bundle_file) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                data = data.replace(b'"sklearn.linear_model._logistic"', b'"evil.payload"')
            dst.writestr(item, data)
    with pytest.raises(FeatxError, match="untrusted type.*evil.payload.LogisticRegression"):
        bundle.load(edited)


def zip_bomb(bundle_file, out, unpacked: int):
    """``bundle_file`` with its largest array swapped for ``unpacked`` bytes of zeros, deflated:
    a real skops file that loads (into that much memory) wherever nothing checks sizes."""
    import numpy as np

    with zipfile.ZipFile(bundle_file) as src:
        members = src.infolist()
        target = max((m for m in members if m.filename.endswith(".npy")),
                     key=lambda m: m.file_size)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
            for member in members:
                if member is not target:
                    dst.writestr(member.filename, src.read(member.filename))
                    continue
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, {
                    "descr": "<f8", "fortran_order": False, "shape": (unpacked // 8,)})
                with dst.open(member.filename, "w", force_zip64=True) as fh:
                    fh.write(header.getvalue())
                    zeros = bytes(1 << 20)
                    for start in range(0, unpacked, len(zeros)):
                        fh.write(zeros[:unpacked - start])
    return out


def test_a_zip_bomb_bundle_is_refused_before_anything_is_unpacked(bundle_file, tmp_path,
                                                                   monkeypatch):
    bomb = zip_bomb(bundle_file, tmp_path / "bomb.skops", 128 << 20)
    assert bomb.stat().st_size < 1 << 20                            # 128 MiB in under 1 MiB
    for name in ("load", "get_untrusted_types"):                   # nothing is unpacked
        monkeypatch.setattr(bundle.sio, name, lambda *a, **k: pytest.fail("member read"))
    with pytest.raises(FeatxError, match=r"bomb\.skops: refused: its members would unpack to "
                                         r"128 MiB, more than the file's 0\.\d MiB plus "
                                         r"FEATX_MAX_BUNDLE_EXPANSION=67108864 bytes"):
        bundle.load(bomb)


def test_the_allowed_expansion_is_set_by_an_environment_variable(bundle_file, tmp_path,
                                                                 monkeypatch):
    bomb = zip_bomb(bundle_file, tmp_path / "bomb.skops", 2 << 20)
    monkeypatch.setenv("FEATX_MAX_BUNDLE_EXPANSION", "0")
    assert bundle.load(bundle_file).head == "logreg"                # featx's own: uncompressed
    with pytest.raises(FeatxError, match="refused: its members would unpack to 2 MiB"):
        bundle.load(bomb)
    monkeypatch.setenv("FEATX_MAX_BUNDLE_EXPANSION", str(4 << 20))
    assert bundle.load(bomb).head == "logreg"
    monkeypatch.setenv("FEATX_MAX_BUNDLE_EXPANSION", "4 MB")
    with pytest.raises(FeatxError, match="FEATX_MAX_BUNDLE_EXPANSION must be a number of bytes"):
        bundle.load(bundle_file)


def saved_as_version(bundle_file, path, version: str, monkeypatch):
    """``bundle_file`` saved again at ``path`` as if by featx ``version``."""
    model = bundle.load(bundle_file)
    monkeypatch.setattr(bundle, "__version__", version)
    bundle.save(path, model.model, model.features, model.head)
    monkeypatch.undo()
    return path


def test_a_bundle_from_a_newer_featx_is_refused(bundle_file, tmp_path, monkeypatch):
    from featx import __version__

    newer = saved_as_version(bundle_file, tmp_path / "newer.skops", "99.0", monkeypatch)
    with pytest.raises(FeatxError, match=rf"newer\.skops: refused: written by featx 99\.0, newer "
                                         rf"than this featx {__version__}; upgrade featx"):
        bundle.load(newer)


def test_a_bundle_from_an_older_featx_loads(bundle_file, tmp_path, monkeypatch):
    older = saved_as_version(bundle_file, tmp_path / "older.skops", "0.0.1", monkeypatch)
    assert bundle.load(older).classes == ["ants", "bees"]


@pytest.mark.parametrize("version", [None, "not a version"])
def test_a_bundle_without_a_featx_version_is_refused(bundle_file, tmp_path, version):
    model = bundle.load(bundle_file)
    data = {"format": bundle.FORMAT, "head": model.head, "model": model.model,
            "features": model.features}
    if version:
        data["featx_version"] = version
    path = tmp_path / "unversioned.skops"
    bundle.sio.dump(data, path)
    with pytest.raises(FeatxError, match="refused: the bundle names no valid featx version"):
        bundle.load(path)
@pytest.mark.parametrize("damage, message", [("a key missing", "model bundle lacks head"),
                                             ("an object array", "Object arrays cannot be")])
def test_a_damaged_bundle_is_one_line(damage, message, bundle_file, features_file, tmp_path,
                                      capsys):
    damaged = tmp_path / "damaged.skops"
    with zipfile.ZipFile(bundle_file) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if damage == "a key missing" and item.filename == "schema.json":
                data = data.replace(b'"head"', b'"heed"')
            if damage == "an object array" and item.filename.endswith(".npy"):
                data = _object_npy()
            dst.writestr(item, data)
    with pytest.raises(FeatxError, match=message):
        bundle.load(damaged)
    assert main(["predict", str(damaged), str(features_file), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"featx: error: {damaged}: ") and err.count("\n") == 1


def _object_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, "a"], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize("head", ["ridge", "lda"])
def test_ridge_and_lda_round_trip_through_a_bundle_and_predict(head, features_file, tmp_path):
    out = tmp_path / head
    assert main(["train", str(features_file), "--head", head, "--cv", "3", "--out", str(out),
                 "--quiet"]) == 0
    loaded = bundle.load(out / "model.skops")
    assert loaded.head == head and loaded.classes == ["ants", "bees"]
    assert main(["predict", str(out / "model.skops"), str(features_file), "--out",
                 str(tmp_path / "p"), "--quiet"]) == 0
    with (tmp_path / "p" / "predictions.csv").open() as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    with (out / "heldout_predictions.csv").open() as fh:
        held = list(csv.DictReader(fh))
    assert held and all(rows[r["path"]]["predicted"] == r["predicted"] for r in held)
