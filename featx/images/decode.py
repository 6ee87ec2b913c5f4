"""Decode one image file into an RGB uint8 array of the backbone's input size.

Colour rule: every image becomes 8-bit RGB.

* ``RGB`` stays as is; ``L`` / ``1`` (grey) is replicated into three channels; ``CMYK``, ``YCbCr``,
  ``LAB`` and ``HSV`` use Pillow's conversion.
* Images with transparency (``RGBA``, ``LA``, ``PA``, ``P`` with a transparent colour, premultiplied
  ``RGBa`` / ``La``) are composited over **white**.
* 16- and 32-bit integer images (``I;16*``, ``I``) are scaled from 0..65535 down to 0..255; float
  images (``F``) are clipped to 0..255.
* EXIF orientation is applied first; animated images (GIF, APNG, WebP) give their first frame.

Resize policies (``size`` is height, width):

* ``squash``: resize to the target size, ignoring the aspect ratio (the Keras default).
* ``center-crop``: crop the largest centred region of the target aspect ratio, then resize
  (Keras ``crop_to_aspect_ratio=True``).
* ``pad``: resize to fit inside the target keeping the aspect ratio, pad with black
  (Keras ``pad_to_aspect_ratio=True``).

JPEGs are decoded in draft mode, at the smallest power-of-two reduction that is still at least the
target size, so a 12-megapixel photo costs about as much as a small one. Pillow's
decompression-bomb limit is kept: larger images are refused.

>>> from PIL import Image; import io
>>> buf = io.BytesIO(); Image.new("RGBA", (640, 480), (255, 0, 0, 0)).save(buf, "PNG")
>>> decode_image(buf, (224, 224), "pad").shape
(224, 224, 3)
"""

from __future__ import annotations

import errno
import os
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from featx._faults import reach

RESIZE_POLICIES = ("squash", "center-crop", "pad")
_RESAMPLE = Image.Resampling.BILINEAR
_WHITE = (255, 255, 255)


def decode_image(
    file: str | os.PathLike | BinaryIO, size: tuple[int, int], resize: str = "squash"
) -> np.ndarray:
    """Decode ``file`` into a ``(height, width, 3)`` uint8 array; raises on unreadable images."""
    if resize not in RESIZE_POLICIES:
        raise ValueError(f"resize must be one of {RESIZE_POLICIES}, got {resize!r}")
    reach("decode")
    height, width = size
    with _open(file) as img:
        side = max(height, width)
        img.draft("RGB", (side, side))
        img = ImageOps.exif_transpose(img)
        img = to_rgb(img)
        if resize == "squash":
            img = img.resize((width, height), _RESAMPLE)
        elif resize == "center-crop":
            img = ImageOps.fit(img, (width, height), _RESAMPLE)
        else:
            img = ImageOps.pad(img, (width, height), _RESAMPLE, color=(0, 0, 0))
        return np.asarray(img, dtype=np.uint8)


class CorruptImageError(UnidentifiedImageError):
    """A file with a known image signature whose header Pillow cannot read."""


_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF",
               b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}


def _open(file: str | os.PathLike | BinaryIO) -> Image.Image:
    """``Image.open``, telling a corrupt PNG/JPEG/... apart from a file that is no image."""
    try:
        return Image.open(file)
    except UnidentifiedImageError:
        head = _head(file)
        kind = next((k for sig, k in _SIGNATURES.items() if head.startswith(sig)), None)
        if kind is None:
            raise
        raise CorruptImageError(f"corrupt {kind} file: {kind} signature, but its header cannot "
                                "be read (bad checksum or damaged header)") from None


def _head(file: str | os.PathLike | BinaryIO) -> bytes:
    if hasattr(file, "read"):
        file.seek(0)
        return file.read(8)
    with open(file, "rb") as fh:
        return fh.read(8)


def to_rgb(img: Image.Image) -> Image.Image:
    """Apply the colour rule of this module: any Pillow mode to 8-bit RGB."""
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I") or img.mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(img))).convert("RGB")
    if (img.mode == "P" and "transparency" in img.info) or img.mode in ("PA", "RGBa", "La"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        background = Image.new("RGB", img.size, _WHITE)
        background.paste(img.convert("RGBA"), mask=img.getchannel("A"))
        return background
    return img.convert("RGB")


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype.kind == "f":
        return np.clip(pixels, 0, 255).astype(np.uint8)
    return (np.clip(pixels.astype(np.int64), 0, 65535) // 257).astype(np.uint8)


def describe_error(exc: BaseException) -> str:
    """A precise one-line reason for an image that could not be read or decoded."""
    if isinstance(exc, Image.DecompressionBombError):
        return f"refused as a decompression bomb: {exc}"
    if isinstance(exc, CorruptImageError):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can identify (corrupt, or not an image format)"
    if isinstance(exc, FileNotFoundError):
        return "file vanished before it could be read"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not an image file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, OSError) and "truncated" in str(exc).lower():
        return f"truncated image data ({exc})"
    return f"cannot decode image: {type(exc).__name__}: {exc}"
