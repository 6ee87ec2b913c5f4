"""The one writer of a store: a lock, batch parts, commits that cost what they add, merges.

While ``featx embed`` runs, every finished batch is written as a part file (the content rows of
one configuration) in ``OUT.parts/``, under a temporary name, fsynced and renamed, so a killed run
loses at most the batch in flight. :meth:`Journal.commit` writes the parts' new content and the
source's new entries as one new shard: the base file ``OUT`` for a new store, else a delta beside
it, costing what the run adds, never a copy of the store. Then a small store (up to
:data:`SINGLE_FILE_BYTES`) is compacted back into the one file ``OUT``; a large one merges its
newest deltas while the older is at most twice the newer, so each row is copied O(log N) times
over its life and a merge needs free disk for the deltas it merges only (:mod:`featx.store.shards`
says why every step is crash safe).

One writer at a time: the lock ``OUT.lock`` (of the real file when ``OUT`` is a symbolic link,
which is kept) is held with :mod:`filelock`; a second writer is refused, or waits
``lock_timeout`` seconds, and ``OUT.owner`` names the holder. Both files are gone after a run.

>>> from featx.backbones.config import resolve
>>> from featx.store.write import Batch
>>> config = resolve("mobilenetv2", weights=None, input_size=32)
>>> with Journal("new.h5") as journal:
...     journal.content(config).has(["0" * 32])
...     batch = Batch(["0" * 32], np.ones((1, 4)), Table.empty("failed"))
...     journal.write_part(config.attrs(), batch)
...     journal.commit()
array([False])
True
>>> from featx.store.read import load
>>> load("new.h5").by_keys(["0" * 32])
array([[1., 1., 1., 1.]], dtype=float32)
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import filelock
import numpy as np

from featx._faults import reach
from featx.backbones.config import now
from featx.errors import FeatxError
from featx.store import shards
from featx.store.read import Shard, Snapshot, attrs_of, find_configs, open_file
from featx.store.schema import KEY, config_name, read_column, source_name
from featx.store.tables import KeyIndex, Table
from featx.store.write import (
    Batch,
    ConfigRows,
    ShardData,
    SourceRows,
    Stored,
    merge,
    shard_rows,
    write_shard,
)

SINGLE_FILE_BYTES = 64 << 20
"""Stores up to this size are compacted into one file at each commit (``$FEATX_SINGLE_FILE_BYTES``
overrides it: 0 keeps every store in shards, a large value keeps large stores in one file at the
cost of rewriting them)."""
MAX_DELTAS = 16  # beyond this many deltas, the newest are merged whatever their sizes


@dataclass
class Update:
    """A source's new listing: the source (its real path, or a label), its entries, the name of
    the configuration it was embedded with (or the names, when one run embedded several), and
    whether every entry was (``complete``: False after an interrupted run)."""

    source: str
    entries: Table
    config: str | Sequence[str]
    complete: bool = True
    inherit: tuple[str, ...] = ("label", "split")
    """The columns the listing does not state (a plain list of paths: both), whose empty values
    are taken from the stored entries of the same paths."""


class ContentIndex:
    """What the store holds for one configuration: the group ``name`` (``None``: not there
    yet), its committed content keys and those in parts, and the reasons of content that
    failed."""

    def __init__(self, name: str | None, committed: KeyIndex, pending: KeyIndex,
                 failed: dict[str, str]):
        self.name = name
        self._indexes = (committed, pending)
        self.failed = failed

    @classmethod
    def empty(cls) -> ContentIndex:
        nothing = KeyIndex(np.empty(0, KEY))
        return cls(None, nothing, nothing, {})

    def has(self, keys: Sequence[str] | np.ndarray) -> np.ndarray:
        """Whether each key's content is held."""
        keys = np.asarray(keys, dtype=KEY)
        return np.logical_or.reduce([index.find(keys) >= 0 for index in self._indexes])


