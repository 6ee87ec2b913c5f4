"""featx.images.files: only regular files are images; a FIFO or a device fails at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from featx.images.files import NotAnImageFile, image_key, read_image
from tests.helpers import REPO, embed_args, write_image


def test_the_key_is_the_hash_of_the_bytes_read(tmp_path):
    path = write_image(tmp_path / "a.jpg", seed=1)
    image = read_image(path)
    assert image.data == path.read_bytes() and image.size == len(image.data)
    assert image_key(path) == (image.key, image.size, image.mtime)


@pytest.mark.parametrize("make, reason", [
    (lambda p: os.mkfifo(p), "not a regular file (a FIFO)"),
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file (a character device)"),
])
def test_a_fifo_or_a_device_is_refused_at_once(tmp_path, make, reason):
    path = tmp_path / "x.jpg"
    make(path)
    with pytest.raises(NotAnImageFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_image(path)
    with pytest.raises(NotAnImageFile):
        image_key(path)


def test_embedding_a_tree_with_a_fifo_and_a_dev_zero_link_finishes_with_their_reasons(
        class_tree, tmp_path, tiny_model_file):
    os.mkfifo(class_tree / "train" / "cats" / "pipe.jpg")
    (class_tree / "train" / "dogs" / "zero.jpg").symlink_to("/dev/zero")
    out = tmp_path / "f.h5"
    proc = subprocess.run([sys.executable, "-m", "featx", *embed_args(class_tree, out,
                                                                       tiny_model_file)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "pipe.jpg: not a regular file (a FIFO)" in proc.stdout
    assert "zero.jpg: not a regular file (a character device)" in proc.stdout
    assert "embedded 12" in proc.stdout
