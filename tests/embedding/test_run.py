"""featx.embed (featx.embedding.run): every image embedded once, cached by content, failures
recorded."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import featx
from featx.backbones.build import load_backbone
from featx.backbones.config import resolve
from featx.errors import FeatxError
from featx.images.decode import decode_image
from featx.store.check import problems
from featx.store.read import configs
from tests.helpers import write_image


def embed_tiny(source, out, model, **options):
    options = {"layer": "pool", "batch_size": 4, "progress": False, **options}
    return featx.embed(source, out, backbone=str(model), **options)


def test_class_tree_gives_one_row_per_image_with_labels_and_splits(class_tree, tmp_path,
                                                                   tiny_model_file):
    result = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    feats = featx.load(tmp_path / "f.h5")
    assert (result.embedded, result.reused, result.failures) == (12, 0, [])
    assert feats.X.shape == (12, 8) and feats.X.dtype == np.float32
    assert feats.label_names == ["cats", "dogs"]
    assert sorted(set(feats.split)) == ["train", "val"]
    assert len(set(feats.keys)) == 12
    for path, label, split in zip(feats.paths, feats.y, feats.split, strict=True):
        assert Path(path).parent.name == feats.label_names[label]
        assert Path(path).parent.parent.name == split


def test_features_equal_the_backbone_on_decoded_images(class_tree, tmp_path, tiny_model_file):
    embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    feats = featx.load(tmp_path / "f.h5")
    net = load_backbone(resolve(str(tiny_model_file), layer="pool"))
    pixels = np.stack([decode_image(p, (32, 32)) for p in feats.paths])
    np.testing.assert_allclose(feats.X, net(pixels), atol=1e-6)


def test_file_attributes_record_the_full_configuration(class_tree, tmp_path, tiny_model_file):
    embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file, resize="pad")
    meta = featx.load(tmp_path / "f.h5").meta
    assert meta["backbone"] == "file" and meta["model_file"] == str(tiny_model_file)
    assert (meta["layer"], meta["pooling"], meta["resize"], meta["preprocess"]) == (
        "pool", "avg", "pad", "none")
    assert meta["input_size"] == [32, 32] and meta["feature_dim"] == 8
    assert meta["weights_fingerprint"].startswith("sha256:")
    for key in ("featx_version", "keras_version", "tensorflow_version", "created", "updated"):
        assert meta[key]


def test_rerun_embeds_nothing_and_leaves_the_file_untouched(class_tree, tmp_path,
                                                            tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file)
    before = out.stat().st_mtime_ns
    result = embed_tiny(class_tree, out, tiny_model_file)
    assert (result.embedded, result.reused) == (0, 12)
    assert out.stat().st_mtime_ns == before


def test_cached_rerun_does_not_import_tensorflow(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file)
    code = ("import sys, featx; r = featx.embed(sys.argv[1], sys.argv[2], backbone=sys.argv[3], "
            "layer='pool', progress=False); assert r.embedded == 0, r; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code, str(class_tree), str(out), str(tiny_model_file)],
                   check=True)


def test_moved_file_is_not_embedded_again_and_its_path_is_updated(class_tree, tmp_path,
                                                                  tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file)
    old = class_tree / "train" / "cats" / "cats0.jpg"
    new = class_tree / "train" / "dogs" / "renamed.jpg"
    old.rename(new)
    result = embed_tiny(class_tree, out, tiny_model_file)
    feats = featx.load(out)
    assert result.embedded == 0
    row = list(feats.paths).index(str(new))
    assert feats.label_names[feats.y[row]] == "dogs"
    assert str(old) not in set(feats.paths)


def test_changed_content_is_embedded_again(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file)
    write_image(class_tree / "val" / "dogs" / "dogs0.jpg", seed=999)
    result = embed_tiny(class_tree, out, tiny_model_file)
    assert (result.embedded, result.reused) == (1, 11)


def test_identical_bytes_at_two_paths_are_embedded_once_and_listed_twice(class_tree, tmp_path,
                                                                        tiny_model_file):
    shutil.copy(class_tree / "val" / "dogs" / "dogs0.jpg", class_tree / "val" / "dogs" / "copy.jpg")
    result = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    assert (result.embedded, result.duplicates, len(result.groups)) == (12, 1, 1)
    feats = featx.load(tmp_path / "f.h5")
    assert len(feats) == 13 and len(feats.unique_content()) == 12
    copies = feats.duplicates()[0].rows
    assert {Path(p).name for p in feats.paths[copies]} == {"dogs0.jpg", "copy.jpg"}
    np.testing.assert_array_equal(feats.X[copies[0]], feats.X[copies[1]])


def test_bad_files_land_in_errors_and_everything_else_is_embedded(class_tree, tmp_path,
                                                                 tiny_model_file):
    bad = class_tree / "train" / "cats"
    good = (bad / "cats0.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.png").write_text("not an image")
    result = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    reasons = {Path(f.path).name: f.reason for f in featx.load(tmp_path / "f.h5").errors}
    assert result.embedded == 12
    assert "truncated" in reasons["truncated.jpg"]
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert "not an image" in reasons["text.png"]
    rerun = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    assert (rerun.embedded, len(rerun.failures)) == (0, 3)


def test_on_error_raise_stops_at_the_first_bad_image(class_tree, tmp_path, tiny_model_file):
    (class_tree / "train" / "cats" / "bad.jpg").write_text("not an image")
    with pytest.raises(FeatxError, match="bad.jpg"):
        embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file, on_error="raise")


def test_another_configuration_is_kept_beside_the_first(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file, layer="conv")
    assert embed_tiny(class_tree, out, tiny_model_file, layer="conv", pooling="max").embedded == 12
    assert embed_tiny(class_tree, out, tiny_model_file, layer="conv", pooling="max").embedded == 0
    held = configs(out)
    assert sorted(attrs["pooling"] for attrs in held.values()) == ["avg", "max"]
    with pytest.raises(FeatxError, match="holds 2 configurations; choose one"):
        featx.load(out)
    avg, mx = (featx.load(out, resolve(str(tiny_model_file), layer="conv", pooling=p))
               for p in ("avg", "max"))
    assert len(avg) == len(mx) == 12 and list(avg.paths) == list(mx.paths)
    assert not np.allclose(avg.X, mx.X)


def test_new_classes_extend_label_names_and_keep_old_labels_right(class_tree, tmp_path,
                                                                  tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree / "train", out, tiny_model_file)
    write_image(class_tree / "train" / "ants" / "a.jpg", seed=500)
    embed_tiny(class_tree / "train", out, tiny_model_file)
    feats = featx.load(out)
    assert feats.label_names == ["ants", "cats", "dogs"]
    for path, label in zip(feats.paths, feats.y, strict=True):
        assert Path(path).parent.name == feats.label_names[label]


def test_interrupt_keeps_the_finished_batches(class_tree, tmp_path, tiny_model_file, monkeypatch):
    from featx.backbones import build as backbone

    calls = []
    original = backbone.Backbone.outputs

    def interrupt_on_second_batch(self, pixels):
        calls.append(len(pixels))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, pixels)

    monkeypatch.setattr(backbone.Backbone, "outputs", interrupt_on_second_batch)
    result = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    assert result.interrupted and result.embedded == 4
    assert len(featx.load(tmp_path / "f.h5")) == 4
    monkeypatch.setattr(backbone.Backbone, "outputs", original)
    assert embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file).embedded == 8


def test_nan_features_are_not_cached_but_their_failures_are_recorded(class_tree, tmp_path,
                                                                    nan_model_file):
    result = embed_tiny(class_tree, tmp_path / "f.h5", nan_model_file)
    assert result.embedded == 0 and len(result.failures) == 12
    assert "NaN/Inf" in result.failures[0].reason
    feats = featx.load(tmp_path / "f.h5")
    assert len(feats) == 0 and len(feats.errors) == 12
    assert "NaN/Inf" in feats.errors[0].reason


def test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_result(tmp_path, tiny_model_file):
    images = tmp_path / "many"
    for i in range(80):
        write_image(images / ("a" if i % 2 else "b") / f"{i:03d}.jpg", seed=i, size=(96, 80))
    reference = tmp_path / "reference.h5"
    embed_tiny(images, reference, tiny_model_file)

    out = tmp_path / "killed.h5"
    code = ("import sys, featx; featx.embed(sys.argv[1], sys.argv[2], backbone=sys.argv[3], "
            "layer='pool', batch_size=2, threads=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(images), str(out),
                             str(tiny_model_file)])
    parts = Path(f"{out}.parts")
    while proc.poll() is None and len(list(parts.glob("part-*.h5"))) < 5:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert len(list(parts.glob("part-*.h5"))) >= 5, "the run ended before it could be killed"

    result = embed_tiny(images, out, tiny_model_file)
    assert result.embedded < 80
    got, want = featx.load(out), featx.load(reference)
    assert sorted(got.keys) == sorted(want.keys)
    order_got, order_want = np.argsort(got.keys), np.argsort(want.keys)
    np.testing.assert_allclose(got.X[order_got], want.X[order_want], atol=1e-6)
    assert list(got.paths[order_got]) == list(want.paths[order_want])


def test_a_plain_path_list_keeps_stored_labels_and_splits(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file)
    before = featx.load(out)
    embed_tiny(list(before.paths[:4]), out, tiny_model_file)
    after = featx.load(out)
    assert sorted(after.paths) == sorted(before.paths)

    def labelled(feats):
        return {p: (feats.label_names[y], split)
                for p, y, split in zip(feats.paths, feats.y, feats.split, strict=True)}

    assert labelled(after) == labelled(before)
    embed_tiny(list(before.paths[:4]), out, tiny_model_file)
    assert labelled(featx.load(out)) == labelled(before)


def test_report_lists_failures_up_to_a_limit():
    from featx.embedding.run import EmbedResult
    from featx.store.schema import Failure

    result = EmbedResult("f.h5", [], [], failures=[Failure(f"/{i}.jpg", "bad")
                                                   for i in range(3)])
    lines = result.report(limit=2).splitlines()
    assert lines[1:] == ["  failed: /0.jpg: bad", "  failed: /1.jpg: bad",
                         "  ... and 1 more (see `featx info f.h5`)"]


def test_a_batch_interrupted_in_the_forward_pass_still_records_its_bad_images(
        class_tree, tmp_path, tiny_model_file, monkeypatch):
    from featx.backbones import build

    (class_tree / "train" / "cats" / "bad.jpg").write_text("not an image")

    def interrupt(self, pixels):
        raise KeyboardInterrupt

    monkeypatch.setattr(build.Backbone, "outputs", interrupt)
    result = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file, batch_size=16)
    assert result.interrupted and result.embedded == 0
    assert [Path(f.path).name for f in result.failures] == ["bad.jpg"]


def test_a_missing_file_in_a_list_is_reported_as_listed_but_absent(class_tree, tmp_path,
                                                                   tiny_model_file):
    listed = tmp_path / "l.csv"
    listed.write_text(f"path,label\n{class_tree / 'train' / 'cats' / 'cats0.jpg'},cats\n"
                      "nowhere/ghost.jpg,dogs\n")
    result = embed_tiny(listed, tmp_path / "f.h5", tiny_model_file)
    (failure,) = result.failures
    assert failure.path == str(tmp_path / "nowhere" / "ghost.jpg")
    assert failure.reason == f"listed in {listed} (line 3) but does not exist"
    assert result.embedded == 1


def test_an_image_over_the_pixel_limit_is_retried_once_the_limit_has_changed(
        class_tree, tmp_path, tiny_model_file, monkeypatch):
    write_image(class_tree / "train" / "cats" / "large.png", seed=7, size=(300, 200), fmt="PNG")
    monkeypatch.setenv("FEATX_MAX_PIXELS", "50000")
    first = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    (failure,) = first.failures
    assert failure.reason.startswith("refused over the pixel limit: 300x200 = 0.1 Mpx")
    assert "FEATX_MAX_PIXELS=50000" in failure.reason
    same = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)   # the refusal stands
    assert (same.embedded, same.reused, same.failures) == (0, 12, [failure])
    monkeypatch.setenv("FEATX_MAX_PIXELS", "60000")
    rerun = embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    assert (rerun.embedded, rerun.reused, rerun.failures) == (1, 12, [])
    assert featx.load(tmp_path / "f.h5").errors == []


def test_a_bad_pixel_limit_setting_stops_the_run_at_once(class_tree, tmp_path, tiny_model_file,
                                                         monkeypatch):
    monkeypatch.setenv("FEATX_MAX_PIXELS", "lots")
    with pytest.raises(FeatxError, match="FEATX_MAX_PIXELS must be a positive number of pixels"):
        embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file)
    assert not (tmp_path / "f.h5").exists()


@pytest.mark.parametrize("crashed", [False, True])
def test_an_output_inside_its_own_source_tree_is_not_listed(class_tree, tmp_path,
                                                            tiny_model_file, crashed):
    out = class_tree / "features.h5"
    first = embed_tiny(class_tree, out, tiny_model_file)
    if crashed:  # a part left behind by a killed run, waiting to be merged
        (class_tree / "features.h5.parts").mkdir(exist_ok=True)
        shutil.copy(out, class_tree / "features.h5.parts" / "part-0-000001.h5")
    rerun = embed_tiny(class_tree, out, tiny_model_file)
    assert (first.embedded, rerun.embedded, rerun.reused, rerun.failures) == (12, 0, 12, [])
    assert len(featx.load(out)) == 12


def test_an_image_replaced_during_the_run_is_keyed_by_the_bytes_decoded(
        class_tree, tmp_path, tiny_model_file, monkeypatch):
    """The ant is planned, then replaced by a bee before it is read: the row holds the bee's
    features under the bee's key; with the ant back, the ant is embedded as itself."""
    from featx.embedding import run as embedding_run

    out = tmp_path / "f.h5"
    ant = class_tree / "train" / "cats" / "cats0.jpg"
    bee = class_tree / "val" / "dogs" / "dogs0.jpg"
    ant_bytes = ant.read_bytes()
    planned = embedding_run.plan

    def plan_then_replace(*args, **kwargs):
        work = planned(*args, **kwargs)
        ant.write_bytes(bee.read_bytes())
        return work

    monkeypatch.setattr(embedding_run, "plan", plan_then_replace)
    embed_tiny(class_tree, out, tiny_model_file)
    monkeypatch.undo()
    feats = featx.load(out)
    row = list(feats.paths).index(str(ant))
    assert feats.keys[row] == feats.keys[list(feats.paths).index(str(bee))]
    ant.write_bytes(ant_bytes)
    assert embed_tiny(class_tree, out, tiny_model_file).embedded == 1
    feats = featx.load(out)
    net = load_backbone(resolve(str(tiny_model_file), layer="pool"))
    np.testing.assert_allclose(feats.X[list(feats.paths).index(str(ant))],
                               net(decode_image(ant, (32, 32))[None])[0], atol=1e-6)


