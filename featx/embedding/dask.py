"""Scale out on Dask: ``featx embed`` one shard per task, and a joblib backend for ``train``.

The client lists and plans as a local run does, so content already in ``OUT`` is never sent out.
The todo list is cut into shards of ``shard_size`` images, one Dask task each. A task embeds its
shard with the backbone of its worker process (built once per process and configuration) and
writes it as one part file ``OUT.parts/part-RUN-SHARD.h5`` (storage shared by client and
workers); a shard retried after a lost worker writes the same file again. One part per shard,
not per batch, keeps files on shared storage few and the merge short. The client then merges
the parts with :meth:`Journal.commit`, as after a local run, so the file has exactly the schema
and rows of a local run. Decode failures and NaN rows come back with each shard's result and
land in ``errors``.

Dask is imported only here, and only when a client, scheduler or worker count is given.

>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.model_selection import GridSearchCV
>>> with dask_backend(workers=2):  # doctest: +SKIP
...     GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, n_jobs=-1).fit(X, y)
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tqdm import tqdm

from featx.backbones.config import FeatureConfig
from featx.embedding.run import EmbedResult, embed_items
from featx.errors import FeatxError
from featx.store import journal
from featx.store import read as store

if TYPE_CHECKING:
    from distributed import Client


RETRIES = 2


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


def embed_on_dask(todo: list, config: FeatureConfig, out: str | os.PathLike, result: EmbedResult,
                  *, client: Client | str | None, workers: int | None, shard_size: int,
                  batch_size: int, threads: int, on_error: str, progress: bool) -> None:
    """Embed the planned ``todo`` on Dask, one task per shard, adding counts to ``result``."""
    if shard_size < 1:
        raise FeatxError(f"shard size must be at least 1, got {shard_size}")
    run = uuid.uuid4().hex[:8]
    shards = [todo[i:i + shard_size] for i in range(0, len(todo), shard_size)]
    with connect(client, workers) as dask:
        from distributed import as_completed

        task = functools.partial(embed_shard, config=config, out=os.path.abspath(out), run=run,
                                 batch_size=batch_size, threads=threads, on_error=on_error)
        futures = dask.map(task, shards, range(len(shards)), retries=RETRIES,
                           key=[f"featx-shard-{run}-{i:06d}" for i in range(len(shards))])
        try:
            with tqdm(total=len(todo), unit="img", disable=not progress, desc="embedding") as bar:
                for _, (embedded, failures, done) in as_completed(futures, with_results=True):
                    result.embedded += embedded
                    result.failures.extend(failures)
                    bar.update(done)
        finally:
            dask.cancel(futures)


def embed_shard(todo: list, shard: int, *, config: FeatureConfig, out: str, run: str,
                batch_size: int, threads: int, on_error: str
                ) -> tuple[int, list[store.Failure], int]:
    """On a worker: embed one shard into one part file; return (embedded, failures, length)."""
    result = EmbedResult(out, [], [])
    batches: list[store.Rows] = []
    attrs: dict = {}

    def keep(batch_attrs: dict, rows: store.Rows) -> None:
        attrs.update(batch_attrs)
        batches.append(rows)

    from featx.backbones.build import load_backbone

    embed_items(todo, load_backbone(config), keep, result, batch_size, threads, on_error,
                progress=False)
    if batches:
        part = journal.parts_dir(out) / f"part-{run}-{shard:06d}.h5"
        journal.write_part_file(part, attrs, store.concat(batches))
    return result.embedded, result.failures, len(todo)



