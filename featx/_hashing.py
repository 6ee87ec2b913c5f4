"""The one file hasher: content keys of images, SHA-256 fingerprints of model and weights files.

>>> from pathlib import Path
>>> _ = Path("blob.bin").write_bytes(b"x")
>>> content_key("blob.bin")
'442a44457137672b3218c1007dc8f76a'
>>> bytes_key(b"x") == content_key("blob.bin")
True
>>> sha256("blob.bin")
'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import BinaryIO


def content_key(file: str | os.PathLike | BinaryIO) -> str:
    """The BLAKE2b-128 hex digest of a file's bytes (a path, or a file open for binary reading):
    an image is known by its content, not its path (a moved or renamed file keeps its key)."""
    return _digest(file, _blake2b)


def bytes_key(data: bytes) -> str:
    """The content key of bytes already read (the same digest as :func:`content_key`)."""
    return _blake2b(data).hexdigest()


def _blake2b(data: bytes = b""):
    return hashlib.blake2b(data, digest_size=16)


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file's bytes (model and weights files, the Lite0 checkpoint)."""
    return _digest(path, "sha256")


def _digest(file: str | os.PathLike | BinaryIO, algorithm: str | Callable) -> str:
    if hasattr(file, "read"):
        return hashlib.file_digest(file, algorithm).hexdigest()
    with open(file, "rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()