class Journal:
    """The exclusive writer of one store (use as a context manager)."""

    def __init__(self, out: str | os.PathLike, lock_timeout: float = 0):
        self.given = Path(out)
        self.out = Path(os.path.realpath(out))
        self.parts_dir = shards.parts_dir(self.out)
        self._lock = filelock.FileLock(f"{self.out}.lock", timeout=lock_timeout)
        self._owner = Path(f"{self.out}.owner")
        self._seq = 0
        self._run = f"{os.getpid()}-{secrets.token_hex(4)}"  # never reuses a left-over part name
        self.snapshot: Snapshot | None = None
        self._committed: dict[str, KeyIndex] = {}

    def __enter__(self) -> Journal:
        self._refuse_bad_paths()
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise FeatxError(f"{self.given} is being written by another featx process "
                             f"({self._holder()}); wait for it or choose another output") from None
        except OSError as exc:
            raise FeatxError(f"cannot write {self.given}: {_reason(exc)}") from None
        try:
            self._owner.write_text(json.dumps(
                {"pid": os.getpid(), "host": socket.gethostname(), "since": now()}))
            self._tidy()
            self.snapshot = Snapshot(self.out) if self._exists() else None
            reach("lock")
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self.snapshot is not None:
            self.snapshot.close()
        self._release()

    # ------------------------------------------------------------------ what the store holds

    def content(self, config) -> ContentIndex | None:
        """What the store holds for ``config`` (a FeatureConfig); ``None`` when several stored
        configurations match (a model file's default layer: build it to resolve, then ask again)."""
        tables = self._content_tables()
        hits = find_configs({name: attrs for name, (attrs, _, _) in tables.items()}, config)
        if len(hits) > 1:
            return None
        if not hits:
            return ContentIndex.empty()
        _, pending, failed = tables[hits[0]]
        reasons = {k: r for t in failed for k, r in zip(t["key"].astype(str), t["reason"],
                                                        strict=True)}
        return ContentIndex(hits[0], self._committed_keys(hits[0]),
                            KeyIndex(np.concatenate([np.empty(0, KEY), *pending])), reasons)

    def entries(self, source: str, columns: Sequence[str] | None = None) -> Table | None:
        """The stored entries of ``source`` (``columns`` only, if given), or ``None``."""
        return self.snapshot.entries(source_name(source), columns) if self.snapshot else None

    def _content_tables(self) -> dict[str, tuple[dict, list[np.ndarray], list[Table]]]:
        """Per configuration, committed or in parts: attributes, the key arrays of the parts
        (the committed keys are indexed once, :meth:`_committed_keys`), failed tables."""
        found: dict[str, tuple[dict, list[np.ndarray], list[Table]]] = {}

        def add(shard: Shard, part: bool) -> None:
            for name, group in shard.configs.items():
                _, keys, failed = found.setdefault(name, (attrs_of(group), [], []))
                if part:
                    keys.append(read_column(group["content"], "key"))
                failed.append(Table("failed", {c: read_column(group["failed"], c)
                                               for c in ("key", "reason")}))

        for shard in self.snapshot.shards if self.snapshot else []:
            add(shard, part=False)
        for part in shards.pending_parts(self.out):
            with open_file(part) as h5:
                add(Shard(h5), part=True)
        return found

    # ------------------------------------------------------------------ writing

    def write_part(self, attrs: dict, batch: Batch) -> None:
        """Write one batch durably as a new part file (FeatxError if the disk refuses)."""
        self._seq += 1
        final = self.parts_dir / f"part-{self._run}-{self._seq:06d}.h5"
        reach("part")
        try:
            write_part_file(final, attrs, batch)
        except OSError as exc:
            raise FeatxError(f"cannot write {final}: {_reason(exc)}; {self._kept()}") from None

    def commit(self, update: Update | None = None) -> bool:
        """Commit the parts and ``update`` as one new shard, then merge shards as the policy
        says. Returns False when there was nothing new to commit."""
        parts = shards.pending_parts(self.out)
        pending = []
        for part in parts:
            with open_file(part) as h5:
                pending.append(_detached(shard_rows(Shard(h5))))
            reach("commit-merged")
        new = merge(pending, self._known()) if pending else ShardData(0, 0)
        new.configs = {n: c for n, c in new.configs.items() if len(c.keys) or len(c.failed)}
        if update is not None:
            new.sources.update(self._source_rows(update, set(new.configs)))
        reach("commit-copied")
        if not new.configs and not new.sources:
            self._drop(parts, "commit-unlinked")
            self._merge_shards()  # finish a merge an interrupted run left undone
            return False
        new.first = new.last = self._last_seq() + 1
        target = shards.delta_path(self.out, new.first, new.last) if self._exists() else self.out
        try:
            self.parts_dir.mkdir(exist_ok=True)
            shards.write_atomic(target, lambda h5: write_shard(h5, new), point="commit")
        except OSError as exc:
            raise FeatxError(f"cannot update {self.given}: {_reason(exc)}; "
                             f"{self._kept()}") from None
        self._drop(parts, "commit-unlinked")
        self._merge_shards()
        return True

    def _source_rows(self, update: Update, new_configs: set[str]) -> dict[str, SourceRows]:
        """The source groups to write for ``update``: its own, unless the store has it already,
        and any other source that listed one of its paths. A path belongs to the source that
        listed it last (embedding ``photos/train`` then ``photos`` lists each image once), and
        a listing that does not state labels or splits (a plain list of paths, a list without
        such a column) keeps those stored for its paths, so it never erases them; a listing
        that states them (a folder tree, a list's column, even with an empty value) is taken
        as it is."""
        name = source_name(update.source)
        found = self.snapshot.sources() if self.snapshot else {}
        stored = self.snapshot.entries(name) if name in found else None
        entries = _inherit(update.entries, stored, update.inherit)
        same = stored is not None and _same(stored, entries)
        out = {}
        if not same:
            mine = set(entries["path"])
            for other, (_, group) in found.items():
                paths = self.snapshot.entries(other, ["path"])["path"] if other != name else []
                claimed = np.fromiter((p in mine for p in paths), bool, len(paths))
                if claimed.any():
                    rows = self.snapshot.entries(other)
                    entries = _inherit(entries, rows.take(np.flatnonzero(claimed)),
                                       update.inherit)
                    out[other] = SourceRows(attrs_of(group), rows.take(np.flatnonzero(~claimed)))
        attrs = attrs_of(found[name][1]) if name in found else {
            "source": update.source, "configs": [], "complete": [],
            "order": 1 + max((attrs_of(g)["order"] for _, g in found.values()), default=-1)}
        names = [update.config] if isinstance(update.config, str) else list(update.config)
        stored_configs = self.snapshot.configs() if self.snapshot is not None else {}
        held = [n for n in names if n in new_configs or n in stored_configs]
        complete = [c for c in attrs["complete"] if same and c not in names]
        if update.complete:
            complete += held
        configs = list(dict.fromkeys([*attrs["configs"], *held]))
        if not same or complete != attrs["complete"] or configs != attrs["configs"]:
            out[name] = SourceRows({**attrs, "configs": configs, "complete": complete}, entries)
        return out

    def _known(self) -> dict[str, KeyIndex]:
        """The committed content keys of each configuration (new rows must not repeat them)."""
        if self.snapshot is None:
            return {}
        return {name: self._committed_keys(name) for name in self.snapshot.configs()}

    def _committed_keys(self, config: str) -> KeyIndex:
        """An index of the committed content keys of ``config``, built once per run."""
        if config not in self._committed:
            keys = self.snapshot.content_keys(config) if self.snapshot else []
            self._committed[config] = KeyIndex(np.concatenate([np.empty(0, KEY), *keys]))
        return self._committed[config]

    def _merge_shards(self) -> None:
        """Compact a small store into one file; merge a large store's newest deltas while the
        older of the two is at most twice the newer (a binary counter), or when there are many."""
        base_last, is_v1 = self._base_state()
        found = shards.live(base_last, shards.deltas(self.out))[0]
        size = (self.out.stat().st_size if self.out.exists() else 0) + sum(d.size for d in found)
        if is_v1 or size <= single_file_bytes():
            if found:
                self._rewrite_base(found)
            return
        while len(found) >= 2 and (found[-2].size <= 2 * found[-1].size
                                   or len(found) > MAX_DELTAS):
            found = found[:-2] + [self._merge_deltas(found[-2:])]

    def _rewrite_base(self, found: list[shards.ShardFile]) -> None:
        """Fold the base and the deltas ``found`` into a new base file, laid out for reading."""
        snapshot = Snapshot(self.out)
        try:
            data = merge([shard_rows(s) for s in snapshot.shards], order_by_entries=True)
            data.first = 1
            shards.write_atomic(self.out, lambda h5: write_shard(h5, data), point="compact")
        finally:
            snapshot.close()
        self._drop([d.path for d in found], "compact-unlinked")

    def _merge_deltas(self, pair: list[shards.ShardFile]) -> shards.ShardFile:
        opened = [open_file(d.path) for d in pair]
        try:
            data = merge([shard_rows(Shard(h5)) for h5 in opened])
            target = shards.delta_path(self.out, data.first, data.last)
            shards.write_atomic(target, lambda h5: write_shard(h5, data), point="compact")
        finally:
            for h5 in opened:
                h5.close()
        self._drop([d.path for d in pair], "compact-unlinked")
        return shards.ShardFile(target, data.first, data.last)

    # ------------------------------------------------------------------ housekeeping

    def _refuse_bad_paths(self) -> None:
        if not self.out.parent.is_dir():
            raise FeatxError(f"cannot write {self.given}: folder {self.out.parent} does not exist")
        if self.out.is_dir():
            raise FeatxError(f"cannot write {self.given}: it is a folder, not a feature file")
        if self.parts_dir.exists() and not self.parts_dir.is_dir():
            raise FeatxError(f"cannot write {self.given}: {self.parts_dir} is in the way (a file "
                             "where featx keeps the store's parts); move it away")

    def _exists(self) -> bool:
        return self.out.exists() or bool(shards.deltas(self.out))

    def _base_state(self) -> tuple[int, bool]:
        """The last commit the base holds, and whether it is a version-1 file."""
        if not self.out.exists():
            return 0, False
        with open_file(self.out) as h5:
            if h5.attrs.get("format_version") == 1:
                return 0, True
            return int(h5.attrs["seq_last"]), False

    def _last_seq(self) -> int:
        return max([self._base_state()[0]] + [d.last for d in shards.deltas(self.out)])

    def _drop(self, paths: Sequence[Path], point: str) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
            reach(point)

    def _tidy(self) -> None:
        """Delete what interrupted writers left: temporary files, and shards a merge covered."""
        for stale in shards.leftovers(self.out):
            stale.unlink(missing_ok=True)
        if self._exists():
            covered = shards.live(self._base_state()[0], shards.deltas(self.out))[1]
            for delta in covered:
                delta.path.unlink(missing_ok=True)

    def _kept(self) -> str:
        return (f"the rows written so far are kept in {self.given} and {self.parts_dir}; "
                "free space (or fix the cause) and rerun to go on")

    def _holder(self) -> str:
        try:
            info = json.loads(self._owner.read_text())
            return f"pid {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError):
            return "holder unknown"

    def _release(self) -> None:
        """Leave no litter: the owner file, an empty parts folder and the lock file go. The lock
        file is unlinked while still held; a process waiting on it then finds its inode
        unlinked once it gets the lock, and takes a new one (filelock checks ``st_nlink``)."""
        if self._lock.is_locked:
            self._owner.unlink(missing_ok=True)
            try:
                self.parts_dir.rmdir()  # only when empty
            except OSError:
                pass
            Path(self._lock.lock_file).unlink(missing_ok=True)
            self._lock.release()


