"""``weightlab figure KIND``: one figure straight from a quick computation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from weightlab._validate import OneOf, check
from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.data import load_dataset
from weightlab.report.figures import save
from weightlab.report.landscape import landscape_figure
from weightlab.report.paths import path_figure, regularization_path

KINDS = ("landscape", "path")


@app.command("figure")
def figure(
    kind: Annotated[
        str,
        typer.Argument(help="landscape (2-D loss with L1/L2) or path (coefficients against λ)."),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Output file, .png or .svg.")] = Path(
        "figure.png"
    ),
    function: Annotated[
        str,
        typer.Option(
            help="landscape: quadratic, himmelblau, rosenbrock, beale, rastrigin, booth, "
            "matyas or model."
        ),
    ] = "quadratic",
    penalty: Annotated[str, typer.Option(help="landscape: both, l1, l2 or none.")] = "both",
    lam: Annotated[
        float | None, typer.Option("--lam", help="landscape: penalty strength λ.")
    ] = None,
    rule: Annotated[str, typer.Option(help="landscape: L1 rule of the descent path.")] = "proximal",
    dataset: Annotated[
        str, typer.Option(help="path: a regression dataset (multicollinear, diabetes).")
    ] = "multicollinear",
    kinds: Annotated[
        str, typer.Option(help="path: comma-separated l1, l2, elastic_net.")
    ] = "l1,l2,elastic_net",
    as_json: JsonFlag = False,
) -> None:
    """Make one figure, e.g. weightlab figure landscape --function rosenbrock --lam 0.5."""
    check("figure", {"kind": kind}, {"kind": OneOf(KINDS)})
    if kind == "landscape":
        fig = landscape_figure(function, penalty, lam, rule=rule)
        info: dict[str, Any] = {"function": function, "penalty": penalty, "lam": lam, "rule": rule}
    else:
        # Raw units, centred: the paths then meet the dataset's true coefficients.
        data = load_dataset(dataset, standardize=False)
        x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
        x, y = x - x.mean(axis=0), y - y.mean()
        results = [regularization_path(x, y, k.strip()) for k in kinds.split(",")]
        truth = data.info.get("coef")
        fig = path_figure(results, truth=truth)
        info = {
            "dataset": dataset,
            "kinds": [r.kind for r in results],
            "sparsity_at_smallest_lambda": [float(r.sparsity[-1]) for r in results],
        }
    path = save(fig, out_file)
    if as_json:
        emit_json({"kind": kind, "file": str(path), **info})
    else:
        out.print(f"Wrote {path}", soft_wrap=True)
