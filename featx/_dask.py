"""Dask for featx: a client to run on (:func:`connect`), and joblib on Dask (:func:`dask_backend`).

:mod:`featx.embedding.dask` sends its shards through :func:`connect`; ``featx train --scheduler``
runs scikit-learn's ``n_jobs`` through :func:`dask_backend`. Dask is imported only when a client,
scheduler or worker count is given.

>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.model_selection import GridSearchCV
>>> X, y = [[0.0], [0.2], [0.4], [1.0], [1.2], [1.4]], [0, 0, 0, 1, 1, 1]
>>> with dask_backend(workers=1):
...     search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3, n_jobs=-1).fit(X, y)
>>> sorted(search.best_params_)
['C']
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from featx.errors import FeatxError

if TYPE_CHECKING:
    from distributed import Client


@contextmanager
def connect(client: Client | str | None = None, workers: int | None = None) -> Iterator[Client]:
    """Yield ``client`` itself, a client of the scheduler address ``client``, or one of a new
    ``LocalCluster`` of ``workers`` single-threaded processes; what is opened here is closed here.

    The local workers' TensorFlow gets an equal share of the cores (``TF_NUM_INTRAOP_THREADS``).
    """
    if (client is None) == (workers is None):
        raise FeatxError("give either a Dask client / scheduler address or a worker count")
    if workers is not None and workers < 1:
        raise FeatxError(f"workers must be at least 1, got {workers}")
    if client is not None and not isinstance(client, str):
        yield client
        return
    from distributed import Client, LocalCluster

    if isinstance(client, str):
        with Client(client) as opened:
            yield opened
        return
    share = {"TF_NUM_INTRAOP_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, env=share) as cluster:
        with Client(cluster) as opened:
            yield opened


@contextmanager
def dask_backend(scheduler: str | None = None, workers: int | None = None
                 ) -> Iterator[Client | None]:
    """Run joblib (scikit-learn's ``n_jobs``) on Dask inside the block; neither given: locally."""
    if scheduler is None and workers is None:
        yield None
        return
    import joblib

    with connect(scheduler, workers) as client, joblib.parallel_config(backend="dask"):
        yield client
