"""featx: Keras backbones -> cached HDF5 feature vectors -> scikit-learn heads."""

__version__ = "0.1.0"
