"""The HDF5 feature file: its schema, writing and reading it, the crash-safe journal, checks."""
