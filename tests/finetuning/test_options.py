"""featx.finetuning.options: one value object for a fine-tuning run, checked once."""

from __future__ import annotations

import pytest

from featx.errors import FeatxError
from featx.finetuning.options import FinetuneOptions, make_options


def test_stage_one_is_free_after_a_logistic_regression_start_and_ten_epochs_from_random():
    assert FinetuneOptions().stage1_epochs == 0
    assert FinetuneOptions(init="random").stage1_epochs == 10
    assert FinetuneOptions(init="random", head_epochs=3).stage1_epochs == 3


@pytest.mark.parametrize(("options", "message"), [
    (dict(augment="heavy"), "augment must be one of default, none, got 'heavy'"),
    (dict(unfreeze=-1), "unfreeze must be a number of blocks >= 0 or 'all', got -1"),
    (dict(epochs=0), "epochs must be at least 1, got 0"),
    (dict(learning_rate=0), "learning_rate must be positive, got 0"),
    (dict(dropout=1.0), r"dropout must be in \[0, 1\), got 1.0"),
    (dict(validation=1.5), "validation must be auto, held-out or a fraction in"),
    (dict(validation="val"), "validation must be one of auto, held-out, got 'val'"),
    (dict(test_size=0.0), r"test_size must be a fraction in \(0, 1\), got 0.0"),
    (dict(compare=()), "compare needs at least one classical head"),
])
def test_a_bad_option_is_one_clear_error(options, message):
    with pytest.raises(FeatxError, match=message):
        FinetuneOptions(**options)


def test_unknown_keywords_are_refused_by_name():
    with pytest.raises(FeatxError, match="unknown fine-tuning option.s. epoch; known: "):
        make_options(epoch=3)
    assert make_options(compare=["logreg", "knn"]).compare == ("logreg", "knn")
