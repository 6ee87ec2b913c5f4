"""The fine-tuned classifier file: a plain ``.keras`` model with ``featx.json`` inside.

``featx finetune`` writes it (:mod:`featx.finetuning`); ``keras.models.load_model(path)`` reads it
like any Keras model (Keras ignores the extra member), and :func:`predict` (``featx predict
OUT.keras SOURCE``) classifies images with it. ``featx.json`` carries what the weights cannot: the
class names, the features layer, the input size and resize policy, the base's feature
configuration and the run's summary.

>>> import keras
>>> inputs = keras.Input((32, 32, 3))
>>> pooled = keras.layers.GlobalAveragePooling2D(name="pool")(inputs)
>>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
>>> save(model, "tiny.keras", {"classes": ["ants", "bees"], "features_layer": "pool",
...                            "input_size": [32, 32], "resize": "squash"})
>>> read_meta("tiny.keras")["classes"]
['ants', 'bees']
>>> preds = predict("tiny.keras", "images/val")
>>> len(preds.paths), preds.columns()
(8, ['path', 'label', 'predicted', 'proba_ants', 'proba_bees', 'error'])
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
from tqdm import tqdm

from featx import __version__
from featx.backbones.build import load_model_file, quiet_start
from featx.embedding.options import decode_threads
from featx.errors import FeatxError
from featx.images.decode import describe_error
from featx.images.pixels import decode_ahead
from featx.images.sources import list_images
from featx.learn.dataset import FEATURE_SUFFIXES
from featx.learn.predictions import Predictions, with_failures
from featx.store.schema import Failure

FORMAT = "featx-classifier"
META_NAME = "featx.json"
SUFFIX = ".keras"


def is_classifier_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a ``.keras`` model (a fine-tuned classifier, not a bundle)."""
    return os.fspath(path).lower().endswith(SUFFIX)


def save(model, path: str | os.PathLike, meta: dict) -> None:
    """Write ``model`` to ``path`` (atomically: a temporary file in the same folder, renamed)
    with ``meta`` as ``featx.json``."""
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp{SUFFIX}"
    try:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(META_NAME, json.dumps(
                {"format": FORMAT, "featx_version": __version__, **meta}, indent=2))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_meta(path: str | os.PathLike) -> dict:
    """The ``featx.json`` of a fine-tuned classifier file, or a one-line error."""
    try:
        with zipfile.ZipFile(path) as archive:
            if META_NAME not in archive.namelist():
                raise FeatxError(f"{path}: a Keras model without {META_NAME}, so without class "
                                 "names; only models written by `featx finetune` classify")
            meta = json.loads(archive.read(META_NAME))
    except FileNotFoundError:
        raise FeatxError(f"{path}: no such model file") from None
    except (zipfile.BadZipFile, IsADirectoryError):
        raise FeatxError(f"{path}: not a .keras model file (not a zip archive)") from None
    except json.JSONDecodeError as exc:
        raise FeatxError(f"{path}: {META_NAME} is not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FeatxError(f"{path}: {META_NAME} is not a featx classifier description")
    return meta


def load(path: str | os.PathLike):
    """``(keras model, meta)`` of a fine-tuned classifier file."""
    meta = read_meta(path)
    with quiet_start():
        return load_model_file(os.fspath(path)), meta


def predict(path: str | os.PathLike, source, batch_size: int = 32, progress: bool = False,
            threads: int | None = None) -> Predictions:
    """Classify every image of ``source`` (folder, list, paths) with a fine-tuned classifier:
    one row per listed image, in listing order, an image that cannot be decoded with its
    reason."""
    if isinstance(source, str | os.PathLike) and os.fspath(source).endswith(FEATURE_SUFFIXES):
        raise FeatxError(f"{path} classifies images, not feature files like {source}; for "
                         f"features, embed with --backbone {path} --layer <its features layer> "
                         "and train a head with `featx train`")
    model, meta = load(path)
    size, resize, classes = tuple(meta["input_size"]), meta["resize"], list(meta["classes"])
    items = list_images(source).items
    failures: list[Failure] = []
    done, scores = [], []
    batches = decode_ahead([i.path for i in items], size, resize, batch_size,
                           threads or decode_threads())
    with tqdm(total=len(items), unit="img", disable=not progress, desc="predicting") as bar:
        for start, batch in zip(range(0, len(items), batch_size), batches, strict=True):
            pixels = []
            for item, decoded in zip(items[start:start + batch_size], batch, strict=True):
                if isinstance(decoded, Exception):
                    failures.append(Failure(item.path, describe_error(decoded, item.origin)))
                else:
                    done.append(item)
                    pixels.append(decoded)
            if pixels:
                scores.append(np.asarray(model.predict_on_batch(np.stack(pixels)),
                                         dtype=float))
            bar.update(len(batch))
    proba = np.concatenate(scores) if scores else np.empty((0, len(classes)))
    predicted = [classes[i] for i in proba.argmax(axis=1)]
    table = Predictions([i.path for i in done], [i.label or "" for i in done], predicted,
                        [f"proba_{c}" for c in classes], proba)
    return with_failures(table, [i.path for i in items], [i.label or "" for i in items],
                         failures)
