"""Content keys: an image is identified by a hash of its bytes, not by its path."""

from __future__ import annotations

import hashlib
import os


def file_key(path: str | os.PathLike) -> str:
    """The BLAKE2b-128 hex digest of the file's bytes (moved or renamed files keep their key).

    >>> import tempfile; f = tempfile.NamedTemporaryFile(delete=False); _ = f.write(b"x"); f.close()
    >>> len(file_key(f.name))
    32
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=16)).hexdigest()
