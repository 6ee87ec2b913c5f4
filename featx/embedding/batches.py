"""The runner: planned images -> decoded pixels -> the backbone -> rows, batch by batch.

Decoding runs in threads, one batch ahead of the backbone. Each batch's finite rows go to the
``write`` callable the runner is given (the journal's part writer in a local run; a shard's buffer
on a Dask worker, :mod:`featx.embedding.dask`), and the runner yields :class:`Done` records: how
many rows it embedded and which images failed.

>>> from featx.backbones.build import load_backbone
>>> from featx.backbones.config import resolve
>>> from featx.embedding.plan import plan
>>> from featx.images.sources import list_images
>>> from featx.store.read import Index
>>> net = load_backbone(resolve("mobilenetv2", weights=None, input_size=32))
>>> todo = plan(list_images("images").items, Index(), threads=2).todo
>>> parts = []
>>> steps = embed_batches(todo, net, lambda attrs, rows: parts.append(rows),
...                       RunOptions(batch_size=10, threads=2))
>>> [(done.embedded, done.images) for done in steps], [len(rows) for rows in parts]
([(10, 10), (6, 6)], [10, 6])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from featx.backbones.config import FeatureConfig
from featx.embedding.options import RunOptions
from featx.embedding.plan import row_values
from featx.errors import FeatxError
from featx.images.decode import decode_image, describe_error
from featx.store.schema import Failure, Rows


@dataclass
class Done:
    """What a step of a run did: rows ``embedded``, images that failed (``failures``), and images
    taken off the todo list (``images``)."""

    embedded: int = 0
    failures: list[Failure] = field(default_factory=list)
    images: int = 0


def embed_batches(todo: list, net, write: Callable[[dict, Rows], None],
                  options: RunOptions) -> Iterator[Done]:
    """Embed planned ``(item, key, stat)`` triples with ``net`` (a built backbone), batch by batch.

    Each batch's rows go to ``write(attrs, rows)``; a batch's decode failures are yielded before its
    forward pass, so they are recorded even if the run is interrupted there.
    """
    attrs = net.config.attrs()
    with ThreadPoolExecutor(options.with_threads().threads) as pool:
        for batch, decoded in _decode_ahead(todo, pool, net.config, options.batch_size):
            rows, pixels, failed = Rows.empty(net.dim), [], []
            for (item, key, stat), future in zip(batch, decoded, strict=True):
                try:
                    pixels.append(future.result())
                    rows.add(row_values(item, key, stat))
                except Exception as exc:  # noqa: BLE001 (every decode failure is recorded)
                    failure = Failure(item.path, describe_error(exc), key)
                    if options.on_error == "raise":
                        raise FeatxError(f"{failure.path}: {failure.reason}") from None
                    failed.append(failure)
            if failed:
                yield Done(failures=failed)
            done = Done(images=len(batch))
            if pixels:
                rows.features = net(np.stack(pixels))
                rows, done.failures = _finite(rows)
                if rows.keys:
                    write(attrs, rows)
                done.embedded = len(rows.keys)
            yield done


def _decode_ahead(todo: list, pool: ThreadPoolExecutor, config: FeatureConfig,
                  batch_size: int) -> Iterator[tuple[list, list[Future]]]:
    """Yield batches with their decode futures, keeping the next batch decoding meanwhile."""
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    queued: deque = deque()
    for batch in batches[:2]:
        queued.append((batch, _submit(pool, batch, config)))
    for batch in batches[2:] + [None]:
        yield queued.popleft()
        if batch is not None:
            queued.append((batch, _submit(pool, batch, config)))
    yield from queued


def _submit(pool: ThreadPoolExecutor, batch: list, config: FeatureConfig) -> list[Future]:
    return [pool.submit(decode_image, item.path, config.input_size, config.resize)
            for item, _, _ in batch]


def _finite(rows: Rows) -> tuple[Rows, list[Failure]]:
    """Never cache NaN/Inf features: the finite rows, and the others as failures with the
    reason."""
    finite = np.isfinite(rows.features).all(axis=1)
    failures = [Failure(rows.paths[i], "backbone returned NaN/Inf features (broken weights?); "
                        "not cached", rows.keys[i]) for i in np.flatnonzero(~finite)]
    return (rows if finite.all() else rows.take(np.flatnonzero(finite).tolist())), failures