def test_a_file_that_could_not_be_read_is_tried_again(class_tree, tmp_path, tiny_model_file,
                                                      monkeypatch):
    from featx.embedding import run as embedding_run

    out = tmp_path / "f.h5"
    moved = class_tree / "train" / "cats" / "cats1.jpg"
    away = tmp_path / "away.jpg"
    planned = embedding_run.plan

    def plan_then_move(*args, **kwargs):
        work = planned(*args, **kwargs)
        moved.rename(away)
        return work

    monkeypatch.setattr(embedding_run, "plan", plan_then_move)
    result = embed_tiny(class_tree, out, tiny_model_file)
    monkeypatch.undo()
    assert [f.reason for f in result.failures] == ["file vanished before it could be read"]
    away.rename(moved)
    again = embed_tiny(class_tree, out, tiny_model_file)
    assert (again.embedded, again.failures) == (1, [])
    assert len(featx.load(out)) == 12 and featx.load(out).errors == []


def test_a_first_run_where_every_image_fails_records_the_failures(tmp_path, tiny_model_file):
    bad = tmp_path / "bad"
    for i in range(3):
        (bad / "a").mkdir(parents=True, exist_ok=True)
        (bad / "a" / f"{i}.jpg").write_text("not an image")
    result = embed_tiny(bad, tmp_path / "f.h5", tiny_model_file)
    assert result.embedded == 0 and len(result.failures) == 3
    feats = featx.load(tmp_path / "f.h5")
    assert len(feats) == 0 and len(feats.errors) == 3


