"""Small JPEG thumbnails of the images a page shows, made once and cached in a folder.

A thumbnail is named after the image's absolute path, size, modification time and the thumbnail
size, so an edited image gets a new one and a rerun reuses the rest. Images are read as featx
reads them for embedding (EXIF orientation applied, any mode made RGB by
:func:`featx.images.decode.to_rgb`, the pixel limit checked), in JPEG draft mode so a large photo
costs little.

>>> thumbs = Thumbnails("thumbs")
>>> thumb = thumbs.get("images/train/ants/ants0.jpg")
>>> thumb.file.startswith("thumbs/"), thumb.problem
(True, '')
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from PIL import Image, ImageOps

from featx.images.decode import check_pixels, describe_error, to_rgb

SIZE = 320
QUALITY = 82


@dataclass(frozen=True)
class Thumbnail:
    """The cached thumbnail ``file`` of one image, or ``problem``: why there is none."""

    file: str = ""
    problem: str = ""


class Thumbnails:
    """A folder of cached thumbnails, ``size`` pixels on the longest side; ``made`` and
    ``reused`` count them."""

    def __init__(self, folder: str | os.PathLike, size: int = SIZE):
        self.folder = os.fspath(folder)
        self.size = size
        self.made = 0
        self.reused = 0
        self._seen: dict[str, Thumbnail] = {}

    def get(self, path: str) -> Thumbnail:
        """The thumbnail of image ``path``, made now unless cached."""
        if path not in self._seen:
            self._seen[path] = self._make(path)
        return self._seen[path]

    def _make(self, path: str) -> Thumbnail:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return Thumbnail(problem="image no longer at this path")
        except OSError as exc:
            return Thumbnail(problem=describe_error(exc))
        identity = f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\0{self.size}"
        name = hashlib.sha1(identity.encode("utf-8", "surrogateescape")).hexdigest()[:20]
        file = os.path.join(self.folder, name + ".jpg")
        if os.path.exists(file):
            self.reused += 1
            return Thumbnail(file)
        try:
            with Image.open(path) as img:
                img.draft("RGB", (self.size, self.size))
                check_pixels(img.size)
                small = to_rgb(ImageOps.exif_transpose(img))
                small.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
        except Exception as exc:  # noqa: BLE001 (an image that cannot be read is a placeholder)
            return Thumbnail(problem=describe_error(exc))
        os.makedirs(self.folder, exist_ok=True)
        partial = f"{file}.{os.getpid()}.part"
        small.save(partial, "JPEG", quality=QUALITY)
        os.replace(partial, file)
        self.made += 1
        return Thumbnail(file)
