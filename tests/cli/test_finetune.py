"""featx finetune on the command line: every fine-tuning option has a flag whose default is the
option's default."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from featx.cli.finetune import DEFAULTS, unfreeze, validation
from featx.cli.main import build_parser
from featx.finetuning.options import FinetuneOptions


def test_the_flags_default_to_the_options_defaults():
    args = build_parser().parse_args(["finetune", "photos", "out.keras"])
    assert DEFAULTS == FinetuneOptions()
    for field in fields(FinetuneOptions):
        if field.name != "validation_fraction":  # a fraction given to --validation
            value = getattr(args, field.name)
            assert (tuple(value) if field.name == "compare" else value) == getattr(
                DEFAULTS, field.name), field.name
    assert args.backbone == "efficientnet_lite0" and args.features is None


def test_unfreeze_and_validation_take_words_or_numbers():
    assert (unfreeze("all"), unfreeze("2"), validation("held-out"), validation("0.3")) == (
        "all", 2, "held-out", 0.3)
    with pytest.raises(argparse.ArgumentTypeError):
        unfreeze("top")
    with pytest.raises(argparse.ArgumentTypeError):
        validation("val")
