"""A file that HDF5 writes through without ever seeing a disk error.

When a write fails under HDF5 (a full disk, a file-size limit), closing the file fails too and
leaves an HDF5 object that cannot be closed; the process then crashes at exit (h5py issues 914,
1120, 2160). So featx writes HDF5 files through :class:`GuardedFile` (h5py's file-object driver):
the first failed write is kept, not reported to HDF5, and what HDF5 writes after it goes to
memory, so HDF5 always closes cleanly. :func:`check` raises the kept error from featx's own code,
between HDF5 calls, so a large write stops early; the caller deletes the file.

>>> import h5py, numpy as np
>>> with GuardedFile("guarded.h5") as fh, h5py.File(fh, "w") as h5:
...     h5["x"] = np.arange(3)
>>> h5py.File("guarded.h5")["x"][:]
array([0, 1, 2])
"""

from __future__ import annotations

import contextvars
import io
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_CURRENT: contextvars.ContextVar[GuardedFile | None] = contextvars.ContextVar("guarded",
                                                                             default=None)


class GuardedFile(io.RawIOBase):
    """A new file at ``path`` for h5py to write, keeping the first write error (``error``)."""

    def __init__(self, path: str | os.PathLike):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self.error: OSError | None = None
        self._after: list[tuple[int, bytes]] = []  # (offset, bytes) written after the error
        self._pos = 0
        self._token = _CURRENT.set(self)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size()}[whence]
        self._pos = base + offset
        return self._pos

    def write(self, data) -> int:
        data = bytes(data)
        if self.error is None:
            try:
                os.pwrite(self._fd, data, self._pos)
            except OSError as exc:
                self.error = exc
        if self.error is not None:
            self._after.append((self._pos, data))
        self._pos += len(data)
        return len(data)

    def readinto(self, buffer) -> int:
        n = len(buffer)
        data = bytearray(os.pread(self._fd, n, self._pos).ljust(n, b"\0"))
        for offset, written in self._after:
            lo, hi = max(offset, self._pos), min(offset + len(written), self._pos + n)
            if lo < hi:
                data[lo - self._pos:hi - self._pos] = written[lo - offset:hi - offset]
        buffer[:n] = data
        self._pos += n
        return n

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self.error is None:
            try:
                os.ftruncate(self._fd, size)
            except OSError as exc:
                self.error = exc
        return size

    def sync(self) -> None:
        """Raise the kept error, if any, else fsync the file."""
        check()
        os.fsync(self._fd)

    def close(self) -> None:
        if not self.closed:
            _CURRENT.reset(self._token)
            os.close(self._fd)
        super().close()

    def _size(self) -> int:
        return max([os.fstat(self._fd).st_size] + [o + len(d) for o, d in self._after])


def check() -> None:
    """Raise the write error kept by the guarded file being written in this context, if any."""
    guarded = _CURRENT.get()
    if guarded is not None and guarded.error is not None:
        raise guarded.error


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) while HDF5 writes through a :class:`GuardedFile`: HDF5 calls the
    file's Python methods, and a KeyboardInterrupt raised inside them leaves HDF5 half-done (a
    crash, exit status -11, when its objects are freed). The interrupt is delivered, to the
    handler that was in place, when the block ends. Only the main thread receives signals, so
    elsewhere the block holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held and callable(previous):
            previous(signal.SIGINT, None)
