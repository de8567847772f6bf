"""``weightlab claims``: a sweep's claims judged again from the store, without training;
and the claims table ``weightlab run`` prints after training."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from weightlab._validate import fail
from weightlab.claims import Verdict
from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.cli.store import open_store
from weightlab.store import DEFAULT_STORE
from weightlab.sweep.judge import judge

__all__ = ["claims", "claims_table", "print_claims"]

STYLES = {"holds": "green", "fails": "red", "inconclusive": "yellow"}


def _number(value: float) -> str:
    return f"{value:+.3g}" if math.isfinite(value) else str(value)


def claims_table(verdicts: Sequence[Verdict], title: str | None = None) -> Table:
    """The claims as a table: the claim, its verdict, the effect with its 95% interval,
    and the test."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("claim", overflow="fold", ratio=3)
    table.add_column("verdict", no_wrap=True)
    table.add_column("effect [95% interval]", overflow="fold", ratio=2)
    table.add_column("test", overflow="fold", ratio=1)
    for v in verdicts:
        interval = f"{_number(v.effect)} [{_number(v.low)}, {_number(v.high)}]"
        table.add_row(
            Text(v.text), Text(v.verdict, style=STYLES[v.verdict]), Text(interval), Text(v.test)
        )
    return table


def print_claims(verdicts: Sequence[Verdict], title: str | None = None) -> None:
    """Print the claims table and a one-line count, or nothing without claims."""
    if not verdicts:
        return
    out.print(claims_table(verdicts, title))
    counts = {kind: sum(v.verdict == kind for v in verdicts) for kind in STYLES}
    out.print(", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".")


@app.command("claims")
def claims(
    sweep: Annotated[
        str | None, typer.Option(help="One sweep only (default: every sweep with claims).")
    ] = None,
    store: Annotated[Path, typer.Option(help="The run store's folder.")] = DEFAULT_STORE,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 unless every claim holds.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Judge the claims of stored sweeps again, from the store, without training.

    Each claim compares a metric between groups of runs paired by seed (or against a
    number) and comes out as holds, fails or inconclusive, with the effect, its 95%
    interval and the test used.
    """
    runs = open_store(store, "claims")
    if sweep is not None and sweep not in runs.sweeps():
        known = ", ".join(runs.sweeps()) or "none yet"
        raise fail("claims", "sweep", f"a sweep in the store ({known})", sweep)
    names = [sweep] if sweep is not None else runs.sweeps()
    judged = {name: judge(runs, name) for name in names}
    if sweep is None:
        judged = {name: v for name, v in judged.items() if v}
    if as_json:
        emit_json({name: [v.to_json() for v in verdicts] for name, verdicts in judged.items()})
    else:
        if not judged:
            out.print(f"No sweep in {store} states claims.")
        for name, verdicts in judged.items():
            if verdicts:
                print_claims(verdicts, title=f"{name}: claims")
            else:
                out.print(f"{name} states no claims.")
    every = [v for verdicts in judged.values() for v in verdicts]
    if strict and any(v.verdict != "holds" for v in every):
        raise typer.Exit(1)
