"""The embedding run behind ``featx embed``: plan -> batches through the backbone -> the journal."""
