"""Fit heads on a feature file: grid search, held-out evaluation, reports and the model bundle.

>>> results = train("features.h5", ["logreg", "centroid"], "runs/demo", cv=2,
...                 log=lambda line: None)
>>> [r.head for r in results], sorted(os.listdir("runs/demo"))
(['logreg', 'centroid'], ['centroid', 'comparison.csv', 'logreg', 'model.skops', 'summary.json'])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from featx import SEED
from featx._text import format_table, write_csv, write_json
from featx.learn import bundle
from featx.learn.dataset import load_dataset
from featx.learn.report import comparison_row, cv_table, summary, untrained_note, write_report
from featx.learn.search import Result, best, evaluate


def train(features: str | os.PathLike, heads: Sequence[str], out: str | os.PathLike, *,
          cv: int = 5, scoring: str = "accuracy", n_jobs: int | None = None,
          test_size: float | None = None, grids: Mapping[str, Mapping] | None = None,
          seed: int = SEED, log: Callable[[str], object] = print) -> list[Result]:
    """Search, evaluate and report every head; write the best one's bundle to ``out``.

    The held-out rows are those of :func:`featx.learn.dataset.load_dataset`.
    """
    data = load_dataset(features, test_size, seed)
    log(f"{features}: train {len(data.y_train)}, held out {len(data.y_test)} "
        f"({data.held_out}); classes {', '.join(data.classes)}")
    if data.untrained:
        log(untrained_note(data).strip())
    results = []
    for name in heads:
        result = evaluate(name, data, cv=cv, scoring=scoring, n_jobs=n_jobs,
                          grid=(grids or {}).get(name), seed=seed)
        results.append(result)
        write_report(_folder(out, name, heads), result, data, scoring)
        gs = result.search
        log(f"\n{name}: {cv}-fold CV ({scoring})\n{cv_table(gs)}\nbest {gs.best_params_}: "
            f"CV {result.cv_score:.4f}, held-out accuracy {result.test_accuracy:.4f} "
            f"({result.seconds:.1f} s)")
    chosen = best(results)
    overview = summary(chosen, data, scoring)
    if len(results) > 1:
        rows = [comparison_row(r) for r in results]
        write_csv(os.path.join(out, "comparison.csv"), rows)
        overview["comparison"] = rows
        log(f"\n{format_table(rows)}\nbest head by CV score: {chosen.head}")
    write_json(os.path.join(out, "summary.json"), overview)
    bundle.save(os.path.join(out, "model.skops"), chosen.search.best_estimator_, data.meta,
                chosen.head)
    log(f"best head {chosen.head}: held-out accuracy {chosen.test_accuracy:.3f} on "
        f"{len(data.y_test)} images ({data.held_out})\nwrote {out}/summary.json, the model "
        f"bundle {out}/model.skops and the confusion matrix "
        f"{_folder(out, chosen.head, heads)}/confusion_matrix.png")
    return results


def _folder(out: str | os.PathLike, head: str, heads: Sequence[str]) -> str:
    """Where a head's reports go: ``out`` itself, or ``out/HEAD`` when several are compared."""
    return os.path.join(out, head) if len(heads) > 1 else os.fspath(out)
