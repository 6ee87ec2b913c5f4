"""The fine-tuning run options: one value object, checked once, passed whole.

>>> opts = FinetuneOptions(unfreeze=2, augment="none")
>>> opts.unfreeze, opts.stage1_epochs, opts.validation
(2, 0, 'auto')
>>> FinetuneOptions(init="random").stage1_epochs
10
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from featx import SEED
from featx.errors import FeatxError

AUGMENTS = ("default", "none")
INITS = ("logreg", "random")
UNFREEZE_BY = ("block", "layer")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
VALIDATION_CHOICES = ("auto", "held-out")
RANDOM_INIT_HEAD_EPOCHS = 10


@dataclass(frozen=True)
class FinetuneOptions:
    """How to fine-tune (the feature configuration of the base is a separate value).

    * ``unfreeze``: stage 2 trains the top N blocks (or layers, ``unfreeze_by="layer"``) of the
      base, ``"all"`` for every one, ``0`` for no stage 2. BatchNormalization layers always stay
      frozen in inference mode.
    * ``augment``: ``"default"`` (random horizontal flip, rotation up to ``rotation`` of a turn,
      zoom up to ``zoom``) or ``"none"``.
    * ``init``: the new head starts from a logistic regression fitted on the frozen features
      (``"logreg"``: stage 1 is that fit) or from random weights (``"random"``: stage 1 trains it
      for ``head_epochs``, default 10).
    * ``epochs`` / ``learning_rate``: the most epochs and Adam's learning rate of stage 2;
      ``head_epochs`` / ``head_learning_rate`` those of stage 1 (extra head epochs after the
      logistic-regression start are allowed). Early stopping after ``patience`` epochs without a
      lower validation loss; the weights of the best epoch (or of the start) are kept.
    * ``validation``: early-stopping rows: ``"auto"`` (a second held-out-like split of the source
      if it has one, e.g. ``val`` when ``test`` is held out, else ``validation_fraction`` of the
      training rows, stratified), a fraction, or ``"held-out"`` (the held-out rows themselves:
      the reported held-out accuracy is then optimistic, and says so).
    * ``test_size``, ``drop_leaks``: the held-out rows, chosen as ``featx train`` chooses them
      (:func:`featx.learn.dataset.hold_out`): the source's ``test`` or ``val`` split, else (or
      when ``test_size`` is given) a stratified fraction of the labelled images; ``drop_leaks``
      leaves out held-out images with an exact copy among the training images.
    * ``precision``: ``"auto"`` is mixed float16 on a GPU that gains from it (compute capability
      7.0 or more), else float32; mixed precision on CPUs is slower (see benchmarks/README.md).
    * ``compare``: classical heads grid-searched on the frozen features for the comparison
      (``cv`` folds, as ``featx train`` does).
    * ``threads``: decoding threads (``None``: :func:`featx.embedding.options.decode_threads`).
    """

    unfreeze: int | str = 1
    unfreeze_by: str = "block"
    augment: str = "default"
    rotation: float = 0.05
    zoom: float = 0.1
    init: str = "logreg"
    head_epochs: int | None = None
    head_learning_rate: float = 1e-3
    epochs: int = 20
    learning_rate: float = 1e-4
    patience: int = 5
    batch_size: int = 32
    dropout: float = 0.2
    validation: str | float = "auto"
    validation_fraction: float = 0.2
    test_size: float | None = None
    drop_leaks: bool = False
    seed: int = SEED
    threads: int | None = None
    precision: str = "auto"
    compare: tuple[str, ...] = ("logreg",)
    cv: int = 5

    def __post_init__(self):
        _choice("augment", self.augment, AUGMENTS)
        _choice("init", self.init, INITS)
        _choice("unfreeze_by", self.unfreeze_by, UNFREEZE_BY)
        _choice("precision", self.precision, PRECISIONS)
        if not (self.unfreeze == "all" or (isinstance(self.unfreeze, int) and self.unfreeze >= 0)):
            raise FeatxError(f"unfreeze must be a number of blocks >= 0 or 'all', "
                             f"got {self.unfreeze!r}")
        for name in ("epochs", "batch_size", "patience", "cv"):
            if getattr(self, name) < 1:
                raise FeatxError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.head_epochs is not None and self.head_epochs < 0:
            raise FeatxError(f"head_epochs must be >= 0, got {self.head_epochs}")
        for name in ("learning_rate", "head_learning_rate"):
            if not getattr(self, name) > 0:
                raise FeatxError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("dropout", "rotation", "zoom"):
            if not 0 <= getattr(self, name) < 1:
                raise FeatxError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("validation_fraction", "test_size"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 1:
                raise FeatxError(f"{name} must be a fraction in (0, 1), got {value}")
        if isinstance(self.validation, str):
            _choice("validation", self.validation, VALIDATION_CHOICES)
        elif not 0 < self.validation < 1:
            raise FeatxError(f"validation must be auto, held-out or a fraction in (0, 1), "
                             f"got {self.validation}")
        if not self.compare:
            raise FeatxError("compare needs at least one classical head")

    @property
    def stage1_epochs(self) -> int:
        """Keras epochs of stage 1: ``head_epochs``, by default 0 after a logistic-regression
        start and 10 from random weights."""
        if self.head_epochs is not None:
            return self.head_epochs
        return 0 if self.init == "logreg" else RANDOM_INIT_HEAD_EPOCHS


def make_options(**options) -> FinetuneOptions:
    """:class:`FinetuneOptions` from keywords, an unknown one being a clear error."""
    known = {f.name for f in fields(FinetuneOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise FeatxError(f"unknown fine-tuning option(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(known))}")
    if "compare" in options:
        options["compare"] = tuple(options["compare"])
    return FinetuneOptions(**options)


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise FeatxError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
