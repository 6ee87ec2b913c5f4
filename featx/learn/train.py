"""Fit heads on a feature file: grid search, held-out evaluation, reports and the model bundle.

The layout of ``out`` is the same for one head or several: ``out/HEAD/`` holds each head's
reports (:func:`featx.learn.report.write_report`; the confusion-matrix PNG in the best head's
only); ``out`` itself the comparison of the heads,
the summary and held-out predictions of the best one and its bundle, ``model.skops``. The best
head is chosen by :func:`featx.learn.search.best` (highest CV score, then a fixed tie-break).

>>> results = train("features.h5", ["logreg", "centroid"], "runs/demo", cv=2,
...                 log=lambda line: None)
>>> [r.head for r in results], sorted(os.listdir("runs/demo"))  # doctest: +NORMALIZE_WHITESPACE
(['logreg', 'centroid'], ['centroid', 'comparison.csv', 'heldout_predictions.csv', 'logreg',
  'model.skops', 'summary.json'])
"""

from __future__ import annotations

import difflib
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from featx import SEED
from featx._text import format_table, write_csv, write_json
from featx.errors import FeatxError
from featx.learn import bundle
from featx.learn.adapt import adapt
from featx.learn.dataset import Dataset, load_dataset
from featx.learn.heads import HEADS, describe, select_heads
from featx.learn.predictions import Predictions
from featx.learn.report import (
    HELDOUT_PREDICTIONS,
    best_params,
    comparison_row,
    plot_report,
    summary,
    untrained_note,
    write_report,
)
from featx.learn.search import Result, best, held_out, search_heads


@dataclass
class Training:
    """A finished :func:`train`: the feature file, the output folder, the data set, every head's
    result and held-out predictions (by head), and the chosen result."""

    features: str
    out: str
    data: Dataset
    results: list[Result]
    heldout: dict[str, Predictions]
    chosen: Result


