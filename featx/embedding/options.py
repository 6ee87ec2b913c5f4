"""The run options: how a run goes, not what it computes (that is the feature configuration).

>>> options = RunOptions(batch_size=64, progress=False)
>>> options.on_error, options.with_threads(4).threads
('skip', 4)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from featx.errors import FeatxError
from featx.images.decode import max_pixels

ON_ERROR = ("skip", "raise")


@dataclass(frozen=True)
class RunOptions:
    """``batch_size`` images per forward pass; ``threads`` decoding (and hashing) threads
    (``None``: :func:`decode_threads`); ``on_error``: ``skip`` records a bad image in the file's
    ``errors`` and goes on, ``raise`` stops; ``progress`` shows a progress bar; ``lock_timeout``
    seconds to wait for another writer of the output (0: refuse at once); ``shard_size`` images
    per Dask task."""

    batch_size: int = 32
    threads: int | None = None
    on_error: str = "skip"
    progress: bool = True
    lock_timeout: float = 0
    shard_size: int = 256

    def __post_init__(self) -> None:
        if self.on_error not in ON_ERROR:
            raise FeatxError(f"on_error must be one of {', '.join(ON_ERROR)}, "
                             f"got {self.on_error!r}")
        for name in ("batch_size", "threads", "shard_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise FeatxError(f"{name.replace('_', ' ')} must be at least 1, got {value}")
        max_pixels()  # FEATX_MAX_PIXELS, read by every decode: a bad value stops the run here

    def with_threads(self, default: int | None = None) -> RunOptions:
        """These options with ``threads`` set: kept if given, else ``default`` or
        :func:`decode_threads`."""
        return self if self.threads else replace(self, threads=default or decode_threads())


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
