"""The README's examples: what they write stays out of the repository's tracked files."""

from __future__ import annotations

import re

from tests.helpers import REPO


def test_the_python_examples_write_only_under_runs():
    text = (REPO / "README.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    written = re.findall(r"""["']([^"']+\.(?:h5|skops|csv))["']""", code)
    assert written and all(path.startswith("runs/") for path in written), written
    assert "/runs/" in (REPO / ".gitignore").read_text().split()
