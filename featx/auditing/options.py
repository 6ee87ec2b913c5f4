"""How to audit, as one value: which checks, the near-duplicate threshold, the label check's head
and folds, and the outlier rule.

>>> options = AuditOptions(checks=("exact", "near"), threshold=0.1)
>>> options.runs("labels"), options.threshold
(False, 0.1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from featx import SEED
from featx.errors import FeatxError

CHECKS = ("exact", "near", "labels", "outliers")

# The cosine distance under which two feature vectors are near duplicates: calibrated on
# hymenoptera with EfficientNet-Lite0 avg_pool features (docs/audit.md,
# benchmarks/near_duplicate_threshold.py): 92-93% of resized or re-encoded copies, no pair of
# distinct photos.
DEFAULT_THRESHOLD = 0.15
DEFAULT_HEAD = "logreg"
DEFAULT_FOLDS = 5
DEFAULT_NEIGHBOURS = 5
# The modified z-score (Iglewicz and Hoaglin) over which a k-NN distance marks an outlier.
DEFAULT_OUTLIER_Z = 3.5


@dataclass(frozen=True)
class AuditOptions:
    """``checks`` to run (of :data:`CHECKS`); near duplicates: cosine distance at most
    ``threshold``; label errors: ``head`` cross-validated in ``folds`` folds (shuffled with
    ``seed``); outliers: mean distance to the ``neighbours`` nearest of the class, robust z over
    ``outlier_z``. A bad value is a one-line :class:`FeatxError`."""

    checks: tuple[str, ...] = CHECKS
    threshold: float = DEFAULT_THRESHOLD
    head: str = DEFAULT_HEAD
    folds: int = DEFAULT_FOLDS
    neighbours: int = DEFAULT_NEIGHBOURS
    outlier_z: float = DEFAULT_OUTLIER_Z
    seed: int = SEED

    def __post_init__(self) -> None:
        from featx.learn.heads import get_head

        checks = (self.checks,) if isinstance(self.checks, str) else tuple(self.checks)
        object.__setattr__(self, "checks", tuple(dict.fromkeys(checks)))
        unknown = [c for c in self.checks if c not in CHECKS]
        if unknown or not self.checks:
            raise FeatxError(f"unknown check(s) {', '.join(unknown) or '(none given)'}; choose "
                             f"from {', '.join(CHECKS)}")
        if not 0 <= self.threshold < 2:
            raise FeatxError(f"threshold is a cosine distance in [0, 2), got {self.threshold}")
        if self.folds < 2:
            raise FeatxError(f"folds must be at least 2, got {self.folds}")
        if self.neighbours < 1:
            raise FeatxError(f"neighbours must be at least 1, got {self.neighbours}")
        if not np.isfinite(self.outlier_z) or self.outlier_z <= 0:
            raise FeatxError(f"outlier z must be a positive number, got {self.outlier_z}")
        get_head(self.head)

    def runs(self, check: str) -> bool:
        return check in self.checks
