"""``featx backbones``: the registry, with input and feature sizes; ``--fetch`` caches weights."""

from __future__ import annotations

import argparse
import os

from featx.backbones import registry
from featx.backbones.config import resolve
from featx.cli.options import EXIT_OK


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("backbones", help="list built-in backbones", description=__doc__)
    p.add_argument("--fetch", nargs="+", metavar="NAME", default=[],
                   help="download and cache ImageNet weights now (for offline use later)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.fetch:
        from featx.backbones.build import load_backbone

        for name in args.fetch:
            net = load_backbone(resolve(name, weights="imagenet"))
            print(f"{name}: ImageNet weights cached ({net.dim}-d features)")
        print(f"Keras cache folder: {os.path.join(os.path.expanduser('~'), '.keras', 'models')}"
              " (or $KERAS_HOME/models)")
        return EXIT_OK
    print(f"{'name':<20} {'input':>7}  {'features':>8}  default layer (pooled with avg)")
    for spec in registry.BACKBONES.values():
        print(spec.describe())
    print("Any Keras model file (.keras, .h5) is a backbone too: --backbone FILE --layer NAME.")
    return EXIT_OK
