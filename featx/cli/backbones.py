"""featx backbones [NAME|FILE]: the built-in backbones, or the layers of one backbone.

Without arguments: every built-in backbone with its input size, feature size and default layer.
With a name or a Keras model file: its layers (the classifier top included), the default cut
marked * and the candidate layers that --layer auto picks marked auto; builds the model with
random weights, so nothing is downloaded. --fetch caches ImageNet
weights for offline use later.
"""

from __future__ import annotations

import argparse
import os

from featx._text import format_table
from featx.backbones import registry
from featx.backbones.config import resolve
from featx.cli.options import EXIT_OK, add_command


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "backbones", "list built-in backbones, or one backbone's layers",
                    __doc__)
    p.add_argument("backbone", nargs="?", default=None, metavar="NAME|FILE",
                   help="list the layers of this backbone or Keras model file (default: list "
                   "the built-in backbones)")
    p.add_argument("--fetch", nargs="+", metavar="NAME", default=[],
                   help="download and cache these backbones' ImageNet weights now, for offline "
                   "use later (default: none)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.fetch:
        fetch(args.fetch)
    elif args.backbone:
        print(layers(args.backbone))
    else:
        print(table())
    return EXIT_OK


def table() -> str:
    """The registry: name, input size, feature size and default layer of every backbone."""
    rows = [{"name": name + (" (default)" if name == registry.DEFAULT_BACKBONE else ""),
             "input": f"{spec.input_size} px", "features": f"{spec.feature_size}-d",
             "default layer (pooled with avg)": spec.default_layer()}
            for name, spec in registry.BACKBONES.items()]
    return (f"{format_table(rows)}\nAny Keras model file (.keras, .h5) is a backbone too: "
            "--backbone FILE --layer NAME.\n`featx backbones NAME` lists a backbone's layers.")


def layers(backbone: str) -> str:
    """A backbone's layers, the one features are cut at by default marked with ``*``, those
    ``--layer auto`` picks with ``auto``."""
    from featx.backbones.build import model_layers
    from featx.backbones.layers import candidate_layers

    config = resolve(backbone, weights=None)
    rows, default = model_layers(config)
    auto = candidate_layers(config)
    if config.is_file:
        cut = f"{default} (*)" if default else "no layer by default (no pooling layer; use --layer)"
        about = f"{backbone}: Keras model file; features are cut at {cut}"
    else:
        spec = registry.get(backbone)
        about = (f"{spec.name}: {spec.input_size}x{spec.input_size} input; features are cut at "
                 f"{spec.default_layer()}{' (*)' if default else ''} by default and pooled to "
                 f"{spec.feature_size}-d")
    marked = [{"": "*" if row["layer"] == default else "", **row,
               "--layer auto": "auto" if row["layer"] in auto else ""} for row in rows]
    named = [name or registry.get(config.backbone).default_layer() for name in auto]
    return (f"{about}\n--layer auto picks (shallow to deep): {', '.join(named)}\n"
            f"{format_table(marked)}")


def fetch(names: list[str]) -> None:
    """Download and cache the ImageNet weights of the backbones ``names``."""
    from featx.backbones.build import load_backbone

    for name in names:
        net = load_backbone(resolve(name, weights="imagenet"))
        print(f"{name}: ImageNet weights cached ({net.dim}-d features)")
    print(f"Keras cache folder: {os.path.join(os.path.expanduser('~'), '.keras', 'models')}"
          " (or $KERAS_HOME/models)")
