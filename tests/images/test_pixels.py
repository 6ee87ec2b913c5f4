"""featx.images.pixels: pixels decoded in threads, one batch ahead, failures handed back."""

from __future__ import annotations

import numpy as np
import pytest

from featx.errors import FeatxError
from featx.images.decode import decode_image
from featx.images.pixels import decode_ahead, load_pixels
from tests.helpers import write_image


def test_batches_come_in_order_with_each_failure_in_its_place(tmp_path):
    paths = [str(write_image(tmp_path / f"{i}.jpg", i)) for i in range(5)]
    paths.insert(2, str(tmp_path / "missing.jpg"))
    batches = list(decode_ahead(paths, (32, 24), "pad", batch_size=4, threads=2))
    assert [len(b) for b in batches] == [4, 2]
    flat = [p for batch in batches for p in batch]
    assert isinstance(flat[2], FileNotFoundError)
    for path, pixels in zip(paths, flat, strict=True):
        if path != paths[2]:
            np.testing.assert_array_equal(pixels, decode_image(path, (32, 24), "pad"))
            assert pixels.shape == (32, 24, 3)


def test_only_regular_non_empty_files_are_read(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(FeatxError, match="empty file"):
        load_pixels(tmp_path / "empty.jpg", (32, 32), "squash")
    (tmp_path / "folder.jpg").mkdir()
    with pytest.raises(OSError):
        load_pixels(tmp_path / "folder.jpg", (32, 32), "squash")
