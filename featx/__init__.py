"""featx: Keras backbones -> cached HDF5 feature vectors -> scikit-learn heads.

>>> import featx
>>> result = featx.embed("images", "new.h5", backbone="mobilenetv2", weights=None, input_size=32,
...                      progress=False)
>>> feats = featx.load("new.h5")
>>> feats.X.shape, feats.label_names
((16, 1280), ['ants', 'bees'])

The package reads as its dataflow (see docs/architecture.md): :mod:`featx.images` ->
:mod:`featx.backbones` -> :mod:`featx.store` -> :mod:`featx.embedding` -> :mod:`featx.learn` ->
:mod:`featx.auditing` -> :mod:`featx.report` -> :mod:`featx.finetuning` -> :mod:`featx.extractor`,
:mod:`featx.experiment` -> :mod:`featx.cli`.
"""

from importlib import import_module

__version__ = "0.1.0"

SEED = 0
"""The one random seed: random backbone weights, held-out splits, cross-validation folds, the
heads' estimators and the learning curves' draws all start from it."""

_EXPORTS = {
    "embed": "featx.embedding.run",
    "load": "featx.store.read",
    "list_images": "featx.images.sources",
    "FeatxError": "featx.errors",
    "FeatureExtractor": "featx.extractor",
    "load_xy": "featx.extractor",
    "make_head": "featx.learn.heads",
    "head_grid": "featx.learn.heads",
    "train": "featx.learn.train",
    "predict": "featx.learn.predict",
    "audit": "featx.auditing.run",
    "CORAL": "featx.learn.coral",
    "finetune": "featx.finetuning",
    "dask_backend": "featx._dask",
}


def __getattr__(name: str):
    """Import public names lazily, so ``import featx`` (and ``featx --help``) stays fast."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'featx' has no attribute {name!r}")
