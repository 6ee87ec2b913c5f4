"""Warnings raised while fitting heads, caught per thread and told to the user as one line each.

Fits run in worker threads, and :func:`warnings.catch_warnings` is process-wide state that
threads cannot share safely. :func:`catching` instead installs one process-wide hook (counted,
so nested and concurrent users share it) and routes each warning to the list of the thread
that raised it, labelled with what that thread said it was fitting (:func:`fitting`). Threads
with no block of their own (a library's worker threads) report into the main thread's open block
under the main thread's label; with none open, warnings are shown as usual. Nothing touches
``os.environ``.

>>> import warnings
>>> with catching() as caught:
...     fitting("logreg C=0.1, norm=l2")
...     warnings.warn("lbfgs failed to converge", UserWarning)
>>> summarize(caught)
['logreg C=0.1, norm=l2: lbfgs failed to converge (UserWarning)']
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Categories seen every time rather than once per code location, so that each fit's warning is
# attributed to it; DeprecationWarning and the like keep Python's default filters.
CATEGORIES = (UserWarning, RuntimeWarning, FutureWarning)
MAX_WHERE = 3


@dataclass(frozen=True)
class Caught:
    """One warning: where (head and parameters), its category, file and first line."""

    where: str
    category: str
    filename: str
    message: str


_local = threading.local()
_lock = threading.Lock()
_users = 0
_saved: warnings.catch_warnings | None = None
_shown = None
_main: list = [None, ""]  # the main thread's open sink and label, for threads without their own


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    sink, where = getattr(_local, "sink", None), getattr(_local, "where", "")
    if sink is None:
        sink, where = _main
    if sink is None:
        _shown(message, category, filename, lineno, file, line)
        return
    text = str(message).strip().splitlines()
    sink.append(Caught(where, category.__name__, filename, text[0] if text else ""))


@contextmanager
def catching() -> Iterator[list[Caught]]:
    """Collect the warnings this thread raises inside the block (thread-safe, re-entrant)."""
    global _users, _saved, _shown
    with _lock:
        if _users == 0:
            _saved = warnings.catch_warnings()
            _saved.__enter__()
            for category in CATEGORIES:
                warnings.filterwarnings("always", category=category)
            _shown, warnings.showwarning = warnings.showwarning, _show
        _users += 1
    outer = getattr(_local, "sink", None), getattr(_local, "where", "")
    _local.sink, _local.where = [], outer[1]
    main = threading.current_thread() is threading.main_thread()
    if main:
        _main[:] = _local.sink, _local.where
    try:
        yield _local.sink
    finally:
        _local.sink, _local.where = outer
        if main:
            _main[:] = outer
        with _lock:
            _users -= 1
            if _users == 0:
                _saved.__exit__(None, None, None)
                _saved = None


def fitting(where: str) -> None:
    """Label the warnings this thread raises from now on (a head and its parameters)."""
    _local.where = where
    if threading.current_thread() is threading.main_thread():
        _main[1] = where


def forget(category: type[Warning]) -> None:
    """Drop this thread's caught warnings of ``category`` raised under the current label (the
    caller reports the condition its own way)."""
    sink, where = getattr(_local, "sink", None), getattr(_local, "where", "")
    if sink is not None:
        sink[:] = [c for c in sink if not (c.where == where and c.category == category.__name__)]


def summarize(caught: Iterable[Caught], benign=()) -> list[str]:
    """One line per distinct warning: where it came from (the first few), message, category and
    how many fits raised it.

    ``benign`` holds :class:`featx.learn.heads.Benign` rules; matching warnings are left out.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for item in caught:
        if not any(rule.matches(item.filename, item.message) for rule in benign):
            groups.setdefault((item.message, item.category), []).append(item.where)
    lines = []
    for (message, category), found in groups.items():
        wheres = list(dict.fromkeys(found))
        where = "; ".join(wheres[:MAX_WHERE])
        if len(wheres) > MAX_WHERE:
            where += f"; and {len(wheres) - MAX_WHERE} more"
        fits = f", {len(found)} fits" if len(found) > 1 else ""
        lines.append(f"{where}: {message.rstrip(':')} ({category}{fits})")
    return lines
