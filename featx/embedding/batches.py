"""The runner: planned images -> bytes -> pixels -> the backbone -> content rows, batch by batch.

Reading and decoding run in threads, one batch ahead of the backbone. Each image is read whole
(:func:`featx.images.files.read_image`) and decoded from those bytes, so its features are stored
under the key of the bytes decoded, even if the file changed since planning. A file that cannot
be read is a failure of this run only; content that cannot be decoded, and NaN/Inf features, are
failures of that content, written with the batch so later runs skip it. Each batch goes to the
``write`` callable the runner is given (the journal's part writer in a local run; a shard's
buffer on a Dask worker, :mod:`featx.embedding.dask`), once per configuration of the backbone
(one forward pass computes several layers: :func:`featx.backbones.build.load_backbone`), and the
runner yields :class:`Done` records. An image whose features are NaN/Inf in any configuration
fails in all of them, so every configuration of a run holds the same images.

>>> from featx.backbones.build import load_backbone
>>> from featx.backbones.config import resolve
>>> from featx.embedding.plan import plan
>>> from featx.images.sources import list_images
>>> from featx.store.journal import ContentIndex
>>> net = load_backbone(resolve("mobilenetv2", weights=None, input_size=32))
>>> work = plan(list_images("images").items, ContentIndex.empty(), None, threads=2)
>>> todo = [(i, work.keyed[i]) for i in work.todo]
>>> parts = []
>>> steps = embed_batches(todo, net, lambda attrs, batch: parts.append(batch),
...                       RunOptions(batch_size=10, threads=2))
>>> [(done.embedded, done.images) for done in steps if done.images]
[(10, 10), (6, 6)]
>>> [len(batch.keys) for batch in parts]
[10, 6]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from io import BytesIO

import numpy as np

from featx.backbones.config import FeatureConfig
from featx.embedding.options import RunOptions
from featx.embedding.plan import Keyed
from featx.errors import FeatxError
from featx.images.decode import decode_image, describe_error
from featx.images.files import read_image
from featx.store.tables import Table

NAN_REASON = "backbone returned NaN/Inf features (broken weights?); not cached"


@dataclass
class Batch:
    """What one batch adds to the store: content rows, and content that failed with why."""

    keys: list[str]
    features: np.ndarray
    failed: Table


@dataclass
class Done:
    """What a step of a run did: rows ``embedded``; images taken off the todo list (``images``);
    for each image read, its key, size and mtime as read, or why it could not be read
    (``read``: todo position -> :class:`Keyed`); and content failures (``failed``: todo position
    -> reason)."""

    embedded: int = 0
    images: int = 0
    read: dict[int, Keyed] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class _Loaded:
    keyed: Keyed
    pixels: np.ndarray | None = None
    reason: str = ""  # why the bytes read do not decode


def embed_batches(todo: list[tuple[int, Keyed]], net, write: Callable[[dict, Batch], None],
                  options: RunOptions) -> Iterator[Done]:
    """Embed planned ``(position, keyed)`` images with ``net`` (a built backbone), batch by batch.

    Each batch's content rows (and content failures) go to ``write(attrs, batch)``, once per
    configuration of ``net`` (``attrs`` says which); how a batch's files were read, and which do
    not decode, is yielded before its forward pass, so it is recorded even if the run is
    interrupted there.
    """
    attrs = [config.attrs() for config in net.configs]
    with ThreadPoolExecutor(options.with_threads().threads) as pool:
        for batch, loading in _load_ahead(todo, pool, net.configs[0], options.batch_size):
            loaded = {position: future.result()
                      for (position, _), future in zip(batch, loading, strict=True)}
            for item in loaded.values():
                reason = item.keyed.error or item.reason
                if reason and options.on_error == "raise":
                    raise FeatxError(f"{item.keyed.item.path}: {reason}")
            read = Done(read={p: item.keyed for p, item in loaded.items()},
                        failed={p: item.reason for p, item in loaded.items() if item.reason})
            yield read  # bad files are known before the forward pass, even if it is interrupted
            rows = [p for p, item in loaded.items() if item.pixels is not None]
            outputs = (net.outputs(np.stack([loaded[p].pixels for p in rows])) if rows
                       else [np.empty((0, dim), np.float32) for dim in net.dims])
            finite = np.logical_and.reduce([np.isfinite(f).all(axis=1) for f in outputs])
            done = Done(images=len(batch), embedded=int(finite.sum()),
                        failed={rows[i]: NAN_REASON for i in np.flatnonzero(~finite)})
            failed = {**read.failed, **done.failed}
            if finite.any() or failed:
                keys = [loaded[p].keyed.key for p, ok in zip(rows, finite, strict=True) if ok]
                reasons = Table.make("failed", key=[loaded[p].keyed.key for p in failed],
                                     reason=list(failed.values()))
                for config_attrs, features in zip(attrs, outputs, strict=True):
                    write(config_attrs, Batch(keys, features[finite], reasons))
            yield done


def _load_ahead(todo: list, pool: ThreadPoolExecutor, config: FeatureConfig,
                batch_size: int) -> Iterator[tuple[list, list[Future]]]:
    """Yield batches with their loading futures, keeping the next batch loading meanwhile."""
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    queued: deque = deque()
    for batch in batches[:2]:
        queued.append((batch, [pool.submit(_load, k, config) for _, k in batch]))
    for batch in batches[2:] + [None]:
        yield queued.popleft()
        if batch is not None:
            queued.append((batch, [pool.submit(_load, k, config) for _, k in batch]))
    yield from queued


def _load(keyed: Keyed, config: FeatureConfig) -> _Loaded:
    """Read an image's bytes and decode them; never raises for a bad file."""
    try:
        image = read_image(keyed.item.path)
    except OSError as exc:
        return _Loaded(Keyed(keyed.item, error=describe_error(exc, keyed.item.origin)))
    read = replace(keyed, key=image.key, size=image.size, mtime=image.mtime)
    if not image.size:
        return _Loaded(Keyed(keyed.item, error="empty file (0 bytes)"))
    try:
        return _Loaded(read, decode_image(BytesIO(image.data), config.decode_size, config.resize))
    except Exception as exc:  # noqa: BLE001 (every decode failure is recorded)
        return _Loaded(read, reason=describe_error(exc))
