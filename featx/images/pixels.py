"""Pixels of many image files, decoded in threads one batch ahead of the caller.

A network that takes pixels (fine-tuning, a fine-tuned ``.keras`` classifier) reads images the
way ``featx embed`` does: :func:`load_pixels` reads a regular file whole
(:func:`featx.images.files.read_image`) and decodes those bytes with
:func:`featx.images.decode.decode_image` (EXIF orientation, colour modes, resize policy, the pixel
limit). :func:`decode_ahead` keeps the next batch decoding while the caller works on the current
one, and hands back each image's pixels or the exception that stopped it, in order.

>>> from featx.images.decode import describe_error
>>> paths = ["images/train/ants/ants0.jpg", "images/train/bees/bees0.jpg", "nowhere.jpg"]
>>> batches = list(decode_ahead(paths, (32, 32), "squash", batch_size=2, threads=2))
>>> [len(batch) for batch in batches], batches[0][0].shape
([2, 1], (32, 32, 3))
>>> describe_error(batches[1][0])
'file vanished before it could be read'
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import numpy as np

from featx.errors import FeatxError
from featx.images.decode import decode_image
from featx.images.files import read_image


def load_pixels(path: str | os.PathLike, size: tuple[int, int], resize: str) -> np.ndarray:
    """One image file as ``(height, width, 3)`` uint8 RGB of ``size``; raises as
    :func:`~featx.images.files.read_image` and :func:`~featx.images.decode.decode_image` do
    (:func:`~featx.images.decode.describe_error` words the reason)."""
    image = read_image(path)
    if not image.size:
        raise FeatxError("empty file (0 bytes)")
    return decode_image(BytesIO(image.data), size, resize)


def decode_ahead(paths: Sequence[str], size: tuple[int, int], resize: str, batch_size: int,
                 threads: int) -> Iterator[list[np.ndarray | Exception]]:
    """Per batch of ``paths`` (in order): each image's pixels, or the exception that stopped it;
    the next batch decodes in ``threads`` threads while the caller works on this one."""
    def decode(path: str) -> np.ndarray | Exception:
        try:
            return load_pixels(path, size, resize)
        except Exception as exc:  # noqa: BLE001 (handed to the caller, who reports it)
            return exc

    with ThreadPoolExecutor(threads) as pool:
        queued: deque = deque()
        for start in range(0, len(paths), batch_size):
            queued.append(pool.map(decode, paths[start:start + batch_size]))
            if len(queued) > 1:
                yield list(queued.popleft())
        while queued:
            yield list(queued.popleft())
