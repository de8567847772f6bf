"""Tables that stay readable in a narrow terminal or a file (80 columns): long labels
are replaced by short keys with a legend underneath, numbers are never cut, and no
cell is read as Rich markup.

Example:
    >>> rows = [["l1(0.0001, rule=proximal)", "0.804"], ["l2(0.001)+dropout(0.3)", "0.61"]]
    >>> table, legend = fit_table(["regularization", "val_loss"], rows, labels=1, width=30)
    >>> for line in legend:
    ...     print(line)
    R1  regularization = l1(0.0001, rule=proximal)
    R2  regularization = l2(0.001)+dropout(0.3)
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

__all__ = ["fit_table"]

_GAP = 2  # columns between cells
_SHORT = 8  # labels this long or shorter are never abbreviated
_HEADER = 6  # an abbreviated column's header is cut to this when space is still short


def _widths(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]


def _total(header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    return sum(_widths(header, rows)) + _GAP * (len(header) - 1)


def _abbreviate(name: str, column: list[str]) -> tuple[list[str], list[str]]:
    """Short keys for a column's distinct values, in order of appearance, and the
    legend lines that spell them out."""
    prefix = name[:1].upper() or "C"
    keys: dict[str, str] = {}
    for value in column:
        keys.setdefault(value, f"{prefix}{len(keys) + 1}")
    legend = [f"{key}  {name} = {value}" for value, key in keys.items()]
    return [keys[v] for v in column], legend


def fit_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    labels: int,
    width: int,
) -> tuple[Table, list[str]]:
    """A Rich table of ``rows`` (strings) whose first ``labels`` columns are settings
    (left-aligned, abbreviable) and the rest numbers (right-aligned), fitted to
    ``width`` columns: while it is too wide, the widest label column's values become
    keys (``R1``, ``R2``) spelled out in the returned legend lines (labels of up to
    eight characters are kept), and if that is not enough their headers are shortened
    (``regul.``; the legend names them in full).  Columns that still do not fit fold
    onto more lines; none is cut."""
    cells = [list(r) for r in rows]
    names = list(header)
    legend: list[str] = []
    done: set[int] = set()
    while _total(names, cells) > width:
        widths = _widths(names, cells)
        candidates = [
            i for i in range(labels) if i not in done and widths[i] > max(len(names[i]), _SHORT)
        ]
        if not candidates:
            break
        i = max(candidates, key=lambda c: widths[c])
        done.add(i)
        column, lines = _abbreviate(names[i], [r[i] for r in cells])
        for row, key in zip(cells, column, strict=True):
            row[i] = key
        legend += lines
    for i in sorted(done):  # still too wide: the legend names these columns in full
        if _total(names, cells) > width and len(names[i]) > _HEADER:
            names[i] = names[i][: _HEADER - 1] + "."
    # Whole headers when everything fits; otherwise Rich may fold them too.
    fits = _total(names, cells) <= width
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, name in enumerate(names):
        table.add_column(
            name,
            justify="left" if i < labels else "right",
            overflow="fold",
            min_width=len(name) if fits else 1,
        )
    for row in cells:
        table.add_row(*(Text(c) for c in row))
    return table, legend