def test_a_run_stopped_by_an_error_keeps_what_it_embedded_and_passes_check(tmp_path,
                                                                           tiny_model_file):
    tree = tmp_path / "t"
    for i in range(6):
        write_image(tree / "ants" / f"a{i}.jpg", seed=i)
    (tree / "ants" / "a4.jpg").write_text("not an image")
    with pytest.raises(FeatxError, match="a4.jpg: not an image"):
        embed_tiny(tree, tmp_path / "f.h5", tiny_model_file, on_error="raise", batch_size=2)
    feats = featx.load(tmp_path / "f.h5")
    assert len(feats) + len(feats.missing) == 6 and len(feats) >= 2
    assert problems(tmp_path / "f.h5") == []  # not recorded as complete: nothing inconsistent
    result = embed_tiny(tree, tmp_path / "f.h5", tiny_model_file)  # the rerun finishes it
    assert len(featx.load(tmp_path / "f.h5")) == 5 and len(result.failures) == 1


# --- several layers in one run; augmented configurations ----------------------------------------


def test_several_layers_are_one_forward_pass_and_one_configuration_each(
        class_tree, tmp_path, tiny_model_file, monkeypatch):
    from featx.backbones import build

    calls = []
    original = build.Backbone.outputs
    monkeypatch.setattr(build.Backbone, "outputs", lambda self, x: calls.append(
        (len(self.configs), len(x))) or original(self, x))
    together = tmp_path / "together.h5"
    result = embed_tiny(class_tree, together, tiny_model_file, layer="conv,pool",
                        pooling="max")
    assert calls == [(2, 4)] * 3                        # every batch once, both layers at once
    assert result.embedded == 12 and len(result.configs) == 2
    assert len(configs(together)) == 2
    for layer, name in zip(("conv", "pool"), result.configs, strict=True):
        alone = tmp_path / f"{layer}.h5"
        embed_tiny(class_tree, alone, tiny_model_file, layer=layer, pooling="max")
        config = resolve(str(tiny_model_file), layer=layer, pooling="max")
        one, both = featx.load(alone), featx.load(together, config=config)
        assert both.config == name and both.meta["layer"] == layer
        assert list(both.paths) == list(one.paths) and list(both.y) == list(one.y)
        assert np.abs(both.X - one.X).max() <= 1e-5
    assert embed_tiny(class_tree, together, tiny_model_file, layer="conv,pool",
                      pooling="max").reused == 12   # a rerun embeds nothing


