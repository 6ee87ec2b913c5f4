"""`featx train --head all` against a plain scikit-learn search of a logistic regression.

The feature file is shaped like a flower data set embedded with EfficientNet-Lite0 `avg_pool`:
1031 training and 329 held-out rows, 1280-d, 17 classes. Its class structure comes from
`sklearn.datasets.make_classification` (48 informative directions, 2 clusters per class); when
`../shared` is there, the latent directions are the principal directions of real Lite0 features
of the hymenoptera photos (embedded once, cached in the temp folder) and every feature is mapped
through the real feature's quantiles (a Gaussian copula), so each column has the real scale,
zero fraction and heavy tail that make solvers slow. Without `../shared` the columns are
rectified Gaussians. `--features FILE` benchmarks a labelled feature file instead.

Side by side, each in a fresh process (so each pays its own start of worker threads or
processes), `--repeats` times alternately; the line gives the median of each and the median of
the per-pair ratios (on a shared machine one lucky run moves a best-of ratio a lot):

* featx: `featx.learn.train.train(FILE, "all", OUT, cv=5, n_jobs=-1)`: the search, held-out
  evaluation, the reports with their confusion-matrix PNGs, and the bundle;
* plain: `GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()), C in 0.01..100
  (5 values), cv=5, n_jobs=-1).fit(X, y)`.

Library warnings are the lines of a child's stderr that Python's warnings module printed.

    python benchmarks/heads.py [--repeats 3] [--features FILE] [--featx-root DIR] [--smoke]

`--featx-root` times the featx of another checkout (e.g. main before this work) on the same
file; `--timeout` caps each featx run (a capped run prints `featx_all>=Ts`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
LITE0 = SHARED / "backbones" / "efficientnet_lite0_imagenet.keras"
HYMENOPTERA = SHARED / "data" / "hymenoptera"
FULL = {"n": 1360, "test": 329, "dim": 1280, "classes": 17, "informative": 48, "cv": 5}
SMOKE = {"n": 150, "test": 45, "dim": 24, "classes": 3, "informative": 6, "cv": 3}
PLAIN_C = [0.01, 0.1, 1.0, 10.0, 100.0]
WARNING_LINE = re.compile(r"^\S.*:\d+: \w*Warning: ")

FEATX_CHILD = """
import inspect, json, sys, time
from featx.learn.train import train
path, out, cv = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
results = train(path, "all", out, cv=cv, n_jobs=-1, log=lambda _: None)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "heads": [
    {"head": r.head, "cv": r.cv_score, "accuracy": r.test_accuracy, "seconds": r.seconds,
     "balanced": getattr(r, "test_balanced_accuracy", None)} for r in results],
    "chosen": json.load(open(out + "/summary.json"))["head"]}))
