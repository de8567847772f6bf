"""What every command shares: the Typer app, the console, JSON output, number format."""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from weightlab._json import to_json

app = typer.Typer(
    name="weightlab",
    help="Neural-network weight initialization and regularization: implemented, shown, measured.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the results as JSON.")]
SeedOption = Annotated[
    int, typer.Option(help="Random seed for inputs, init and probes.", min=0, max=2**63 - 1)
]


def emit_json(payload: Any) -> None:
    """Write ``payload`` to stdout as strict JSON."""
    sys.stdout.write(to_json(payload, indent=2) + "\n")


def num(value: float | None, digits: int = 3) -> str:
    """Compact number for tables: ``''`` for None, ``inf``/``nan`` spelled out."""
    if value is None:
        return ""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"
