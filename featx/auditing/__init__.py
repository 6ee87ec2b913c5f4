"""Auditing a data set from its cached features: duplicates, leaks, label errors, outliers."""
