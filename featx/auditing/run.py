"""``featx.audit``: run the checks of an :class:`~featx.auditing.options.AuditOptions` on cached
features, without re-embedding.

:func:`audit` takes keywords (the Python interface); :func:`run` takes the input and the options
whole (the command line builds them once).

>>> result = audit("features.h5", checks=["exact", "near"], threshold=0.1)
>>> len(result.data), result.options.checks, result.counts()["exact-duplicate"]
(16, ('exact', 'near'), 0)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from featx import SEED
from featx.auditing.data import AuditInput
from featx.auditing.duplicates import exact_duplicates, link_groups, near_duplicates
from featx.auditing.findings import Audit
from featx.auditing.labels import label_errors
from featx.auditing.options import (
    CHECKS,
    DEFAULT_FOLDS,
    DEFAULT_HEAD,
    DEFAULT_NEIGHBOURS,
    DEFAULT_OUTLIER_Z,
    DEFAULT_THRESHOLD,
    AuditOptions,
)
from featx.auditing.outliers import outliers
from featx.store.read import load


def audit(features, *, config=None, checks: Sequence[str] = CHECKS,
          threshold: float = DEFAULT_THRESHOLD, head: str = DEFAULT_HEAD,
          folds: int = DEFAULT_FOLDS, neighbours: int = DEFAULT_NEIGHBOURS,
          outlier_z: float = DEFAULT_OUTLIER_Z, seed: int = SEED) -> Audit:
    """Audit ``features``: a feature file's path (its configuration ``config`` when it holds
    several), a :func:`featx.load` result or an :class:`AuditInput`. The keywords are those of
    :class:`AuditOptions`."""
    options = AuditOptions(checks, threshold, head, folds, neighbours, outlier_z, seed)
    return run(as_input(features, config), options)


def as_input(features, config=None) -> AuditInput:
    """An :class:`AuditInput` from a path, a loaded feature file, or one already."""
    if isinstance(features, AuditInput):
        return features
    if isinstance(features, str | os.PathLike):
        with load(features, config) as feats:
            return AuditInput.from_features(feats)
    return AuditInput.from_features(features)


def run(data: AuditInput, options: AuditOptions) -> Audit:
    """Every check of ``options`` on ``data``, the findings in the order of the checks."""
    start = time.perf_counter()
    findings, notes, probabilities = [], [], None
    if data.unembedded:
        notes.append(f"{len(data.unembedded)} listed images have no features (they failed to "
                     f"embed, or were not embedded with this configuration) and are not audited; "
                     f"`featx info {data.source}` lists them")
    if options.runs("near") or options.runs("labels"):
        groups, widest = link_groups(data, options.threshold)
    if options.runs("exact"):
        findings += exact_duplicates(data)
    if options.runs("near"):
        findings += near_duplicates(data, groups, widest)
    if options.runs("labels"):
        found, probabilities, more = label_errors(data, options, groups)
        findings += found
        notes += more
    if options.runs("outliers"):
        found, more = outliers(data, options.neighbours, options.outlier_z)
        findings += found
        notes += more
    return Audit(data, options, findings, probabilities, notes, time.perf_counter() - start)
