"""Images in: list a source's images with their labels and splits, decode each to RGB pixels."""
