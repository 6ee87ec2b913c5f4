"""Backbones: the registry, the feature configuration, and the feature function h = f(x; W)."""
