"""featx finetune SOURCE OUT.keras: fine-tune a backbone into a Keras classifier.

The images of SOURCE are embedded with the frozen base, and the classical heads of --compare are
grid-searched on those features and scored on the held-out rows, as `featx train` chooses them
(the test or val split, else --test-size of the labelled images). Stage 1 fits a new head
(dropout + dense softmax) on the frozen base, starting from a logistic regression on its
features; stage 2 trains the top --unfreeze blocks at a low learning rate, with augmentation and
early stopping, keeping the best weights (Ctrl-C keeps the best so far, saves them and exits
130). The fine-tuned network's held-out accuracy is printed next to the classical heads'.

OUT.keras is a plain Keras model: `featx embed SOURCE F.h5 --backbone OUT.keras --layer NAME`
gives its features (NAME is printed), `featx predict OUT.keras SOURCE --out DIR` classifies.
"""

from __future__ import annotations

import argparse

from featx.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    HEAD_NAMES,
    add_batch_size_option,
    add_command,
    add_feature_options,
    add_held_out_options,
    add_quiet_option,
    feature_config,
    names,
    out_file,
)
from featx.finetuning.options import (
    AUGMENTS,
    INITS,
    PRECISIONS,
    RANDOM_INIT_HEAD_EPOCHS,
    UNFREEZE_BY,
    FinetuneOptions,
)

DEFAULTS = FinetuneOptions()


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "finetune", "fine-tune a backbone into a .keras classifier",
                    __doc__)
    p.add_argument("source", help="class-folder tree, split tree (train/val/test) or .csv/.txt "
                   "list of labelled images")
    p.add_argument("out", help="the fine-tuned classifier, a .keras file (missing folders are "
                   "created)")
    add_feature_options(p, augment=False)
    g = p.add_argument_group("fine-tuning")
    g.add_argument("--unfreeze", type=unfreeze, default=DEFAULTS.unfreeze, metavar="N|all",
                   help="stage 2 trains the top N blocks of the base, or all (0: the head only)")
    g.add_argument("--unfreeze-by", choices=UNFREEZE_BY, default=DEFAULTS.unfreeze_by,
                   help="count --unfreeze in blocks (block7a_..., conv5_block3_...) or in layers "
                   "with weights")
    g.add_argument("--augment", choices=AUGMENTS, default=DEFAULTS.augment,
                   help="default: random horizontal flip, rotation and zoom (Keras "
                   "preprocessing layers); none: no augmentation (training then runs on stored "
                   "activations)")
    g.add_argument("--rotation", type=float, default=DEFAULTS.rotation, metavar="FRACTION",
                   help="largest random rotation, as a fraction of a full turn")
    g.add_argument("--zoom", type=float, default=DEFAULTS.zoom, metavar="FRACTION",
                   help="largest random zoom in or out")
    g.add_argument("--epochs", type=int, default=DEFAULTS.epochs, metavar="N",
                   help="most stage-2 epochs")
    g.add_argument("--lr", type=float, default=DEFAULTS.learning_rate, dest="learning_rate",
                   metavar="RATE", help="stage-2 learning rate (Adam)")
    g.add_argument("--init", choices=INITS, default=DEFAULTS.init,
                   help="the head starts from a logistic regression on the frozen features, or "
                   "from random weights")
    g.add_argument("--head-epochs", type=int, default=DEFAULTS.head_epochs, metavar="N",
                   help=f"stage-1 epochs (default: 0 after --init logreg, "
                   f"{RANDOM_INIT_HEAD_EPOCHS} after --init random)")
    g.add_argument("--head-lr", type=float, default=DEFAULTS.head_learning_rate,
                   dest="head_learning_rate", metavar="RATE",
                   help="stage-1 learning rate (Adam)")
    g.add_argument("--patience", type=int, default=DEFAULTS.patience, metavar="N",
                   help="stop after this many epochs without a lower validation loss")
    g.add_argument("--dropout", type=float, default=DEFAULTS.dropout, metavar="FRACTION",
                   help="dropout before the new head")
    g.add_argument("--validation", type=validation, default=DEFAULTS.validation,
                   metavar="auto|held-out|FRACTION",
                   help=f"early-stopping rows: auto (a second split, such as val when test is "
                   f"held out, else {DEFAULTS.validation_fraction:g} of the training images), a "
                   "fraction of the training images, or held-out (the held-out images: their "
                   "accuracy is then optimistic)")
    g.add_argument("--precision", choices=PRECISIONS, default=DEFAULTS.precision,
                   help="auto: mixed float16 on GPUs that gain from it, else float32")
    c = p.add_argument_group("comparison and held-out rows")
    c.add_argument("--compare", type=names, default=list(DEFAULTS.compare),
                   metavar="NAME[,NAME...]|all",
                   help=f"classical heads grid-searched on the frozen features: "
                   f"{', '.join(HEAD_NAMES)}, or all (default: {','.join(DEFAULTS.compare)})")
    c.add_argument("--cv", type=int, default=DEFAULTS.cv, metavar="K",
                   help="cross-validation folds of the classical heads and of the head's "
                   "logistic-regression start")
    add_held_out_options(c)
    c.add_argument("--drop-leaks", action="store_true",
                   help="leave out held-out images that have an exact copy among the training "
                   "images (by default they stay, with a warning)")
    r = p.add_argument_group("run")
    add_batch_size_option(r)
    r.add_argument("--threads", type=int, default=None, metavar="N",
                   help="decode threads (default: $FEATX_THREADS, else one per core)")
    r.add_argument("--features", default=None, metavar="FILE.h5",
                   help="feature file to keep the frozen features in, reused and extended "
                   "(default: a temporary file)")
    add_quiet_option(r)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from featx.finetuning.run import check_out
    from featx.finetuning.run import run as finetune

    options = FinetuneOptions(**{f.name: getattr(args, f.name) for f in fields(FinetuneOptions)
                                 if f.name not in ("compare", "validation_fraction")},
                              compare=tuple(args.compare))
    config = feature_config(args)
    check_out(args.out)
    log = (lambda line: None) if args.quiet else print
    result = finetune(config, args.source, out_file(args.out), options,
                      features=args.features and out_file(args.features),
                      progress=not args.quiet, log=log)
    print(result.summary())
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def unfreeze(text: str) -> int | str:
    """``--unfreeze N|all``."""
    if text == "all":
        return text
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of blocks or all, got {text!r}")
    return int(text)


def validation(text: str) -> str | float:
    """``--validation auto|held-out|FRACTION``."""
    if text in ("auto", "held-out"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected auto, held-out or a fraction, got {text!r}") from None
