"""The engine behind ``featx embed``: sources -> decode -> backbone -> store, cached, resumable.

1. :func:`featx.sources.list_images` lists the images; :func:`featx.config.resolve` checks options.
2. A :class:`featx.journal.Journal` locks the output and reads what it already holds.
3. :func:`plan` gives every image its content key (from the stat cache, else by hashing its bytes)
   and keeps only unseen content; a fully cached run stops here, before importing TensorFlow.
4. :func:`_embed_batches` decodes in threads while the backbone runs on the previous batch and
   writes each batch as a journal part; :meth:`Journal.commit` merges them into the file.

>>> result = embed("data/demo", "demo.h5", backbone="mobilenetv2", weights=None)  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
demo.h5: embedded 80, reused 0, duplicates 0, failed 0 in 9.1 s (8.8 images/s)
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from tqdm import tqdm

from featx._hashing import file_key
from featx.backbones.config import FeatureConfig, resolve
from featx.errors import FeatxError
from featx.images.decode import decode_image, describe_error
from featx.images.sources import IMAGE_EXTENSIONS, Item, list_images
from featx.store import read as store
from featx.store.journal import Journal

ON_ERROR = ("skip", "raise")


@dataclass
class EmbedResult:
    """What one run did. ``keys`` has each listed image's content key (``None`` if it failed)."""

    out: str
    items: list[Item]
    keys: list[str | None]
    embedded: int = 0
    reused: int = 0
    duplicates: int = 0
    failures: list[store.Failure] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def summary(self) -> str:
        rate = f" ({self.embedded / self.seconds:.1f} images/s)" if self.embedded else ""
        stop = " (interrupted; rerun to finish)" if self.interrupted else ""
        return (f"{self.out}: embedded {self.embedded}, reused {self.reused}, duplicates "
                f"{self.duplicates}, failed {len(self.failures)} in {self.seconds:.1f} s"
                f"{rate}{stop}")

    def report(self, limit: int = 20) -> str:
        """The summary line, then up to ``limit`` failed images with their reasons."""
        lines = [self.summary()]
        lines += [f"  failed: {store.path_text(f.path)}: {f.reason}" for f in self.failures[:limit]]
        if len(self.failures) > limit:
            lines.append(f"  ... and {len(self.failures) - limit} more "
                         f"(see `featx info {self.out}`)")
        return "\n".join(lines)


@dataclass
class Plan:
    """The listed images split into: content to embed, rows to refresh, and failures."""

    todo: list[tuple[Item, str, os.stat_result]]
    seen: store.Rows
    failures: list[store.Failure]
    keys: list[str | None]
    reused: int
    duplicates: int


def embed(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    backbone: str = "resnet50",
    layer: str | None = None,
    pooling: str = "avg",
    input_size: int | tuple[int, int] | None = None,
    weights: str | os.PathLike | None = "imagenet",
    preprocess: str | None = None,
    resize: str = "squash",
    batch_size: int = 32,
    threads: int | None = None,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    recursive: bool = True,
    on_error: str = "skip",
    progress: bool = True,
    lock_timeout: float = 0,
    client=None,
    workers: int | None = None,
    shard_size: int = 256,
) -> EmbedResult:
    """Embed every image of ``source`` into the HDF5 feature file ``out`` (created or extended).

    Another process writing ``out`` makes this fail at once, or wait up to ``lock_timeout`` s.
    ``client`` (a ``distributed.Client`` or a scheduler address) or ``workers`` (a new local
    cluster of that many processes) embeds on Dask, ``shard_size`` images per task; see
    :mod:`featx.distributed`.
    """
    if on_error not in ON_ERROR:
        raise FeatxError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    if batch_size < 1:
        raise FeatxError(f"batch size must be at least 1, got {batch_size}")
    start = time.perf_counter()
    config = resolve(backbone, layer=layer, pooling=pooling, input_size=input_size,
                     weights=weights, preprocess=preprocess, resize=resize)
    listing = list_images(source, extensions, recursive)
    threads = threads or decode_threads()
    with Journal(out, config, lock_timeout) as journal:
        work = plan(listing.items, journal.index, threads)
        result = EmbedResult(os.fspath(out), listing.items, work.keys, reused=work.reused,
                             duplicates=work.duplicates, failures=work.failures)
        try:
            if work.todo and (client is not None or workers is not None):
                from featx.embedding.dask import embed_on_dask

                embed_on_dask(work.todo, config, out, result, client=client, workers=workers,
                              shard_size=shard_size, batch_size=batch_size, threads=threads,
                              on_error=on_error, progress=progress)
            elif work.todo:
                _embed_batches(work.todo, config, journal, result, batch_size, threads,
                               on_error, progress)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            journal.commit(work.seen, result.failures, {item.path for item in listing.items})
    result.seconds = time.perf_counter() - start
    return result


