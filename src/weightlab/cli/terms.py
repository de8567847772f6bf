"""``weightlab terms``: the registry of regularization terms."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.cli.schemes import first_sentence
from weightlab.regularize import REGISTRY, Param
from weightlab.regularize.registry import REQUIRED

__all__ = ["terms"]


def _param(p: Param) -> dict[str, Any]:
    required = p.default is REQUIRED
    return {"required": required, "default": None if required else p.default, "rule": p.describe()}


@app.command("terms")
def terms(as_json: JsonFlag = False) -> None:
    """List every regularization term: its kinds, parameters and what it does."""
    rows: list[dict[str, Any]] = [
        {
            "name": entry.name,
            "kinds": list(entry.kinds()),
            "parameters": {p.name: _param(p) for p in entry.params},
            "effect": entry.effect,
            "summary": " / ".join(first_sentence(entry.doc_of(k)) for k in entry.kinds()),
        }
        for entry in REGISTRY.values()
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table()
    table.add_column("term", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("parameters (defaults)", overflow="fold")
    table.add_column("what it does", overflow="fold")
    for row in rows:
        params = ", ".join(
            name if p["required"] else f"{name}={p['default']!r}"
            for name, p in row["parameters"].items()
        )
        # Text cells: brackets in formulas are not Rich markup.
        table.add_row(
            Text(row["name"]), Text("/".join(row["kinds"])), Text(params), Text(row["summary"])
        )
    out.print(table)