def single_file_bytes() -> int:
    """:data:`SINGLE_FILE_BYTES`, or ``$FEATX_SINGLE_FILE_BYTES`` when set."""
    text = os.environ.get("FEATX_SINGLE_FILE_BYTES", "")
    if text and not text.isdigit():
        raise FeatxError(f"FEATX_SINGLE_FILE_BYTES must be a whole number of bytes, got {text!r}")
    return int(text) if text else SINGLE_FILE_BYTES


def write_part_file(path: Path, attrs: dict, batch: Batch) -> None:
    """Write ``batch`` (content of the configuration ``attrs``) durably as the part file
    ``path``. Needs no lock: part names never collide, and any process may add parts (a Dask
    worker, say); rewriting a part with the same rows is harmless."""
    path.parent.mkdir(exist_ok=True)
    data = ShardData(0, 0, {config_name(attrs): ConfigRows.of(attrs, batch)})
    shards.write_atomic(path, lambda h5: write_shard(h5, data), point="part")


def _detached(data: ShardData) -> ShardData:
    """``data`` of a part file about to be closed: its features read back from the file when
    the commit copies them, block by block (memory stays small however many parts)."""
    for config in data.configs.values():
        config.features.blocks = [(Stored(source.file.filename, source.name), rows)
                                  for source, rows in config.features.blocks]
    return data


def _inherit(entries: Table, known: Table | None, names: Sequence[str]) -> Table:
    """``entries`` with the values of columns ``names`` they lack taken from ``known`` entries
    of the same paths."""
    if known is None or not len(known) or not names:
        return entries
    where = {path: i for i, path in enumerate(known["path"])}
    columns = {**entries.columns}
    for name in names:
        values = columns[name].copy()
        for i in np.flatnonzero(values == ""):
            j = where.get(entries["path"][i])
            if j is not None:
                values[i] = known[name][j]
        columns[name] = values
    return Table(entries.kind, columns)


def _same(a: Table | None, b: Table) -> bool:
    return a is not None and len(a) == len(b) and all(
        np.array_equal(a[name], b[name]) for name in b.columns)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