"""

PLAIN_CHILD = """
import json, sys, time
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from featx.extractor import load_xy
path, cv, held = sys.argv[1], int(sys.argv[2]), sys.argv[3]
X, y = load_xy(path, split="train")
start = time.perf_counter()
search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                      {"logisticregression__C": C_VALUES}, cv=cv, n_jobs=-1).fit(X, y)
seconds = time.perf_counter() - start
X_test, y_test = load_xy(path, split=held)
print(json.dumps({"seconds": seconds, "accuracy": search.score(X_test, y_test)}))
""".replace("C_VALUES", repr(PLAIN_C))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--features", help="a labelled feature file instead of the synthetic one")
    parser.add_argument("--featx-root", default=str(REPO), help="checkout whose featx is timed")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per featx run")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path is "
                        "printed): the feature file and each run's output")
    parser.add_argument("--smoke", action="store_true",
                        help="150 x 24, 3 classes, 3 folds, one repeat (meaningless figures)")
    args = parser.parse_args(argv)
    shape = SMOKE if args.smoke else FULL
    repeats = 1 if args.smoke else args.repeats
    with tempfile.TemporaryDirectory(prefix="featx-heads-") as temp:
        work = Path(tempfile.mkdtemp(prefix="featx-heads-")) if args.keep else Path(temp)
        path = Path(args.features) if args.features else work / "features.h5"
        if not args.features:
            write_synthetic(path, shape, None if args.smoke else real_features())
        featx_runs, plain_runs, warned = [], [], 0
        for i in range(repeats):
            run, lines = child(FEATX_CHILD, [path, work / f"out{i}", shape["cv"]],
                               args.featx_root, args.timeout)
            featx_runs.append(run)
            warned = max(warned, lines)
            run, _ = child(PLAIN_CHILD, [path, shape["cv"], held_out_split(path)], str(REPO),
                           None)
            plain_runs.append(run)
            if featx_runs[-1] is None:
                break
        if args.keep:
            print(f"# work folder: {work}")
        report(path, shape, featx_runs, plain_runs, warned, args.timeout)


def real_features() -> np.ndarray | None:
    """Lite0 `avg_pool` features of the hymenoptera photos (cached), one row per distinct photo
    in content-key order, or None without ../shared."""
    if not (LITE0.exists() and HYMENOPTERA.exists()):
        return None
    import featx

    cache = Path(tempfile.gettempdir()) / "featx-bench-hymenoptera-lite0-v2.h5"
    featx.embed(HYMENOPTERA, cache, backbone=str(LITE0), layer="avg_pool", progress=False)
    with featx.load(cache) as feats:
        keys, first = np.unique(feats.keys, return_index=True)
        return feats.X[first].astype(np.float64)


def write_synthetic(path: Path, shape: dict, real: np.ndarray | None, seed: int = 0) -> None:
    """make_classification's classes in the real features' directions and marginals."""
    from scipy.special import ndtr
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    n, dim = shape["n"], shape["dim"]
    rank = min(dim, len(real) - 1) if real is not None else min(dim, 400)
    Z, y = make_classification(n, rank, n_informative=shape["informative"], n_redundant=0,  # noqa: N806
                               n_classes=shape["classes"], n_clusters_per_class=2, class_sep=3.0,
                               flip_y=0.01, shuffle=False, random_state=seed)
    Z = (Z - Z.mean(0)) / Z.std(0)  # noqa: N806
    if real is not None:
        from sklearn.utils.extmath import svd_flip

        u, s, vt = np.linalg.svd(real - real.mean(0), full_matrices=False)
        vt = svd_flip(u, vt)[1]  # signs fixed, so the same photos give the same data
        scale, directions = s[:rank] / np.sqrt(len(real) - 1), vt[:rank]
    else:
        rng = np.random.default_rng(seed)
        scale = 1 / np.sqrt(np.arange(1, rank + 1))
        directions = np.linalg.qr(rng.normal(size=(dim, rank)))[0].T
    G = (Z * scale) @ directions  # noqa: N806
    G = (G - G.mean(0)) / G.std(0)  # noqa: N806
    if real is not None:
        X = np.stack([np.quantile(real[:, j], ndtr(G[:, j])) for j in range(dim)], axis=1)  # noqa: N806
    else:
        X = np.maximum(G - 0.2, 0)  # noqa: N806
    test = set(train_test_split(np.arange(n), test_size=shape["test"], stratify=y,
                                random_state=seed)[1])
    write_features(path, X.astype(np.float32), [f"class{c:02d}" for c in y],
                   ["test" if i in test else "train" for i in range(n)])


def write_features(path: Path, X: np.ndarray, labels: list[str], split: list[str]) -> None:  # noqa: N803
    """A store of one configuration (a stand-in model file) holding ``X`` under ``labels``."""
    from featx.store.journal import Journal, Update
    from featx.store.schema import config_name
    from featx.store.tables import Table
    from featx.store.write import Batch

    n = len(labels)
    attrs = {"backbone": "file", "model_file": "synthetic.keras", "layer": "avg_pool",
             "pooling": "avg", "input_size": [224, 224], "resize": "squash",
             "preprocess": "none", "weights": "", "weights_fingerprint": "sha256:synthetic",
             "featx_version": "0.1.0", "keras_version": "3", "tensorflow_version": "2",
             "created": "2026-01-01T00:00:00+00:00"}
    keys = [f"{i:032x}" for i in range(n)]
    with Journal(path) as journal:
        journal.write_part(attrs, Batch(keys, X, Table.empty("failed")))
        journal.commit(Update("/synthetic", Table.make(
            "entries", path=[f"/synthetic/{i}.jpg" for i in range(n)], label=labels,
            split=split, key=keys, size=[1] * n, mtime=[1] * n, error=[""] * n),
            config_name(attrs)))


def held_out_split(path: Path) -> str:
    import featx

    with featx.load(path) as feats:
        splits = {str(s).lower() for s in feats.split}
    return next(s for s in ("test", "val") if s in splits)


def child(code: str, argv: list, root: str, timeout: float | None) -> tuple[dict | None, int]:
    """Run ``code`` in a fresh interpreter importing featx from ``root``; its JSON line and the
    number of library-warning lines on its stderr (None when it ran past ``timeout``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(root), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run([sys.executable, "-c", code, *map(str, argv)], env=env, cwd=root,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, 0
    if proc.returncode:
        sys.exit(f"benchmark child failed:\n{proc.stderr}")
    warned = sum(bool(WARNING_LINE.match(line)) for line in proc.stderr.splitlines())
    return json.loads(proc.stdout.strip().splitlines()[-1]), warned


def report(path: Path, shape: dict, featx_runs: list, plain_runs: list, warned: int,
           timeout: float) -> None:
    import featx

    with featx.load(path) as feats:
        n_train, dim = int(np.sum(feats.split == "train")), feats.X.shape[1]
        classes = len(feats.label_names)
    plain = float(np.median([r["seconds"] for r in plain_runs]))
    print(f"# {path.name}: {n_train} train x {dim}, {classes} classes; {shape['cv']} folds")
    print(f"# plain LogisticRegression search: {_seconds(plain_runs)} s, "
          f"held-out accuracy {plain_runs[0]['accuracy']:.4f}")
    if any(r is None for r in featx_runs):
        print(f"heads featx_all>={timeout:.0f}s plain_logreg5={plain:.1f}s "
              f"ratio>={timeout / plain:.1f}")
        return
    print(f"# featx --head all: {_seconds(featx_runs)} s")
    run = featx_runs[0]
    for h in run["heads"]:
        balanced = f" balanced {h['balanced']:.4f}" if h["balanced"] is not None else ""
        print(f"#   {h['head']:<11} cv {h['cv']:.4f} held-out {h['accuracy']:.4f}{balanced} "
              f"{h['seconds']:.1f} s")
    top = max(run["heads"], key=lambda h: h["accuracy"])
    chosen = next(h for h in run["heads"] if h["head"] == run["chosen"])
    ratio = np.median([f["seconds"] / p["seconds"]
                       for f, p in zip(featx_runs, plain_runs, strict=True)])
    print(f"heads featx_all={np.median([r['seconds'] for r in featx_runs]):.1f}s "
          f"best_heldout={top['accuracy']:.4f} ({top['head']}) "
          f"chosen={chosen['head']}:{chosen['accuracy']:.4f} plain_logreg5={plain:.1f}s "
          f"ratio={ratio:.2f} library_warnings={warned}")


def _seconds(runs: list) -> str:
    return " ".join(f"{run['seconds']:.1f}" for run in runs)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"# benchmark took {time.perf_counter() - start:.0f} s", file=sys.stderr)
