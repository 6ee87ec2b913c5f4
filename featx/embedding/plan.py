"""Plan a run: give every listed image its content key and choose what to embed, reading no pixels.

An image is known by the hash of its bytes (:func:`featx._hashing.content_key`). The bytes are
re-hashed only when the file's size or modification time (ns) differ from those stored for its
path in the source's entries (or seen earlier in this process), so a fully cached rerun reads no
image bytes at all. Content the store holds for the configuration is reused; content it knows
cannot be embedded fails at once, with the stored reason; of the rest, each distinct content is
embedded once, however many entries list it. A file that cannot be read fails with its reason and
is tried again by the next run (it is not cached); so is content refused by a limit (the pixel
limit) that has changed since.

>>> from featx.images.sources import list_images
>>> from featx.store.journal import ContentIndex
>>> work = plan(list_images("images").items, ContentIndex.empty(), None, threads=2)
>>> len(work.keyed), len(work.todo), work.reused, work.failures()
(16, 16, 0, {})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from featx.images.decode import describe_error, stale_refusal
from featx.images.files import image_key
from featx.images.sources import Item
from featx.store.journal import ContentIndex
from featx.store.schema import path_text
from featx.store.tables import Table

_SEEN: dict[tuple[str, int, int, int], str] = {}  # (path, size, mtime, inode) -> key, this process
_SEEN_MAX = 1 << 20


@dataclass(frozen=True)
class Keyed:
    """A listed image and what is known of its file: content key, size and mtime (ns); or the
    reason it could not be read (``key`` then "")."""

    item: Item
    key: str = ""
    size: int = 0
    mtime: int = 0
    error: str = ""


@dataclass
class Plan:
    """Every listed image keyed (``keyed``, in listing order), the positions of those to embed
    (``todo``: one per distinct content the store lacks), how many it reuses, the failures the
    store knows (``known``: content key -> reason), and the content that failed while embedding
    (``failed``: position -> reason, filled by the run)."""

    keyed: list[Keyed]
    known: dict[str, str] = field(default_factory=dict)
    todo: list[int] = field(default_factory=list)
    reused: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def failures(self) -> dict[int, str]:
        """Position -> reason of the images that fail as planned: unreadable files, and content
        the store knows cannot be embedded."""
        return {i: k.error or self.known[k.key] for i, k in enumerate(self.keyed)
                if k.error or k.key in self.known}


def plan(items: Sequence[Item], content: ContentIndex, stats: Table | None,
         threads: int) -> Plan:
    """Key every item (stat cache, else hashing in ``threads``) and choose what to embed."""
    cache = _stat_cache(stats)
    keyed: list[Keyed | None] = [_cached(item, cache) for item in items]
    misses = [i for i, found in enumerate(keyed) if found is None]
    with ThreadPoolExecutor(threads) as pool:
        for i, found in zip(misses, pool.map(lambda i: _hashed(items[i]), misses), strict=True):
            keyed[i] = found
    work = Plan(keyed, {key: reason for key, reason in content.failed.items()
                        if not stale_refusal(reason)})  # a refusal by a limit since changed
    held = content.has(np.array([k.key for k in keyed], dtype="S32"))
    claimed: set[str] = set()
    for i, (k, cached) in enumerate(zip(keyed, held, strict=True)):
        if k.error or k.key in work.known:
            continue
        if cached:
            work.reused += 1
        elif k.key not in claimed:
            work.todo.append(i)
            claimed.add(k.key)
    return work


def _stat_cache(stats: Table | None) -> dict[str, tuple[int, int, str]]:
    """Path -> (size, mtime, key) of the stored entries that were read (not the failed ones)."""
    if stats is None:
        return {}
    readable = np.flatnonzero(stats["key"] != b"")
    return {stats["path"][i]: (int(stats["size"][i]), int(stats["mtime"][i]),
                               stats["key"][i].decode()) for i in readable}


def _cached(item: Item, cache: dict[str, tuple[int, int, str]]) -> Keyed | None:
    """The item keyed from the stat cache when its size and mtime match, else ``None``."""
    try:
        stat = os.stat(item.path)
    except OSError:
        return None
    found = cache.get(path_text(item.path))
    if found and found[:2] == (stat.st_size, stat.st_mtime_ns):
        return Keyed(item, found[2], stat.st_size, stat.st_mtime_ns)
    key = _SEEN.get((item.path, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return Keyed(item, key, stat.st_size, stat.st_mtime_ns) if key else None


def _hashed(item: Item) -> Keyed:
    """The item keyed by hashing its bytes, or with the reason it cannot be read."""
    try:
        key, size, mtime = image_key(item.path)
        inode = os.stat(item.path).st_ino
    except OSError as exc:
        return Keyed(item, error=describe_error(exc, item.origin))
    if not size:
        return Keyed(item, error="empty file (0 bytes)")
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    _SEEN[(item.path, size, mtime, inode)] = key  # a grid search lists the same paths per fold
    return Keyed(item, key, size, mtime)
