"""Plain-text outputs of the learning side and the commands: aligned tables, CSV, JSON, text.
CSV lines end with ``\n``, as every other file featx writes.

>>> print(format_table([{"head": "logreg", "cv_score": 0.975}, {"head": "knn", "cv_score": 0.95}]))
head    cv_score
logreg  0.975
knn     0.95
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence


def format_table(rows: Sequence[Mapping]) -> str:
    """Rows of dicts as an aligned plain-text table (columns of the first row)."""
    if not rows:
        return "(empty)"
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping],
              columns: Sequence[str] | None = None) -> None:
    """Rows of dicts as CSV; ``columns`` default to every key, in order of first appearance."""
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: str | os.PathLike, data: Mapping) -> None:
    write_text(path, json.dumps(data, indent=2))


def write_text(path: str | os.PathLike, text: str) -> None:
    """``text`` as a file that ends with a newline."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")

