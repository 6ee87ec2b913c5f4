"""Reading image files safely: regular files only, keyed by the very bytes that are read.

A FIFO, a device (a link to ``/dev/zero``), a socket or a folder named ``*.jpg`` is refused at
once with its reason, never opened for a blocking read. :func:`read_image` returns the bytes with
the content key and file stat they were read with, so features are always stored under the hash
of the bytes that were decoded, even if the file is replaced during a run.

>>> from pathlib import Path
>>> image = read_image("images/train/ants/ants0.jpg")
>>> image.key == image_key("images/train/ants/ants0.jpg")[0], image.size == len(image.data)
(True, True)
>>> os.mkfifo("pipe.jpg")
>>> read_image("pipe.jpg")
Traceback (most recent call last):
...
featx.images.files.NotAnImageFile: not a regular file (a FIFO)
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from featx._hashing import bytes_key, content_key


class NotAnImageFile(OSError):
    """A path that is neither a regular file nor a folder (a FIFO, a device, a socket)."""


@dataclass(frozen=True)
class ImageFile:
    """The bytes of an image file, their content key, and the file's size and mtime (ns)."""

    data: bytes
    key: str
    size: int
    mtime: int


def read_image(path: str | os.PathLike) -> ImageFile:
    """Read a regular file whole; ``OSError`` (with its reason) for anything else."""
    with os.fdopen(_open_regular(path), "rb") as fh:
        info = os.fstat(fh.fileno())
        data = fh.read()
    return ImageFile(data, bytes_key(data), info.st_size, info.st_mtime_ns)


def image_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """``(content key, size, mtime)`` of a regular file, hashed as a stream."""
    with os.fdopen(_open_regular(path), "rb") as fh:
        info = os.fstat(fh.fileno())
        return content_key(fh), info.st_size, info.st_mtime_ns


def _open_regular(path: str | os.PathLike) -> int:
    """A file descriptor of ``path``, opened without blocking, if it is a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
        raise NotAnImageFile(f"not a regular file ({_kind(mode)})")
    return fd


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")
