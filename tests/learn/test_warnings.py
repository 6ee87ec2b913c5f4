"""featx.learn._warnings: a fit's warnings caught in its own thread, told as one line each."""

from __future__ import annotations

import threading
import warnings

from featx.learn._warnings import catching, fitting, forget, summarize
from featx.learn.heads import HEADS


def test_each_thread_collects_its_own_warnings_under_its_label():
    found = {}

    def fit(name: str) -> None:
        with catching() as caught:
            fitting(f"{name} C=1")
            warnings.warn(f"{name} did not converge", UserWarning, stacklevel=2)
        found[name] = caught

    threads = [threading.Thread(target=fit, args=(n,)) for n in ("logreg", "ridge")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert summarize(found["logreg"]) == ["logreg C=1: logreg did not converge (UserWarning)"]
    assert summarize(found["ridge"]) == ["ridge C=1: ridge did not converge (UserWarning)"]


def test_outside_a_block_warnings_show_as_usual_and_filters_are_restored():
    before = list(warnings.filters)
    with catching():
        pass
    assert warnings.filters == before
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.warn("shown", UserWarning, stacklevel=2)
    assert [str(w.message) for w in shown] == ["shown"]


def test_repeats_are_counted_and_places_listed_up_to_three():
    with catching() as caught:
        for c in (0.1, 1, 10, 100):
            fitting(f"logreg C={c}")
            warnings.warn("lbfgs failed to converge\nIncrease the number of iterations.",
                          UserWarning, stacklevel=2)
    assert summarize(caught) == ["logreg C=0.1; logreg C=1; logreg C=10; and 1 more: lbfgs "
                                 "failed to converge (UserWarning, 4 fits)"]


def test_benign_warnings_of_a_head_are_left_out_and_forget_drops_one_kind():
    with catching() as caught:
        fitting("centroid norm=none")
        warnings.warn_explicit("zero standard deviation in class", UserWarning,
                               "sklearn/neighbors/_nearest_centroid.py", 1)
        warnings.warn("overflow", RuntimeWarning, stacklevel=2)
        forget(RuntimeWarning)
    assert summarize(caught, HEADS["centroid"].benign) == []
    assert len(summarize(caught)) == 1
