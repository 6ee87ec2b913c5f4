"""Plan a run: key every listed image and sort it into todo, cached, duplicate or failed, reading
no pixels.

An image is known by the hash of its bytes (:func:`featx._hashing.content_key`); the bytes are
re-hashed only when the file's size or modification time (ns) differ from those stored for its
path, so a fully cached rerun reads no image bytes at all.

>>> from featx.images.sources import list_images
>>> from featx.store.read import Index
>>> work = plan(list_images("images").items, Index(), threads=2)
>>> len(work.todo), work.reused, work.duplicates, work.failures
(16, 0, 0, [])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from featx._hashing import content_key
from featx.images.decode import describe_error, stale_refusal
from featx.images.sources import Item
from featx.store.read import Index
from featx.store.schema import Failure, Rows, entry, path_text


@dataclass
class Plan:
    """The listed images split into: content to embed (``todo``, as ``(item, key, stat)``), rows to
    refresh (``seen``: cached content at a new path, label or split), and failures; ``keys`` has
    each listed image's content key (``None`` if it could not be read)."""

    todo: list[tuple[Item, str, os.stat_result]]
    seen: Rows
    failures: list[Failure]
    keys: list[str | None]
    reused: int
    duplicates: int


def plan(items: Sequence[Item], index: Index, threads: int) -> Plan:
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
    work = Plan([], Rows.empty(), [], [], 0, 0)
    claimed: set[str] = set()
    for item, (key, stat, error) in zip(items, keyed, strict=True):
        work.keys.append(key)
        if error:
            work.failures.append(Failure(item.path, error, key or ""))
        elif key in claimed:
            work.duplicates += 1
        elif key in index.failed and not stale_refusal(index.failed[key]):
            work.failures.append(Failure(item.path, index.failed[key], key))
        elif key in index.rows:
            work.reused += 1
            _, label, split, *_ = index.rows[key]
            if item.label is None or not item.split:
                item = replace(item, label=item.label or label, split=item.split or split)
            row = row_values(item, key, stat)
            if index.rows[key] != entry(row):
                work.seen.add(row)
        else:
            work.todo.append((item, key, stat))
        claimed.add(key)
    return work


def row_values(item: Item, key: str, stat: os.stat_result) -> dict:
    """An image's row of :class:`~featx.store.schema.Rows`, but its features."""
    return {"paths": item.path, "labels": item.label, "split": item.split, "keys": key,
            "sizes": stat.st_size, "mtimes": stat.st_mtime_ns}


def _cached_key(item: Item, index: Index) -> tuple | None:
    """``(key, stat, "")`` from the stat cache when size and mtime match, else ``None``."""
    cached = index.stats.get(path_text(item.path))
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
        key = content_key(item.path)
    except OSError as exc:
        return None, None, describe_error(exc, item.origin)
    return key, stat, "" if stat.st_size else "empty file (0 bytes)"
