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
target size, so a 12-megapixel photo costs about as much as a small one.

Pixel limit: an image that would decode to more than ``FEATX_MAX_PIXELS`` pixels (default
:data:`DEFAULT_MAX_PIXELS`, 8192 x 8192 = 67,108,864) is refused before any pixel is decoded. The
limit applies to the size actually decoded, so a JPEG counts at its draft-mode size (a 100-Mpx
photo embedded at 224 x 224 decodes at 1/8 scale, 1.6 Mpx, and is accepted). Decoding peaks at
about 1 byte per decoded pixel for grey images, 4 for RGB, 6 for 16-bit grey, 8 to 12 with
transparency and 13 for 32-bit or float images (no full-size copy is made that the colour rule
does not need), so one decode thread stays near 270 MB for an RGB image at the default and under
900 MB whatever the mode; set ``FEATX_MAX_PIXELS`` lower on a small machine or higher for big
scans. A refusal depends on the limit as well as the bytes, so it is tried again when the limit
has changed (:func:`stale_refusal`). Pillow's own decompression-bomb check (refusing more than
twice ``PIL.Image.MAX_IMAGE_PIXELS`` on the stored size) stays in force as well.

>>> from PIL import Image; import io
>>> buf = io.BytesIO(); Image.new("RGBA", (640, 480), (255, 0, 0, 0)).save(buf, "PNG")
>>> decode_image(buf, (224, 224), "pad").shape
(224, 224, 3)
"""

from __future__ import annotations

import errno
import os
import re
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from featx._faults import reach
from featx.errors import FeatxError
from featx.images.files import NotAnImageFile

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
        check_pixels(img.size)
        ImageOps.exif_transpose(img, in_place=True)
        img = _to_8bit(img)
        if resize == "squash":
            img = img.resize((width, height), _RESAMPLE)
        elif resize == "center-crop":
            img = ImageOps.fit(img, (width, height), _RESAMPLE)
        else:
            img = ImageOps.pad(img, (width, height), _RESAMPLE, color=0)
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


DEFAULT_MAX_PIXELS = 8192 * 8192


class PixelLimitError(Image.DecompressionBombError):
    """An image that would decode to more pixels than ``FEATX_MAX_PIXELS``."""


def max_pixels() -> int:
    """The pixel limit: ``FEATX_MAX_PIXELS`` (a positive integer) or :data:`DEFAULT_MAX_PIXELS`."""
    text = os.environ.get("FEATX_MAX_PIXELS", "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise FeatxError(f"FEATX_MAX_PIXELS must be a positive number of pixels, got {text!r}")
    return value


def check_pixels(size: tuple[int, int]) -> None:
    """Refuse an image of ``size`` (width, height, as decoded) beyond :func:`max_pixels`."""
    limit = max_pixels()
    if size[0] * size[1] > limit:
        raise PixelLimitError(
            f"{size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.1f} Mpx to decode, over the limit "
            f"of {limit / 1e6:.1f} Mpx (FEATX_MAX_PIXELS={limit}; raise it to accept larger "
            "images)")


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


def _to_8bit(img: Image.Image) -> Image.Image:
    """Apply the colour rule of this module: any Pillow mode to 8-bit RGB, or to 8-bit grey
    (``L``) for grey images, which become RGB after resizing (the same pixels, a third of the
    memory). No full-size copy is made that the conversion does not need."""
    if img.mode in ("RGB", "L"):
        return img
    if img.mode.startswith("I") or img.mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(img)), "L")
    if img.mode == "1":
        return img.convert("L")
    if (img.mode == "P" and "transparency" in img.info) or img.mode in ("PA", "RGBa", "La", "LA"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, _WHITE)
        background.paste(img, mask=img)
        return background
    return img.convert("RGB")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB by the colour rule of this module (for pictures of the
    images, such as a report's thumbnails)."""
    img = _to_8bit(img)
    return img if img.mode == "RGB" else img.convert("RGB")


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float pixels clipped to 0..255; integer ones clipped to 0..65535 and scaled down by 257,
    in place where the type allows (16-bit data never widens)."""
    if pixels.dtype.kind == "f":
        return np.clip(pixels, 0, 255).astype(np.uint8)
    if pixels.dtype.itemsize > 2 or pixels.dtype.kind == "i":
        pixels = np.clip(pixels, 0, 65535)
    else:
        pixels = pixels.copy() if not pixels.flags.writeable else pixels
    np.floor_divide(pixels, 257, out=pixels)
    return pixels.astype(np.uint8)


REFUSED = "refused"
_LIMITS = (  # (reason prefix, how the reason names the limit, the limit now)
    (f"{REFUSED} over the pixel limit", r"\(FEATX_MAX_PIXELS=(\d+);", lambda: max_pixels()),
    (f"{REFUSED} as a decompression bomb", r"exceeds limit of (\d+) pixels",
     lambda: 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None),
)


def stale_refusal(reason: str) -> bool:
    """Whether a stored failure ``reason`` is a refusal by a limit that has changed since (the
    pixel limit, Pillow's decompression-bomb limit): the image must be tried again. A refusal
    under the same limit stands, like any failure that the bytes alone decide."""
    for prefix, named, now in _LIMITS:
        if reason.startswith(prefix):
            found = re.search(named, reason)
            return found is None or int(found.group(1)) != now()
    return False


def describe_error(exc: BaseException, listed_in: str = "") -> str:
    """A precise one-line reason for an image that could not be read or decoded; ``listed_in``
    (an :class:`~featx.images.sources.Item`'s ``origin``) names the list a missing file came
    from."""
    if isinstance(exc, PixelLimitError):
        return f"{REFUSED} over the pixel limit: {exc}"
    if isinstance(exc, Image.DecompressionBombError):
        return f"{REFUSED} as a decompression bomb: {exc}"
    if isinstance(exc, FeatxError):
        return str(exc)
    if isinstance(exc, CorruptImageError | NotAnImageFile):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can identify (corrupt, or not an image format)"
    if isinstance(exc, FileNotFoundError):
        if listed_in:
            return f"listed in {listed_in} but does not exist"
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
