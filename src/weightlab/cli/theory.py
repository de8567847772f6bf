"""``weightlab theory phase`` and ``weightlab theory spectrum``: mean-field signal
propagation and Jacobian spectra, with the numbers a reader quotes and their figures."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich import box
from rich.table import Table
from rich.text import Text

from weightlab._validate import Interval, OneOf, check, fail
from weightlab.activations import ACTIVATION_FNS
from weightlab.cli.common import (
    JsonFlag,
    SeedOption,
    activity,
    app,
    emit_json,
    num,
    out,
    output_dir,
)
from weightlab.report.figures import save
from weightlab.theory import (
    WEIGHTS,
    PhaseDiagram,
    SpectrumStudy,
    critical_sigma_w2,
    jacobian_spectra,
    phase_diagram,
    phase_figure,
    spectrum_figure,
)

__all__ = ["phase", "spectrum"]

theory_app = typer.Typer(
    help="Mean-field theory: the phase diagram of deep random networks and their Jacobian "
    "spectra, computed beside real networks.",
    no_args_is_help=True,
)
app.add_typer(theory_app, name="theory")

_ACTIVATIONS = tuple(ACTIVATION_FNS)
_PHASE_TABLE = {
    "activation": OneOf(_ACTIVATIONS),
    "sigma_w2_max": Interval(0.0, 100.0, "right"),
    "sigma_b2_max": Interval(0.0, 10.0, "right"),
    "grid": Interval(4, 256, integer=True),
    "width": Interval(1, 100_000, integer=True),
}
_SPECTRUM_TABLE = {
    "sigma_w2": Interval(0.0, 100.0, "right"),
    "sigma_b2": Interval(0.0, 10.0),
    "width": Interval(2, 1024, integer=True),
    "inputs": Interval(1, 64, integer=True),
}
MAX_DEPTH = 256

Out = Annotated[
    Path | None,
    typer.Option("--out", help="Folder to write the figure into (PNG); none without it."),
]


def _infinite(value: float, digits: int = 3) -> str:
    return "∞" if value == math.inf else num(value, digits)


@theory_app.command("phase")
def phase(
    activation: Annotated[
        str, typer.Option(help="Activation: " + ", ".join(_ACTIVATIONS) + ".")
    ] = "tanh",
    sigma_w2_max: Annotated[
        float, typer.Option(help="Right edge of the σ_w² axis, in (0, 100].")
    ] = 4.0,
    sigma_b2_max: Annotated[
        float, typer.Option(help="Top edge of the σ_b² axis, in (0, 10].")
    ] = 0.5,
    grid: Annotated[int, typer.Option(help="Grid points per axis, 4 to 256.")] = 60,
    width: Annotated[
        int,
        typer.Option(
            help="Layer width that places fixed-std schemes (normal(std=0.01): σ_w² = "
            "width · 0.01²)."
        ),
    ] = 256,
    out_dir: Out = None,
    as_json: JsonFlag = False,
) -> None:
    """The (σ_w², σ_b²) phase diagram of a deep random network: ordered (χ₁ < 1) and
    chaotic (χ₁ > 1) phases, the critical line, the correlation depth scale ξ_c, and where
    weightlab's schemes sit (Poole et al. 2016; Schoenholz et al. 2017)."""
    values = {"activation": activation, "sigma_w2_max": sigma_w2_max}
    values |= {"sigma_b2_max": sigma_b2_max, "grid": grid, "width": width}
    check("theory phase", values, _PHASE_TABLE)
    if out_dir is not None:
        output_dir("theory phase", out_dir)
    with activity("Solving the mean-field maps on the grid", quiet=as_json):
        diagram = phase_diagram(
            activation,
            sigma_w2_max=sigma_w2_max,
            sigma_b2_max=sigma_b2_max,
            grid=grid,
            width=width,
        )
    paths = []
    if out_dir is not None:
        with activity("Drawing the phase diagram", quiet=as_json):
            paths.append(str(save(phase_figure(diagram), out_dir / "theory-phase.png")))
    if as_json:
        emit_json({**diagram.to_json(), "files": paths})
        return
    _print_phase(diagram)
    for p in paths:
        out.print(f"Wrote {p}", soft_wrap=True, markup=False)