def test_a_new_layer_embeds_the_images_for_every_layer_of_the_run(class_tree, tmp_path,
                                                                  tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file, layer="pool")
    result = embed_tiny(class_tree, out, tiny_model_file, layer="conv,pool")
    assert result.embedded == 12 and len(configs(out)) == 2
    assert len(featx.load(out, config=resolve(str(tiny_model_file), layer="pool"))) == 12


def test_configurations_of_different_forward_passes_are_separate_runs(class_tree, tmp_path,
                                                                      tiny_model_file):
    from featx.embedding.run import run

    configs_ = [resolve(str(tiny_model_file), layer="pool", resize=r) for r in ("squash", "pad")]
    with pytest.raises(FeatxError, match="differ only in layer and pooling"):
        run(configs_, class_tree, tmp_path / "f.h5")


def test_flip_rows_are_never_served_to_a_configuration_without_flip(class_tree, tmp_path,
                                                                    tiny_model_file):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree, out, tiny_model_file, augment="flip")
    plain = resolve(str(tiny_model_file), layer="pool")
    with pytest.raises(FeatxError, match="holds no features of this configuration"):
        featx.load(out, config=plain)
    assert embed_tiny(class_tree, out, tiny_model_file).embedded == 12   # not reused
    flipped = featx.load(out, config=resolve(str(tiny_model_file), layer="pool",
                                             augment="flip"))
    unflipped = featx.load(out, config=plain)
    assert flipped.meta["augment"] == "flip" and unflipped.meta["augment"] == "none"
    assert not np.allclose(flipped.X, unflipped.X)


