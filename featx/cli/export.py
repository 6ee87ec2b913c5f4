"""featx export FEATURES.h5 OUT: the features as .npz, .parquet or .csv, one row per listed image.

Columns: path, label, split, key (the content key: exact copies share one) and the features (CSV:
one column per dimension, f0..fD-1; Parquet: one `features` column of float32 vectors, the
configuration in the schema metadata; .npz: the arrays X, y, label_names, paths, split, keys and
meta). Values round-trip exactly. Parquet and CSV need the extra featx[export] (pandas, pyarrow).
Like embed, export writes the file named by OUT (its missing folders created).
"""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, add_command, add_config_option, out_file


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "export", "write features to .npz, .parquet or .csv", __doc__)
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    p.add_argument("out", help="the file to write: .npz, .parquet or .csv")
    add_config_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.store.export import export, out_format
    from featx.store.read import load

    out_format(args.out)
    with load(args.features, args.config) as feats:
        print(export(feats, out_file(args.out)))
        unembedded = len(feats.errors) + len(feats.missing)
        if unembedded:
            print(f"  {unembedded} listed images have no features (they failed to embed, or "
                  f"were not embedded with this configuration) and are not rows; `featx info "
                  f"{args.features}` lists them")
    return EXIT_OK
