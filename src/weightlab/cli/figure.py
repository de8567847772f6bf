"""``weightlab figure KIND``: one figure straight from a quick computation."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from matplotlib.figure import Figure

from weightlab._validate import Interval, OneOf, check, fail
from weightlab.cli.common import JsonFlag, activity, app, emit_json, out, output_file
from weightlab.data import load_dataset
from weightlab.interop.trajectory import check_keras_backend
from weightlab.report.agreement import (
    AGREEMENT_FRAMEWORKS,
    agreement_caption,
    agreement_data,
    agreement_figure,
)
from weightlab.report.figures import save
from weightlab.report.landscape import landscape_figure
from weightlab.report.paths import path_figure, regularization_path

KINDS = ("landscape", "path", "agreement")
MAX_STEPS = 10_000  # about three minutes of agreement training on one core
# The upper limit only: agreement_data itself asks for at least one step.
_TABLE = {"kind": OneOf(KINDS), "steps": Interval(-math.inf, MAX_STEPS, integer=True)}
_DOING = {
    "landscape": "Computing the loss landscape and the descent path",
    "path": "Solving the regularization paths",
    "agreement": "Training the setting in each framework",
}


@app.command("figure")
def figure(
    kind: Annotated[
        str,
        typer.Argument(
            help="landscape (2-D loss with L1/L2), path (coefficients against λ) or "
            "agreement (one setting trained in PyTorch, Keras and MLX)."
        ),
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
    setting: Annotated[
        str | None,
        typer.Option(
            help="agreement: an optimizer and/or penalties, e.g. "
            "'keras:SGD(learning_rate=0.1)+L2(0.01)' (see weightlab translate --help).",
            show_default=False,
        ),
    ] = None,
    frameworks: Annotated[
        str,
        typer.Option(
            help="agreement: comma-separated torch, keras, mlx (the setting's own "
            "framework is always trained)."
        ),
    ] = "torch,keras,mlx",
    steps: Annotated[
        int, typer.Option(help=f"agreement: training steps (at most {MAX_STEPS}).")
    ] = 20,
    keras_backend: Annotated[
        str | None,
        typer.Option(
            "--keras-backend",
            help="agreement: the backend Keras trains on: tensorflow, jax or torch "
            "(default: KERAS_BACKEND, else torch).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make one figure: a loss landscape, regularization paths or framework agreement.

    For example weightlab figure landscape --function rosenbrock --lam 0.5, or
    weightlab figure agreement --setting 'keras:SGD(learning_rate=0.1)+L2(0.01)'.
    """
    check("figure", {"kind": kind, "steps": steps}, _TABLE)
    if keras_backend is not None:
        check_keras_backend(keras_backend, "figure")  # a name, and installed, before any work
    output_file("figure", out_file, (".png", ".svg"))
    with activity(_DOING[kind], quiet=as_json) as doing:
        if kind == "landscape":
            fig = landscape_figure(function, penalty, lam, rule=rule)
            info: dict[str, Any] = {
                "function": function,
                "penalty": penalty,
                "lam": lam,
                "rule": rule,
            }
        elif kind == "path":
            fig, info = _path(dataset, kinds)
        else:
            fig, info = _agreement(setting, frameworks, steps, keras_backend)
        doing(f"Saving {out_file}")
        path = save(fig, out_file)
    if as_json:
        emit_json({"kind": kind, "file": str(path), **info})
    else:
        out.print(f"Wrote {path}", markup=False, soft_wrap=True)


def _path(dataset: str, kinds: str) -> tuple[Figure, dict[str, Any]]:
    # Raw units, centred: the paths then meet the dataset's true coefficients.
    data = load_dataset(dataset, standardize=False)
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
    x, y = x - x.mean(axis=0), y - y.mean()
    results = [regularization_path(x, y, k.strip()) for k in kinds.split(",")]
    truth = data.info.get("coef")
    info = {
        "dataset": dataset,
        "kinds": [r.kind for r in results],
        "sparsity_at_smallest_lambda": [float(r.sparsity[-1]) for r in results],
    }
    return path_figure(results, truth=truth), info


def _agreement(
    setting: str | None, frameworks: str, steps: int, keras_backend: str | None
) -> tuple[Figure, dict[str, Any]]:
    if setting is None:
        example = "'keras:SGD(learning_rate=0.1)+L2(0.01)'"
        raise fail("figure", "setting", f"given for the agreement figure, e.g. {example}", None)
    chosen = tuple(f.strip() for f in frameworks.split(",") if f.strip())
    # Checked here too, so that the errors name the options typed, not the library call.
    check("figure", {"steps": steps}, {"steps": Interval(1, MAX_STEPS, integer=True)})
    if not chosen or len(set(chosen)) < len(chosen) or set(chosen) - set(AGREEMENT_FRAMEWORKS):
        names = ", ".join(repr(f) for f in AGREEMENT_FRAMEWORKS)
        expected = f"comma-separated distinct names from {names}"
        raise fail("figure", "frameworks", expected, frameworks)
    if "keras" in chosen and keras_backend is None and "KERAS_BACKEND" in os.environ:
        check_keras_backend(os.environ["KERAS_BACKEND"], "figure", "KERAS_BACKEND")
    data = agreement_data(setting, chosen, steps=steps, keras_backend=keras_backend)
    return agreement_figure(data), {**data.summary(), "caption": agreement_caption(data)}
