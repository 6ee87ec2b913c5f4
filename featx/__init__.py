"""featx: Keras backbones -> cached HDF5 feature vectors -> scikit-learn heads.

>>> import featx
>>> result = featx.embed("data/demo", "demo.h5", backbone="efficientnet_lite0")  # doctest: +SKIP
>>> feats = featx.load("demo.h5")  # doctest: +SKIP
>>> feats.X.shape, feats.label_names  # doctest: +SKIP
((80, 1280), ['ants', 'bees'])
"""

from importlib import import_module

__version__ = "0.1.0"

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
}


def __getattr__(name: str):
    """Import public names lazily, so ``import featx`` (and ``featx --help``) stays fast."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'featx' has no attribute {name!r}")
