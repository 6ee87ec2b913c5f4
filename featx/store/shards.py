"""The files of a store: the base file, committed deltas and uncommitted parts.

A store ``OUT`` is the HDF5 file ``OUT`` (the *base*) plus, in the folder ``OUT.parts/``:

* ``delta-FIRST-LAST.h5``: committed shards, each holding the commits FIRST..LAST (sequence
  numbers); written whole under a temporary name, fsynced and renamed, never changed after;
* ``part-RUN-N.h5``: the batches of a run that has not committed yet (content rows only; the
  next writer commits them).

Every shard records the commits it holds (attributes ``seq_first``, ``seq_last``). The base holds
commits 1..``seq_last``; a delta is *live* when its commits come after the base's and are not
inside a wider delta. Merging shards writes the merged shard first and deletes the merged ones
after, so a crash in between leaves only covered shards, which readers skip and the next writer
deletes: the live shards always hold every commit exactly once.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py

from featx._faults import reach
from featx.store._guarded import GuardedFile, interrupts_held

_DELTA = re.compile(r"delta-(\d{8})-(\d{8})\.h5$")


@dataclass(frozen=True)
class ShardFile:
    """A committed shard on disk and the commits it holds."""

    path: Path
    first: int
    last: int

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0


def parts_dir(out: str | os.PathLike) -> Path:
    """The folder beside the store ``out`` holding its deltas and parts: ``OUT.parts``."""
    return Path(f"{os.fspath(out)}.parts")


def delta_path(out: str | os.PathLike, first: int, last: int) -> Path:
    return parts_dir(out) / f"delta-{first:08d}-{last:08d}.h5"


def pending_parts(out: str | os.PathLike) -> list[Path]:
    """The part files in ``OUT.parts`` not committed yet, in order."""
    folder = parts_dir(out)
    return sorted(folder.glob("part-*.h5")) if folder.is_dir() else []


def deltas(out: str | os.PathLike) -> list[ShardFile]:
    """Every delta file beside ``out`` (live or covered), oldest first, wider first on ties."""
    folder = parts_dir(out)
    found = []
    for path in folder.glob("delta-*.h5") if folder.is_dir() else []:
        match = _DELTA.match(path.name)
        if match:
            found.append(ShardFile(path, int(match[1]), int(match[2])))
    return sorted(found, key=lambda d: (d.first, -d.last))


def live(base_last: int, found: list[ShardFile]) -> tuple[list[ShardFile], list[ShardFile]]:
    """Split deltas into the live ones (in commit order) and those covered by the base or by a
    wider delta (left by an interrupted merge)."""
    kept, covered, upto = [], [], base_last
    for delta in found:
        if delta.first <= upto:
            covered.append(delta)
        else:
            kept.append(delta)
            upto = delta.last
    return kept, covered


def write_atomic(final: Path, fill: Callable[[h5py.File], None], point: str) -> None:
    """Fill an HDF5 file at a temporary name, fsync it, rename it to ``final``, fsync the folder.

    HDF5 writes through a :class:`~featx.store._guarded.GuardedFile`, so a full disk or a
    file-size limit is an ``OSError`` here, never a crash. ``point`` names the crash-test hooks
    reached after each step (:mod:`featx._faults`).
    """
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        with GuardedFile(tmp) as guarded:
            with interrupts_held(), h5py.File(guarded, "w") as h5:
                fill(h5)
            reach(f"{point}-filled")
            guarded.sync()
        reach(f"{point}-synced")
        os.replace(tmp, final)
        reach(f"{point}-replaced")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def leftovers(out: str | os.PathLike) -> list[Path]:
    """Temporary files of interrupted writes beside ``out`` (safe to delete under the lock)."""
    out = Path(out)
    found = list(out.parent.glob(f".{glob.escape(out.name)}.tmp-*"))
    folder = parts_dir(out)
    if folder.is_dir():
        found += folder.glob(".*.tmp-*")
    return found