def train(features: str | os.PathLike, heads: str | Sequence[str], out: str | os.PathLike, *,
          cv: int = 5, scoring: str = "accuracy", n_jobs: int | None = None,
          test_size: float | None = None, grids: Mapping[str, Mapping] | None = None,
          seed: int = SEED, log: Callable[[str], object] = print,
          quiet: bool = False, config: str | None = None,
          drop_leaks: bool = False, adapt_to: str | os.PathLike | None = None,
          report: Callable[[Training], str] | None = None, halving: bool = False,
          progress: bool = False) -> list[Result]:
    """Search, evaluate and report every head of ``heads`` (names, or ``"all"``); write the best
    one's bundle to ``out``. ``quiet`` logs only the outcome and warnings, not a line per head;
    ``progress`` shows a bar per head on stderr; ``halving`` searches each head's grid by
    successive halving (:func:`featx.learn.search.search_heads`). ``report`` writes a page of
    the finished :class:`Training` and returns its path (``featx train`` passes
    :func:`featx.report.train_page.report_training`).

    The held-out rows are those of :func:`featx.learn.dataset.load_dataset` (with its
    ``config`` and ``drop_leaks``); its warnings about exact duplicates are logged first, and
    a fit's warning worth acting on is one line naming the head and its parameters.
    ``adapt_to``, a feature file of a target domain: the heads train on the training rows mapped
    onto it by CORAL and are scored on its labelled rows, next to the same search without
    adaptation (:func:`featx.learn.adapt.adapt`).
    """
    heads = select_heads(heads)
    check_search_options(cv, scoring, n_jobs)
    data = load_dataset(features, test_size, seed, config, drop_leaks)
    plain = None
    if adapt_to is not None:
        data, plain = adapt(data, adapt_to)
    for warning in data.warnings:
        log(f"warning: {warning}")
    os.makedirs(out, exist_ok=True)
    if not quiet:
        log(f"{features}: train {len(data.y_train)}, held out {len(data.y_test)} "
            f"({data.held_out}); classes {', '.join(data.classes)}")
    if data.untrained:
        log(untrained_note(data).strip())
    start = time.perf_counter()
    evaluated, tables = {}, {}
    options = dict(cv=cv, scoring=scoring, n_jobs=n_jobs, grids=grids, seed=seed,
                   halving=halving)

    def reported(found) -> None:
        result = evaluated[found.head] = held_out(found, data)
        tables[found.head] = write_report(os.path.join(out, found.head), result, data, scoring,
                                          figure=False)

    search_heads(heads, data.X_train, data.y_train, progress=progress, on_result=reported,
                 **options)
    results = [evaluated[name] for name in heads]
    unadapted = {}
    if plain is not None:
        for name, found in search_heads(heads, plain.X_train, plain.y_train, **options).items():
            unadapted[name] = held_out(found, plain).test_accuracy
            log_warnings(found.warnings, log, " (without adaptation)")
    for result in results:
        without = (f"; without adaptation {unadapted[result.head]:.4f}" if unadapted else "")
        if not quiet:
            log(f"{result.head}: CV {scoring} {result.cv_score:.4f} ± {result.cv_std:.4f}, "
                f"held-out accuracy {result.test_accuracy:.4f}, balanced accuracy "
                f"{result.test_balanced_accuracy:.4f}{without} ({result.seconds:.1f} s), best "
                f"{describe(best_params(result)) or '(no grid)'}")
        log_warnings(result.search.warnings, log)
    chosen = best(results)
    plot_report(os.path.join(out, chosen.head), chosen, data)
    rows = [{**comparison_row(r), **({"unadapted_accuracy": round(unadapted[r.head], 4)}
                                     if unadapted else {})} for r in results]
    write_csv(os.path.join(out, "comparison.csv"), rows)
    adaptation = {"unadapted_accuracy": unadapted[chosen.head]} if unadapted else {}
    write_json(os.path.join(out, "summary.json"), {**summary(chosen, data, scoring),
                                                   **adaptation, "comparison": rows})
    shutil.copyfile(os.path.join(out, chosen.head, HELDOUT_PREDICTIONS),
                    os.path.join(out, HELDOUT_PREDICTIONS))
    bundle.save(os.path.join(out, "model.skops"), chosen.search.best_estimator_, data.meta,
                chosen.head)
    if len(results) > 1 and not quiet:
        shown = [{**row, "best_params": describe(best_params(r)) or "(no grid)"}
                 for row, r in zip(rows, results, strict=True)]
        log(f"\n{format_table(shown)}\n{len(results)} heads in {time.perf_counter() - start:.1f} s "
            "(seconds per head: the CPU time of its fits)")
    tied = [r.head for r in results
            if r is not chosen and round(r.cv_score, 9) == round(chosen.cv_score, 9)]
    wrong = int(sum(data.y_test != chosen.y_pred))
    log(f"best head {chosen.head}: held-out accuracy {chosen.test_accuracy:.3f}, balanced "
        f"accuracy {chosen.test_balanced_accuracy:.3f} on {len(data.y_test)} images "
        f"({data.held_out}), {wrong} misclassified"
        + (f"; without adaptation {unadapted[chosen.head]:.3f}" if unadapted else ""))
    if tied:
        log(f"  (tied on CV {scoring} with {', '.join(tied)}: chosen by the smaller spread "
            f"across folds, then the order {', '.join(HEADS)})")
    page = report(Training(os.fspath(features), os.fspath(out), data, results, tables,
                           chosen)) if report else None
    log(f"wrote {os.path.join(out, 'model.skops')}, {os.path.join(out, 'summary.json')}, "
        f"{os.path.join(out, HELDOUT_PREDICTIONS)}{f', {page}' if page else ''} and the reports "
        f"in {os.path.join(out, chosen.head)}")
    return results


def log_warnings(lines: Sequence[str], log: Callable[[str], object], where: str = "") -> None:
    """Log each warning line of a search (``where``: which search, when there are two)."""
    for line in lines:
        log(f"warning: {line}{where}")


def check_search_options(cv: int, scoring: str, n_jobs: int | None, repeats: int = 1) -> None:
    """Refuse cross-validation folds (or shuffles of them), a scorer or a job count
    scikit-learn would not take."""
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise FeatxError(f"cv must be a whole number of folds, at least 2, got {cv!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise FeatxError(f"repeats must be a whole number of shuffles, at least 1, got "
                         f"{repeats!r}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                               or n_jobs == 0):
        raise FeatxError(f"n_jobs must be a positive number of parallel fits, or -1 for one "
                         f"per core (-2 all but one, ...), got {n_jobs!r}")
    if isinstance(scoring, str):
        from sklearn.metrics import get_scorer_names

        known = get_scorer_names()
        if scoring not in known:
            close = [n for n in known if n.startswith(scoring)]
            close += difflib.get_close_matches(scoring, known, n=3)
            hint = (f"did you mean {', '.join(dict.fromkeys(close[:3]))}?" if close else
                    "see sklearn.metrics.get_scorer_names()")
            raise FeatxError(f"unknown scoring {scoring!r}; {hint}")
