"""``weightlab seed-example``: seed 001's iteration tables, exact beside the printed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from weightlab.cli.common import JsonFlag, app, emit_json, num, out
from weightlab.seed_example import SeedConfig, SeedResult, run_seed_example

_TITLES = {"none": "No regularization", "l2": "L2"}


def seed_tables(result: SeedResult) -> list[Table]:
    """One Rich table per regularizer, with the seed's printed values beside."""
    tables = []
    for name, rows in result.tables.items():
        printed = result.printed.get(name, [])
        title = _TITLES.get(name, f"L1 ({result.config.l1_rule} rule)")
        table = Table(title=title, title_justify="left")
        table.add_column("iter", justify="right")
        for j in (1, 2):
            table.add_column(f"θ{j}", justify="right")
            if printed:
                table.add_column(f"θ{j} (seed)", justify="right", style="dim")
        for i, row in enumerate(rows):
            seed = printed[i] if i < len(printed) else None
            cells = [str(i + 1)]
            for j in range(2):
                # Round away float noise such as 2.8e-17 for an exact 0.
                cells.append(num(round(row[j], 12), 7))
                if printed:
                    cells.append(num(seed[j], 7) if seed else "")
            table.add_row(*cells)
        tables.append(table)
    return tables


def print_seed(result: SeedResult) -> None:
    """The tables, the largest difference from the printed values, and the notes."""
    for table in seed_tables(result):
        out.print(table)
    diffs = result.differences()
    if diffs:
        worst = max(diffs, key=lambda k: diffs[k])
        out.print(
            f"Largest |exact − seed| difference: {diffs[worst]:.2g} ({worst}); "
            + ", ".join(f"{k}: {v:.2g}" for k, v in diffs.items()),
            markup=False,
        )
    else:
        out.print("Settings differ from the seed's, so there are no printed values to compare.")
    for note in result.notes:
        out.print(f"• {note}", markup=False)


@app.command("seed-example")
def seed_example(
    theta1: Annotated[float, typer.Option(help="Starting value of θ1.")] = 1.5,
    theta2: Annotated[float, typer.Option(help="Starting value of θ2.")] = 0.5,
    strength: Annotated[
        float, typer.Option("--strength", "--lambda", help="Regularization strength λ.")
    ] = 0.1,
    lr: Annotated[float, typer.Option("--lr", "--alpha", help="Learning rate α.")] = 0.1,
    grad: Annotated[float, typer.Option(help="The constant data gradient ∂J/∂θ.")] = 1.0,
    steps: Annotated[int, typer.Option(help="Number of iterations.")] = 5,
    l1_rule: Annotated[
        str, typer.Option(help="L1 rule at zero: subgradient, clip or proximal.")
    ] = "clip",
    l2_convention: Annotated[
        str, typer.Option(help="L2 penalty: half_sum_sq ((λ/2)Σθ², the seed's) or sum_sq (λΣθ²).")
    ] = "half_sum_sq",
    as_json: JsonFlag = False,
) -> None:
    """Seed 001's worked example: L1 vs L2 iteration tables, exact beside the printed values."""
    config = SeedConfig((theta1, theta2), strength, lr, grad, steps, l1_rule, l2_convention)
    result = run_seed_example(config)
    if as_json:
        emit_json(result.to_json())
    else:
        print_seed(result)