def test_flip_features_are_the_mean_of_the_image_and_its_mirror(tmp_path, tiny_model_file):
    from PIL import Image

    image = write_image(tmp_path / "images" / "a.png", seed=3, size=(48, 40), fmt="PNG")
    Image.open(image).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        tmp_path / "images" / "mirror.png")
    plain = embed_tiny(tmp_path / "images", tmp_path / "plain.h5", tiny_model_file)
    embed_tiny(tmp_path / "images", tmp_path / "flip.h5", tiny_model_file, augment="flip")
    rows = featx.load(tmp_path / "plain.h5").by_keys(plain.keys)
    flip = featx.load(tmp_path / "flip.h5").by_keys(plain.keys[:1])
    np.testing.assert_allclose(flip[0], rows.mean(axis=0), rtol=0, atol=1e-5)


def test_preview_counts_what_a_run_would_embed_without_writing(class_tree, tmp_path,
                                                               tiny_model_file):
    from featx.embedding.run import preview

    out = tmp_path / "f.h5"
    config = resolve(str(tiny_model_file), layer="pool")
    work = preview(config, class_tree, out)
    assert (len(work.todo), work.reused) == (12, 0) and not out.exists()
    embed_tiny(class_tree, out, tiny_model_file)
    both = [config, resolve(str(tiny_model_file), layer="conv")]
    assert (len(preview(config, class_tree, out).todo), preview(both, class_tree, out).reused) \
        == (0, 0)
    assert len(preview(both, class_tree, out).todo) == 12