def decode_threads() -> int:
    """Default decode (and hashing) threads: ``$FEATX_THREADS``, else one per core, at most 32.

    TensorFlow sizes its own pools (intra-op: one thread per core; inter-op: likewise); override
    them with its ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` environment variables.
    """
    text = os.environ.get("FEATX_THREADS", "")
    if not text:
        return min(32, os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise FeatxError(f"FEATX_THREADS must be a positive integer, got {text!r}")
    return int(text)


def plan(items: Sequence[Item], index: store.Index, threads: int) -> Plan:
    """Key every item and sort it into todo / cached / duplicate / failed, reading no pixels.

    A cached row seen at a new path moves there; an unlabelled (or split-less) listing keeps the
    row's stored label (or split), so a plain list of paths never erases labels.
    """
    keyed = [_cached_key(item, index) for item in items]
    misses = [i for i, found in enumerate(keyed) if found is None]
    with ThreadPoolExecutor(threads) as pool:
        for i, found in zip(misses, pool.map(lambda i: _hashed_key(items[i]), misses),
                            strict=True):
            keyed[i] = found
    work = Plan([], store.Rows.empty(), [], [], 0, 0)
    claimed: set[str] = set()
    for item, (key, stat, error) in zip(items, keyed, strict=True):
        work.keys.append(key)
        if error:
            work.failures.append(store.Failure(item.path, error, key or ""))
        elif key in claimed:
            work.duplicates += 1
        elif key in index.failed:
            work.failures.append(store.Failure(item.path, index.failed[key], key))
        elif key in index.rows:
            work.reused += 1
            _, label, split, *_ = index.rows[key]
            if item.label is None or not item.split:
                item = replace(item, label=item.label or label, split=item.split or split)
            if index.rows[key] != (store.path_text(item.path), item.label, item.split,
                                   stat.st_size, stat.st_mtime_ns):
                _add_row(work.seen, item, key, stat)
        else:
            work.todo.append((item, key, stat))
        claimed.add(key)
    return work


def _cached_key(item: Item, index: store.Index) -> tuple | None:
    """``(key, stat, "")`` from the stat cache when size and mtime match, else ``None``.

    The rule: a file's bytes are re-hashed only when its size or modification time (ns) differ
    from those stored for its path; a fully cached rerun reads no image bytes at all.
    """
    cached = index.stats.get(store.path_text(item.path))
    if not cached:
        return None
    try:
        stat = os.stat(item.path)
    except OSError:
        return None
    return (cached[2], stat, "") if cached[:2] == (stat.st_size, stat.st_mtime_ns) else None


def _hashed_key(item: Item) -> tuple[str | None, os.stat_result | None, str]:
    """``(key, stat, error)`` by hashing the file's bytes; ``error`` says why it is unusable."""
    try:
        stat = os.stat(item.path)
        key = file_key(item.path)
    except OSError as exc:
        return None, None, describe_error(exc)
    return key, stat, "" if stat.st_size else "empty file (0 bytes)"


def _embed_batches(todo, config: FeatureConfig, journal: Journal, result: EmbedResult,
                   batch_size: int, threads: int, on_error: str, progress: bool) -> None:
    from featx.backbones.build import load_backbone

    embed_items(todo, load_backbone(config), journal.write_part, result, batch_size, threads,
                on_error, progress)


def embed_items(todo, net, write_part: Callable[[dict, store.Rows], None], result: EmbedResult,
                batch_size: int, threads: int, on_error: str, progress: bool) -> None:
    """Embed planned ``(item, key, stat)`` triples with ``net``, batch by batch.

    Each batch's rows go to ``write_part(attrs, rows)``; failures to ``result.failures``.
    """
    attrs = net.config.attrs()
    with ThreadPoolExecutor(threads) as pool, tqdm(
        total=len(todo), unit="img", disable=not progress, desc="embedding"
    ) as bar:
        for batch, decoded in _decode_ahead(todo, pool, net.config, batch_size):
            rows = store.Rows.empty(net.dim)
            pixels = []
            for (item, key, stat), future in zip(batch, decoded, strict=True):
                try:
                    pixels.append(future.result())
                    _add_row(rows, item, key, stat)
                except Exception as exc:  # noqa: BLE001 (every decode failure is recorded)
                    failure = store.Failure(item.path, describe_error(exc), key)
                    if on_error == "raise":
                        raise FeatxError(f"{failure.path}: {failure.reason}") from None
                    result.failures.append(failure)
            if pixels:
                rows.features = net(np.stack(pixels))
                rows = _drop_non_finite(rows, result.failures)
                if rows.keys:
                    write_part(attrs, rows)
                result.embedded += len(rows.keys)
            bar.update(len(batch))


def _decode_ahead(todo, pool: ThreadPoolExecutor, config: FeatureConfig,
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


def _submit(pool: ThreadPoolExecutor, batch, config: FeatureConfig) -> list[Future]:
    return [pool.submit(decode_image, item.path, config.input_size, config.resize)
            for item, _, _ in batch]


def _add_row(rows: store.Rows, item: Item, key: str, stat: os.stat_result) -> None:
    rows.paths.append(item.path)
    rows.labels.append(item.label)
    rows.split.append(item.split)
    rows.keys.append(key)
    rows.sizes.append(stat.st_size)
    rows.mtimes.append(stat.st_mtime_ns)


def _drop_non_finite(rows: store.Rows, failures: list[store.Failure]) -> store.Rows:
    """Never cache NaN/Inf features: those images become failures with the reason."""
    finite = np.isfinite(rows.features).all(axis=1)
    for i in np.flatnonzero(~finite):
        failures.append(store.Failure(rows.paths[i], "backbone returned NaN/Inf features "
                                      "(broken weights?); not cached", rows.keys[i]))
    return rows if finite.all() else rows.take(np.flatnonzero(finite).tolist())
