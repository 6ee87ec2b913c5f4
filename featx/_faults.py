"""Test hook for crash injection: make the process signal itself at a named point.

``FEATX_TEST_KILL_AT=POINT:N[:SIGNAL]`` (e.g. ``commit-replaced:1`` or ``part:3:SIGINT``) sends
SIGNAL (default SIGKILL) to this process the N-th time :func:`reach` is called with POINT. The
variable is read once at import; unset (always, outside the crash tests), :func:`reach` returns
at once. Points: ``lock``, ``decode``, ``part``, ``part-filled``, ``part-synced``,
``part-replaced``, ``commit-copied``, ``commit-merged``, ``commit-filled``, ``commit-synced``,
``commit-replaced``, ``commit-unlinked``, ``summary``.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("FEATX_TEST_KILL_AT", "").split(":")
_COUNTS: dict[str, int] = {}


def reach(point: str) -> None:
    """Count one arrival at ``point``; signal this process if the hook names this arrival."""
    if _SPEC[0] != point:
        return
    _COUNTS[point] = _COUNTS.get(point, 0) + 1
    if _COUNTS[point] == int(_SPEC[1]):
        name = _SPEC[2] if len(_SPEC) > 2 else "SIGKILL"
        os.kill(os.getpid(), getattr(signal, name))
