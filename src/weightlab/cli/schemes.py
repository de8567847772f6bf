"""``weightlab schemes``: the registry of initialization schemes."""

from __future__ import annotations

import re
from typing import Any

from rich.table import Table
from rich.text import Text

from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.init import scheme_names
from weightlab.init.schemes import REGISTRY

__all__ = ["first_sentence", "schemes"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line, with the
    reStructuredText literal quotes (````x````) dropped.

    Example:
        >>> first_sentence('''``U(low, high)``, with no dependence on the layer's size;
        ...     requires ``low < high``.  Drawn as torch does.
        ...
        ...     More.''')
        "U(low, high), with no dependence on the layer's size; requires low < high."
    """
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0].replace("``", "")


@app.command("schemes")
def schemes(as_json: JsonFlag = False) -> None:
    """List every initialization scheme with its parameters and defaults."""
    rows: list[dict[str, Any]] = []
    for name in scheme_names():
        entry = REGISTRY[name]
        defaults = {p.name: p.default for p in entry.signature.parameters.values()}
        summary = first_sentence(entry.raw.__doc__ or entry.summary)
        rows.append({"name": name, "parameters": defaults, "summary": summary})
    if as_json:
        emit_json(rows)
        return
    table = Table()
    table.add_column("scheme", no_wrap=True)
    # Long words (torch.nn.init.trunc_normal_) fold onto the next line, never cut.
    table.add_column("parameters (defaults)", overflow="fold")
    table.add_column("what it is", overflow="fold")
    for row in rows:
        shown = ", ".join(f"{k}={v!r}" for k, v in row["parameters"].items())
        # Text cells: brackets in formulas ([a, b]) are not Rich markup.
        table.add_row(Text(row["name"]), Text(shown), Text(row["summary"]))
    out.print(table)
