"""The distributor on Dask: the runner of a local run, one shard of the todo list per task.

The client lists and plans as a local run does, so content already in ``OUT`` is never sent out.
The todo list is cut into shards of ``shard_size`` images, one Dask task each. A task embeds its
shard with :func:`featx.embedding.batches.embed_batches` and the backbone of its worker process
(built once per process and configuration), and writes it as one part file per configuration
``OUT.parts/part-RUN-SHARD-I.h5`` (storage shared by client and workers; several layers of one
forward pass are several configurations); a shard retried after a lost worker writes the same
files again. One part per shard, not per batch, keeps files on shared
storage few and the merge short. The client then merges the parts with
:meth:`Journal.commit <featx.store.journal.Journal.commit>`, as after a local run, so the file has
exactly the schema and rows of a local run. What each image's bytes were keyed as, and which
failed, come back with each shard's :class:`~featx.embedding.batches.Done`.

Dask is imported only when a client, scheduler or worker count is given (:mod:`featx._dask`).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from featx._dask import connect
from featx.backbones.config import FeatureConfig
from featx.embedding.batches import Done, embed_batches
from featx.embedding.options import RunOptions
from featx.embedding.plan import Keyed
from featx.errors import FeatxError
from featx.store.journal import write_part_file
from featx.store.schema import config_name
from featx.store.shards import parts_dir
from featx.store.tables import Table
from featx.store.write import Batch

if TYPE_CHECKING:
    from distributed import Client

RETRIES = 2


def embed_on_dask(todo: list[tuple[int, Keyed]],
                  config: FeatureConfig | tuple[FeatureConfig, ...], out: str | os.PathLike,
                  options: RunOptions, *, client: Client | str | None,
                  workers: int | None) -> Iterator[Done]:
    """Embed the planned ``todo`` on Dask, one task per shard, with ``config`` (or several
    configurations of one forward pass); yield each shard's
    :class:`~featx.embedding.batches.Done` as it completes."""
    if options.shard_size < 1:
        raise FeatxError(f"shard size must be at least 1, got {options.shard_size}")
    run = uuid.uuid4().hex[:8]
    size = options.shard_size
    shards = [todo[i:i + size] for i in range(0, len(todo), size)]
    with connect(client, workers) as dask:
        from distributed import as_completed

        task = functools.partial(embed_shard, config=config, out=os.path.abspath(out), run=run,
                                 options=options)
        futures = dask.map(task, shards, range(len(shards)), retries=RETRIES,
                           key=[f"featx-shard-{run}-{i:06d}" for i in range(len(shards))])
        try:
            for _, done in as_completed(futures, with_results=True):
                yield done
        finally:
            dask.cancel(futures)


def embed_shard(todo: list[tuple[int, Keyed]], shard: int, *,
                config: FeatureConfig | tuple[FeatureConfig, ...], out: str, run: str,
                options: RunOptions) -> Done:
    """On a worker: embed one shard into one part file per configuration; return what it
    did."""
    from featx.backbones.build import load_backbone

    kept: dict[str, tuple[dict, list[Batch]]] = {}

    def keep(batch_attrs: dict, batch: Batch) -> None:
        kept.setdefault(config_name(batch_attrs), (batch_attrs, []))[1].append(batch)

    shard_done = Done(images=len(todo))
    for done in embed_batches(todo, load_backbone(config), keep, options):
        shard_done.embedded += done.embedded
        shard_done.read.update(done.read)
        shard_done.failed.update(done.failed)
    for i, (attrs, batches) in enumerate(kept.values()):
        write_part_file(parts_dir(out) / f"part-{run}-{shard:06d}-{i}.h5", attrs, Batch(
            [k for b in batches for k in b.keys], np.concatenate([b.features for b in batches]),
            Table.concat([b.failed for b in batches])))
    return shard_done
