"""Fine-tuning: the Keras transfer-learning recipe, measured against frozen features.

``featx.finetune(source, out, backbone=..., **options)`` (:func:`~featx.finetuning.run.finetune`)
writes a plain ``.keras`` classifier (:mod:`featx.learn.classifier` reads and applies it). The
modules, in the order a run uses them: :mod:`.options` (the run options), :mod:`.data` (rows,
splits, image pipelines), :mod:`.network` (the model, freezing, the head's start), :mod:`.loop`
(one training stage), :mod:`.run` (the whole recipe). The package is named ``finetuning`` so
that ``featx.finetune`` stays the function. Its names are imported lazily, so the command line
reads the options without importing scikit-learn or TensorFlow.
"""

from importlib import import_module

_EXPORTS = {"FinetuneOptions": "featx.finetuning.options",
            "FinetuneResult": "featx.finetuning.run", "finetune": "featx.finetuning.run"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'featx.finetuning' has no attribute {name!r}")
