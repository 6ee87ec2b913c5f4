"""Crash-safe writing of a feature file: a lock, append-only parts, and an atomic merge.

While ``featx embed`` runs, every finished batch is written as a small *part* file (same schema)
in ``OUT.parts/``, through a temporary name and an atomic rename, so a killed process loses at most
the batch in flight. :meth:`Journal.commit` merges the main file and the parts into a copy and
atomically replaces the main file with it; the main file is therefore always either the old or
the new complete file, never a half-written one. Parts left by a killed run are merged by the
next run (rows are unique by content key, so merging twice is harmless).

One writer at a time: ``OUT.lock`` is held with :mod:`filelock` (a second writer is refused, or
waits ``lock_timeout`` seconds), and ``OUT.owner`` names the holder.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import socket
from collections.abc import Sequence
from dataclasses import astuple
from pathlib import Path

import filelock
import h5py

from featx._faults import reach
from featx.backbones.config import FeatureConfig, now
from featx.errors import FeatxError
from featx.store.read import Index, open_file, read_failures, read_index, read_keys, read_rows
from featx.store.schema import Failure, Rows, concat, path_text
from featx.store.write import append, create, relabel, set_errors, write_file

MERGE_BYTES = 8 << 20  # parts are merged in groups of about this many feature bytes


class Journal:
    """The exclusive writer of one feature file (use as a context manager)."""

    def __init__(self, out: str | os.PathLike, config: FeatureConfig, lock_timeout: float = 0):
        self.out = Path(out)
        self.config = config
        self.parts_dir = parts_dir(out)
        self._lock = filelock.FileLock(f"{self.out}.lock", timeout=lock_timeout)
        self._owner = Path(f"{self.out}.owner")
        self._seq = 0
        self._run = f"{os.getpid()}-{secrets.token_hex(4)}"  # never reuses a left-over part name
        self.index = Index()

    def __enter__(self) -> Journal:
        if not self.out.parent.is_dir():
            raise FeatxError(f"cannot write {self.out}: folder {self.out.parent} does not exist")
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise FeatxError(f"{self.out} is being written by another featx process "
                             f"({self._holder()}); wait for it or choose another output") from None
        except OSError as exc:
            raise FeatxError(f"cannot write {self.out}: {_reason(exc)}") from None
        try:
            self._owner.write_text(json.dumps(
                {"pid": os.getpid(), "host": socket.gethostname(), "since": now()}))
            self.index = self._read_index()
            reach("lock")
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._release()

    def write_part(self, attrs: dict, rows: Rows) -> None:
        """Write one batch of rows durably as a new part file (FeatxError if the disk refuses)."""
        self._seq += 1
        final = self.parts_dir / f"part-{self._run}-{self._seq:06d}.h5"
        reach("part")
        try:
            write_part_file(final, attrs, rows)
        except OSError as exc:
            raise FeatxError(f"cannot write {final}: {_reason(exc)}; {self._kept()}") from None
        self.index.add(rows)

    def commit(self, seen: Rows, failures: Sequence[Failure], listed: set[str]) -> bool:
        """Merge parts, path/label updates (``seen``) and this run's failures into the main file.

        Returns False when there was nothing to change (the file is left untouched).
        """
        parts = pending_parts(self.out)
        if not parts and not self.out.exists():
            return False
        if not parts and not seen.keys and not self._errors_change(failures, listed):
            return False
        tmp = Path(f"{self.out}.tmp-{os.getpid()}")

        def merge(h5: h5py.File) -> None:
            keys = set(read_keys(h5)) if "keys" in h5 else set()
            pending: list[Rows] = []
            for i, part in enumerate(parts):
                with h5py.File(part, "r") as src:
                    if "features" not in h5:
                        create(h5, dict(src.attrs), src["features"].shape[1])
                    pending.append(read_rows(src))
                reach("commit-merged")
                if i == len(parts) - 1 or sum(r.features.nbytes for r in pending) > MERGE_BYTES:
                    append(h5, concat(pending), keys)
                    pending = []
            relabel(h5, seen)
            set_errors(h5, failures, listed)
            h5.attrs["updated"] = now()

        try:
            if self.out.exists():
                shutil.copyfile(self.out, tmp)
                reach("commit-copied")
            _write_atomic(self.out, merge, tmp=tmp, point="commit")
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FeatxError(f"cannot update {self.out}: {_reason(exc)}; {self._kept()}") from None
        for part in parts:
            part.unlink()
            reach("commit-unlinked")
        return True

    def _kept(self) -> str:
        return (f"the rows written so far are kept in {self.out} and {self.parts_dir}; "
                "free space (or fix the cause) and rerun to go on")

    def _errors_change(self, failures: Sequence[Failure], listed: set[str]) -> bool:
        with open_file(self.out) as h5:
            listed_text = {path_text(p) for p in listed}
            stored = [f for f in read_failures(h5) if f.path in listed_text]
        return {astuple(f) for f in stored} != {
            (path_text(f.path), f.reason, f.key) for f in failures}

    def _read_index(self) -> Index:
        index = Index()
        for path in ([self.out] if self.out.exists() else []) + pending_parts(self.out):
            with open_file(path) as h5:
                lines = self.config.mismatches(dict(h5.attrs))
                if lines:
                    raise FeatxError(f"{path} was made with another configuration: "
                                     + "; ".join(lines) + ". Write to another file.")
                read_index(h5, index)
        leftovers = glob.glob(f"{glob.escape(str(self.out))}.tmp-*")
        leftovers += glob.glob(os.path.join(glob.escape(str(self.parts_dir)), ".part-*.tmp-*"))
        for stale in leftovers:
            os.unlink(stale)
        return index

    def _holder(self) -> str:
        try:
            info = json.loads(self._owner.read_text())
            return f"pid {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError):
            return "holder unknown"

    def _release(self) -> None:
        if self._lock.is_locked:
            self._owner.unlink(missing_ok=True)
            self._lock.release()


def parts_dir(out: str | os.PathLike) -> Path:
    """The folder of the part files of the feature file ``out``: ``OUT.parts``."""
    return Path(f"{os.fspath(out)}.parts")


def pending_parts(out: str | os.PathLike) -> list[Path]:
    """The part files in ``OUT.parts`` not merged into ``out`` yet, in order."""
    folder = parts_dir(out)
    return sorted(folder.glob("part-*.h5")) if folder.is_dir() else []


def write_part_file(path: Path, attrs: dict, rows: Rows) -> None:
    """Write ``rows`` durably as the part file ``path`` (no lock: part names never collide).

    Any process may add parts (a Dask worker, say); rewriting a part with the same rows is harmless.
    """
    path.parent.mkdir(exist_ok=True)
    _write_atomic(path, lambda h5: write_file(h5, attrs, rows), point="part")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _write_atomic(final: Path, fill, tmp: Path | None = None, point: str = "") -> None:
    """Fill an HDF5 file at a temporary name (or the given ``tmp``), fsync, rename into place.

    ``point`` names the crash-test hooks reached after each step (:mod:`featx._faults`).
    """
    tmp = tmp or final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "a") as h5:
            fill(h5)
        reach(f"{point}-filled")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        reach(f"{point}-synced")
        os.replace(tmp, final)
        reach(f"{point}-replaced")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
