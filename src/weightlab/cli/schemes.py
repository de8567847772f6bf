"""``weightlab schemes``: the registry of initialization schemes."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.init import scheme_names
from weightlab.init.schemes import REGISTRY


@app.command("schemes")
def schemes(as_json: JsonFlag = False) -> None:
    """List every initialization scheme with its parameters and defaults."""
    rows: list[dict[str, Any]] = []
    for name in scheme_names():
        entry = REGISTRY[name]
        defaults = {p.name: p.default for p in entry.signature.parameters.values()}
        rows.append({"name": name, "parameters": defaults, "summary": entry.summary})
    if as_json:
        emit_json(rows)
        return
    table = Table("scheme", "parameters (defaults)", "what it is")
    for row in rows:
        shown = ", ".join(f"{k}={v!r}" for k, v in row["parameters"].items())
        table.add_row(row["name"], shown, row["summary"])
    out.print(table)