def _print_phase(d: PhaseDiagram) -> None:
    crit = d.critical_at_zero_bias
    out.print(
        f"{d.activation}: critical σ_w² = {_infinite(crit, 6)} at σ_b² = 0 (χ₁ = 1); "
        f"at σ_b² = {d.critical[-1][0]:g} it is {_infinite(d.critical[-1][1], 4)}.",
        markup=False,
        soft_wrap=True,
    )
    table = Table(
        title=Text(f"Where the schemes sit (a square layer of width {d.width})"),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("scheme", "σ_w²", "σ_b²", "q*", "c*", "χ₁", "ξ_c", "phase"):
        table.add_column(col, justify="left" if col in ("scheme", "phase") else "right")
    for p in d.schemes:
        mf = p.mean_field
        table.add_row(
            Text(p.scheme),
            num(p.sigma_w2, 4),
            num(p.sigma_b2, 3),
            _infinite(mf.q_star),
            f"{mf.c_star:.3f}",
            num(mf.chi1, 4),
            _infinite(mf.xi_c),
            mf.phase,
        )
    out.print(table)
    out.print(
        "σ_w² = width · Var(W), σ_b² = Var(b); weightlab's schemes set biases to 0. "
        "χ₁ = σ_w² E[φ′(√q* z)²]: below 1 inputs become correlated and gradients vanish "
        "(ordered), above 1 they decorrelate and gradients explode (chaotic). ξ_c: layers "
        "over which the correlation of two inputs approaches its fixed point c* (∞ on the "
        "critical line).",
        markup=False,
        soft_wrap=True,
    )


def _parse_list(text: str, option: str, expected: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise fail("theory spectrum", option, expected, text)
    return parts


def _depths(text: str) -> list[int]:
    expected = f"comma-separated ints in [1, {MAX_DEPTH}]"
    parts = _parse_list(text, "depths", expected)
    if not all(p.isdigit() and 1 <= int(p) <= MAX_DEPTH for p in parts):
        raise fail("theory spectrum", "depths", expected, text)
    return sorted({int(p) for p in parts})


@theory_app.command("spectrum")
def spectrum(
    activation: Annotated[
        str, typer.Option(help="Comma-separated activations, each a row of the figure.")
    ] = "tanh,relu",
    sigma_b2: Annotated[float, typer.Option(help="Bias variance σ_b², in [0, 10].")] = 1e-4,
    sigma_w2: Annotated[
        float | None,
        typer.Option(
            help="Weight variance σ_w² = width · Var(W), in (0, 100]; default: each "
            "activation's critical value at this σ_b² (χ₁ = 1).",
            show_default=False,
        ),
    ] = None,
    depths: Annotated[
        str, typer.Option(help=f"Comma-separated depths, each in [1, {MAX_DEPTH}].")
    ] = "4,16,64",
    width: Annotated[int, typer.Option(help="Layer width, 2 to 1024.")] = 256,
    inputs: Annotated[int, typer.Option(help="Inputs whose Jacobians are pooled, 1 to 64.")] = 4,
    seed: SeedOption = 0,
    out_dir: Out = None,
    as_json: JsonFlag = False,
) -> None:
    """Singular values of the input–output Jacobian of real networks at initialization,
    orthogonal beside Gaussian weights, against depth, with the free-probability moments
    (Pennington, Schoenholz & Ganguli 2017)."""
    names = _parse_list(activation, "activation", "comma-separated activations")
    for name in names:
        check("theory spectrum", {"activation": name}, {"activation": OneOf(_ACTIVATIONS)})
    values: dict[str, Any] = {"sigma_b2": sigma_b2, "width": width, "inputs": inputs}
    if sigma_w2 is not None:
        values["sigma_w2"] = sigma_w2
    check("theory spectrum", values, _SPECTRUM_TABLE)
    chosen = _depths(depths)
    if out_dir is not None:
        output_dir("theory spectrum", out_dir)
    gen = torch.Generator().manual_seed(seed)
    studies = []
    with activity("Computing Jacobians", quiet=as_json) as say:
        for name in names:
            sw2 = critical_sigma_w2(name, sigma_b2) if sigma_w2 is None else sigma_w2
            if not math.isfinite(sw2):
                expected = f"given: {name} has no critical σ_w² at σ_b² = {sigma_b2:g}"
                raise fail("theory spectrum", "sigma_w2", expected, None)
            say(f"Computing Jacobians of {name} networks")
            studies.append(
                jacobian_spectra(
                    name,
                    sw2,
                    sigma_b2,
                    depths=chosen,
                    width=width,
                    weights=WEIGHTS,
                    inputs=inputs,
                    generator=gen,
                )
            )
    paths = []
    if out_dir is not None:
        with activity("Drawing the spectra", quiet=as_json):
            paths.append(str(save(spectrum_figure(studies), out_dir / "theory-spectrum.png")))
    if as_json:
        emit_json({"studies": [s.to_json() for s in studies], "files": paths})
        return
    for study in studies:
        _print_spectrum(study)
    out.print(
        "σ²: squared singular values of J = ∂x_L/∂x_0 (every one, zeros included), beside "
        "the free-probability moments (N → ∞, inputs at q*): mean χ₁^L, var/mean² "
        "L (μ₂/μ₁² − 1 + s), s = 1 Gaussian, 0 orthogonal. std ln σ: over the singular "
        "values resolved in float64 (above 1e-10·σ_max); where some are not, it is a lower "
        "bound.",
        markup=False,
        soft_wrap=True,
    )
    for p in paths:
        out.print(f"Wrote {p}", soft_wrap=True, markup=False)


def _normalized(var: float, mean: float) -> float:
    return var / mean**2 if mean > 0 else math.nan


def _print_spectrum(s: SpectrumStudy) -> None:
    table = Table(
        title=Text(
            f"{s.activation}: σ_w² = {s.sigma_w2:.6g}, σ_b² = {s.sigma_b2:g}, "
            f"q* = {_infinite(s.q_star, 4)}, χ₁ = {s.chi1:.4f}, width {s.width}, "
            f"{s.inputs} input{'s' if s.inputs != 1 else ''}"
        ),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    columns = ("weights", "L", "mean σ²", "(free)", "var/mean²", "(free)", "std ln σ", "unresolved")
    for col in columns:
        table.add_column(col, justify="left" if col == "weights" else "right", no_wrap=True)
    for r in s.rows:
        table.add_row(
            r.weights,
            str(r.depth),
            num(r.mean_sq),
            num(r.predicted_mean_sq),
            num(_normalized(r.var_sq, r.mean_sq)),
            num(_normalized(r.predicted_var_sq, r.predicted_mean_sq)),
            num(r.std_log),
            f"{r.unresolved:.0%}",
        )
    out.print(table)
