"""``weightlab inspect``: per-layer signal propagation at initialization, beside theory."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich import box
from rich.progress import Progress
from rich.table import Table
from rich.text import Text
from torch import nn

from weightlab._validate import Interval, OneOf, check, error_summary, fail
from weightlab.cli.common import (
    JsonFlag,
    SeedOption,
    app,
    emit_json,
    err,
    num,
    out,
    output_dir,
)
from weightlab.data import DATASETS, load_dataset
from weightlab.diagnose import COMPARE_SCHEMES, Diagnosis, iter_compare, unit_noise
from weightlab.init import resolve
from weightlab.models import (
    ACTIVATION_MODULES,
    check_input_shape,
    cnn,
    load_model,
    mlp,
    parse_shape,
)
from weightlab.models.budget import cnn_network, measure_estimate, mlp_network, require_memory
from weightlab.report.figures import activation_histograms, save, variance_vs_depth
from weightlab.theory import (
    correlation_figure,
    correlation_trace,
    jacobian_spectra,
    phase_of,
    spectrum_figure,
)
from weightlab.theory.phase import scheme_sigma_w2

__all__ = [
    "build_model",
    "check_memory",
    "print_comparison",
    "print_diagnosis",
    "run_inspect",
]

_TABLE = {
    "arch": OneOf(("mlp", "cnn")),
    "depth": Interval(1, 1000, integer=True),
    "width": Interval(1, 1 << 16, integer=True),
    "activation": OneOf(tuple(ACTIVATION_MODULES)),
    "batch": Interval(2, 1 << 16, integer=True),
}


def build_model(
    arch: str, depth: int, width: int, activation: str, shape: tuple[int, ...], model: str | None
) -> Callable[[], nn.Module]:
    """A factory for the model to inspect: the user's by import path, or a built-in."""
    if model is not None:
        check_input_shape(load_model(model), shape)
        return lambda: load_model(model)
    if arch == "mlp":
        if len(shape) != 1:
            raise fail("inspect", "input_shape", "one dimension (features) for --arch mlp", shape)
        return lambda: mlp(shape[0], [width] * depth, 10, activation)
    if len(shape) not in (2, 3):
        expected = "channels,length (1-D) or channels,height,width (2-D) for --arch cnn"
        raise fail("inspect", "input_shape", expected, shape)
    return lambda: cnn(shape[0], [width] * depth, 10, activation, dim=len(shape) - 1)


def check_memory(
    owner: str,
    arch: str,
    depth: int,
    width: int,
    shape: tuple[int, ...],
    batch: int,
    schemes: Iterable[str],
) -> None:
    """Refuse a built-in model whose measurement under ``schemes`` would not fit in the
    free memory, before anything is allocated (one line naming both sizes)."""
    hidden = [width] * depth
    network = (
        mlp_network(shape[0], hidden, 10)
        if arch == "mlp"
        else cnn_network(shape[0], hidden, 10, 3, shape[1:])
    )
    qr = any(resolve(s).name in ("orthogonal", "lsuv") for s in schemes)
    estimate = measure_estimate(network, batch, orthogonal=qr)
    require_memory(owner, "width", width, estimate, context=f" at depth {depth}")


def load_inputs(
    source: str, shape: tuple[int, ...], batch: int, gen: torch.Generator
) -> torch.Tensor:
    """``noise`` for N(0, 1) inputs, a dataset name (its standardized training inputs),
    or a ``.pt``/``.npy`` file of inputs ``[N, *shape]``."""
    if source == "noise":
        return unit_noise((batch, *shape), gen)
    if source in DATASETS:
        data = load_dataset(source).x_train[:batch]
        if int(np.prod(data.shape[1:])) != int(np.prod(shape)):
            expected = (
                f"inputs with {int(np.prod(shape))} values, the model's {list(shape)}; {source} has"
            )
            raise fail("inspect", "inputs", expected, list(data.shape[1:]))
        return data.reshape(len(data), *shape)
    path = Path(source)
    if path.suffix not in (".pt", ".npy") or not path.is_file():
        expected = "'noise', a dataset name, or an existing .pt or .npy file"
        raise fail("inspect", "inputs", expected, source)
    try:
        data = (
            torch.load(path, weights_only=True)
            if path.suffix == ".pt"
            else torch.from_numpy(np.load(path, allow_pickle=False))
        )
    except Exception as error:  # unreadable or not a tensor file: say why, in one line
        expected = f"a readable {path.suffix} file of inputs ({error_summary(error)})"
        raise fail("inspect", "inputs", expected, source) from None
    if not isinstance(data, torch.Tensor) or tuple(data.shape[1:]) != shape:
        got = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise fail("inspect", "inputs", f"a tensor of shape [N, {', '.join(map(str, shape))}]", got)
    return data[:batch].float()


def print_diagnosis(spec: str, d: Diagnosis) -> None:
    """One row per layer, then the end-to-end gain, flags and advice (all numbers are
    in ``--json``)."""
    m = d.measurement
    table = Table(
        title=Text(f"{spec}: per-layer statistics at initialization"),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("layer", "φ", "Var(z)", "1-step", "chain", "×prev", "dead/sat", "Var(∂W)", "units"):
        table.add_column(col, justify="left" if col in ("layer", "φ") else "right", no_wrap=True)
    ratios = m.ratios("pre_var")
    for i, r in enumerate(m.layers):
        frac = r.dead_fraction if r.dead_fraction is not None else r.saturated_fraction
        table.add_row(
            Text(r.name),
            Text(r.activation),
            num(r.pre_var),
            num(r.predicted_pre_var),
            num(m.chain[i]),
            num(ratios[i]),
            "" if frac is None else f"{frac:.0%}",
            num(r.weight_grad_var),
            f"{r.distinct_units}/{r.units}",
        )
    out.print(table)
    out.print(
        "1-step: n·Var(W)·E[a²] from the layer's measured input; chain: the derivation "
        "carried from the input through every layer; ×prev: Var(z) over the previous layer's.",
        markup=False,
        soft_wrap=True,
    )
    gain = m.end_to_end()
    out.print(
        f"End-to-end gain Var(z_L)/E[x²]: measured {num(gain['measured'])}, "
        f"predicted {num(gain['predicted'])}.",
        markup=False,
        soft_wrap=True,
    )
    print_verdict(d)


def print_verdict(d: Diagnosis, *, flags_only: bool = False) -> None:
    """Flags in red, then the recommendation (unless ``flags_only``)."""
    for f in d.flags:
        out.print(f"! {f.kind}: {f.message}", style="bold red", markup=False, soft_wrap=True)
    if not d.flags:
        out.print("No problems found.", style="green")
    if not flags_only:
        print_recommendation(d)


def print_recommendation(d: Diagnosis) -> None:
    rec = d.recommendation
    per_layer = " with gain_from_activation=True" if rec.gain_from_activation else ""
    out.print(
        f"Recommendation: {rec.scheme}{per_layer}. {rec.reason}", markup=False, soft_wrap=True
    )


_SHORT = {
    "vanishing_forward": "vanishing",
    "exploding_forward": "exploding",
    "vanishing_gradient": "∇vanishing",
    "exploding_gradient": "∇exploding",
    "saturation": "saturated",
    "dead_units": "dead",
    "symmetry": "symmetric",
}


def print_comparison(results: dict[str, Diagnosis], title: str) -> None:
    """One row per scheme: Var(z) at the first, middle and last layer and the theory's
    value at the last, the first layer's weight-gradient variance, distinct units and
    flags."""
    first = next(iter(results.values())).measurement
    n = len(first.layers)
    shown = sorted({0, n // 2, n - 1})
    table = Table(title=Text(title), box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # A long spec folds onto more lines rather than squeezing the flags out at 80 columns.
    table.add_column("scheme", overflow="fold", min_width=12)
    for i in shown:
        table.add_column(f"L{i + 1}", justify="right", no_wrap=True)
    for col in ("theory", "Var(∂W1)"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("flags", min_width=12)
    for spec, d in results.items():
        m = d.measurement
        table.add_row(
            Text(spec),
            *(num(m.layers[i].pre_var, 2) for i in shown),
            num(m.chain[-1], 2),
            num(m.layers[0].weight_grad_var, 2),
            ", ".join(_SHORT[f.kind] for f in d.flags) or "ok",
        )
    out.print(table)
    out.print(
        f"L1, L{shown[1] + 1}, L{n}: Var(z) measured at those layers; theory: Var(z) at L{n} "
        "from the chained derivation; Var(∂W1): first layer's weight gradient; "
        "∇: gradients.",
        markup=False,
        soft_wrap=True,
    )


def _progress_compare(
    build: Callable[[], nn.Module],
    schemes: list[str],
    x: torch.Tensor,
    gain_from_activation: bool,
    gen: torch.Generator,
    quiet: bool,
) -> dict[str, Diagnosis]:
    results: dict[str, Diagnosis] = {}
    steps: Iterable[tuple[str, Diagnosis]] = iter_compare(
        build, schemes, x, gain_from_activation=gain_from_activation, generator=gen
    )
    with Progress(console=err, transient=True, disable=quiet) as progress:
        task = progress.add_task("Measuring schemes", total=len(schemes))
        for spec, diagnosis in steps:
            results[spec] = diagnosis
            progress.update(task, advance=1, description=f"Measured {spec}")
    return results


def write_figures(results: dict[str, Diagnosis], out_dir: Path, title: str) -> list[str]:
    """variance_vs_depth.png and activation_histograms.png in ``out_dir``."""
    measurements = {spec: d.measurement for spec, d in results.items()}
    return [
        str(save(variance_vs_depth(measurements, title), out_dir / "variance_vs_depth.png")),
        str(
            save(activation_histograms(measurements, title), out_dir / "activation_histograms.png")
        ),
    ]


def run_inspect(
    build: Callable[[], nn.Module],
    schemes: list[str],
    x: torch.Tensor,
    *,
    gain_from_activation: bool,
    generator: torch.Generator,
    quiet: bool,
) -> dict[str, Diagnosis]:
    """Diagnose ``build()`` under each scheme on ``x`` with a progress bar.

    ``generator`` must continue the stream that drew ``x`` (not restart it): weights
    drawn from a restarted stream would equal the inputs and correlate with them."""
    return _progress_compare(build, schemes, x, gain_from_activation, generator, quiet)


@app.command("inspect")
def inspect(
    arch: Annotated[str, typer.Option(help="Built-in model: mlp or cnn.")] = "mlp",
    depth: Annotated[int, typer.Option(help="Hidden layers of the built-in model.")] = 10,
    width: Annotated[
        int, typer.Option(help="Units (mlp) or channels (cnn) per hidden layer.")
    ] = 256,
    activation: Annotated[
        str, typer.Option(help="Hidden activation of the built-in model.")
    ] = "relu",
    init: Annotated[
        str, typer.Option(help="Scheme spec, e.g. he_normal or 'normal(std=0.01)'.")
    ] = "he_normal",
    gain_from_activation: Annotated[
        bool, typer.Option(help="Give each layer the gain of the activation after it.")
    ] = False,
    model: Annotated[
        str | None, typer.Option(help="Your model as an import path package.module:factory.")
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option(
            help="Input shape without batch, e.g. 3,32,32 (default: width for mlp, 1,40 for cnn)."
        ),
    ] = None,
    batch: Annotated[int, typer.Option(help="Batch size of the measurement.")] = 256,
    inputs: Annotated[
        str,
        typer.Option(help="'noise' (N(0,1)), a dataset name (e.g. digits), or a .pt/.npy file."),
    ] = "noise",
    compare: Annotated[
        str | None,
        typer.Option(help="Comma-separated schemes to compare, or 'all' for the classic set."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the PNG figures.")] = Path(
        "weightlab-inspect"
    ),
    figures: Annotated[bool, typer.Option(help="Write the PNG figures.")] = True,
    correlation: Annotated[
        bool,
        typer.Option(
            help="Also the correlation of two inputs through depth beside the mean-field "
            "c-map (built-in MLP, one scheme)."
        ),
    ] = False,
    spectrum: Annotated[
        bool,
        typer.Option(
            help="Also the singular values of the input-output Jacobian beside the "
            "free-probability moments (built-in MLP, one scheme)."
        ),
    ] = False,
    seed: SeedOption = 0,
    as_json: JsonFlag = False,
) -> None:
    """Measure signal and gradient variance through depth at init, beside the theory.

    Activation and gradient variance per layer beside what Xavier's and He's derivations
    predict; flags problems and recommends a scheme. With --correlation and --spectrum,
    also the mean-field theory of signal propagation (docs/theory.md).
    """
    values = {
        "arch": arch,
        "depth": depth,
        "width": width,
        "activation": activation,
        "batch": batch,
    }
    check("inspect", values, _TABLE)
    default_shape = _default_shape(arch, width, inputs)
    if model is not None and input_shape is None:
        raise fail("inspect", "input_shape", "given with --model (e.g. 3,32,32)", None)
    shape = parse_shape(input_shape or default_shape)
    build = build_model(arch, depth, width, activation, shape, model)
    schemes = _schemes(compare, init)
    if model is None:
        check_memory("inspect", arch, depth, width, shape, batch, schemes)
    if figures:
        output_dir("inspect", out_dir)
    theory = _theory_options(correlation, spectrum, arch, model, schemes, width)
    gen = torch.Generator().manual_seed(seed)
    x = load_inputs(inputs, shape, batch, gen)
    results = run_inspect(
        build, schemes, x, gain_from_activation=gain_from_activation, generator=gen, quiet=as_json
    )
    title = model or f"{depth}-layer {activation} {arch}, width {width}"
    paths = write_figures(results, out_dir, title) if figures else []
    studies = _theory(theory, activation, depth, width, seed)
    if figures:
        paths += _theory_figures(studies, out_dir)
    if as_json:
        payload = _payload(results, title, shape, paths)
        payload.update({name: study.to_json() for name, study in studies.items()})
        emit_json(payload)
        return
    if len(results) == 1:
        print_diagnosis(*next(iter(results.items())))
    else:
        print_comparison(results, title)
        for spec, d in results.items():
            messages = "; ".join(f.message for f in d.flags) or "no problems."
            out.print(f"{spec}: {messages}", markup=False, soft_wrap=True)
        print_recommendation(next(iter(results.values())))
    _print_theory(studies)
    for p in paths:
        out.print(f"Wrote {p}", markup=False, soft_wrap=True)


def _theory_options(
    correlation: bool,
    spectrum: bool,
    arch: str,
    model: str | None,
    schemes: list[str],
    width: int,
) -> dict[str, Any]:
    """What --correlation/--spectrum need: the scheme's σ_w² and kind of weights; they
    apply to the built-in MLP and one scheme of fixed variance."""
    if not (correlation or spectrum):
        return {}
    option = "correlation" if correlation else "spectrum"
    if arch != "mlp" or model is not None or len(schemes) != 1:
        expected = "used with the built-in MLP (--arch mlp, no --model) and one scheme"
        raise fail("inspect", option, expected, True)
    try:
        sigma_w2 = scheme_sigma_w2(schemes[0], width)
    except ValueError:
        expected = (
            "used with a zero-mean scheme of fixed variance (variance scaling, normal, "
            "uniform, orthogonal)"
        )
        raise fail("inspect", option, expected, schemes[0]) from None
    weights = "orthogonal" if resolve(schemes[0]).name == "orthogonal" else "gaussian"
    return {
        "correlation": correlation,
        "spectrum": spectrum,
        "sigma_w2": sigma_w2,
        "weights": weights,
    }


def _theory(
    options: dict[str, Any], activation: str, depth: int, width: int, seed: int
) -> dict[str, Any]:
    """The correlation trace and the Jacobian spectrum of networks drawn like the one
    inspected (same depth, width, activation and weight variance, zero biases)."""
    studies: dict[str, Any] = {}
    if not options:
        return studies
    gen = torch.Generator().manual_seed(seed)
    sigma_w2, weights = options["sigma_w2"], options["weights"]
    if options["correlation"]:
        studies["correlation"] = correlation_trace(
            activation,
            sigma_w2,
            0.0,
            depth=depth,
            width=width,
            networks=4,
            pairs=8,
            weights=weights,
            generator=gen,
        )
    if options["spectrum"]:
        studies["spectrum"] = jacobian_spectra(
            activation,
            sigma_w2,
            0.0,
            depths=[depth],
            width=width,
            weights=[weights],
            inputs=4,
            generator=gen,
        )
    return studies


def _theory_figures(studies: dict[str, Any], out_dir: Path) -> list[str]:
    paths = []
    if "correlation" in studies:
        figure = correlation_figure(studies["correlation"])
        paths.append(str(save(figure, out_dir / "correlation.png")))
    if "spectrum" in studies:
        paths.append(str(save(spectrum_figure(studies["spectrum"]), out_dir / "spectrum.png")))
    return paths


def _relative(variance: float, mean: float) -> float:
    """``variance / mean²``, the spread free probability predicts whatever the mean (nan
    for a zero mean)."""
    return variance / mean**2 if mean > 0 else math.nan


def _reached(value: int | None, depth: int) -> str:
    return f"not within these {depth} layers" if value is None else f"by layer {value}"


def _count(value: float) -> str:
    """A number of layers: ∞ for a law that never gets there."""
    return "∞" if math.isinf(value) else num(value)


def _print_theory(studies: dict[str, Any]) -> None:
    trace = studies.get("correlation")
    if trace is not None:
        table = Table(title="Two inputs' correlation", title_justify="left")
        for column in ("layer", "measured", "± se", "c-map"):
            table.add_column(column, justify="right")
        for i, (m, se, p) in enumerate(
            zip(trace.measured, trace.measured_se, trace.predicted, strict=True), 1
        ):
            table.add_row(str(i), f"{m:.3f}", f"{se:.3f}", f"{p:.3f}")
        out.print(table)
        depth = len(trace.measured)
        out.print(
            f"Fixed point c* = {trace.c_star:.3f}, χ₁ = {trace.chi1:.3f} ({phase_of(trace.chi1)}), "
            f"depth scale ξ_c = {_count(trace.xi_c)}. Within {trace.tolerance:g} of c*: "
            f"measured {_reached(trace.converged_measured, depth)}, the c-map "
            f"{_reached(trace.converged_predicted, depth)}, c − c* ∝ exp(−layer/ξ_c) after "
            f"{_count(trace.converged_xi)} layers. Measured on 4 networks drawn like this one.",
            markup=False,
            soft_wrap=True,
        )
        out.print(
            "Two views of a good init: the variance derivations behind the recommendation "
            "keep each layer's variance constant; mean-field theory asks that two inputs' "
            "correlation neither collapse to c* fast (χ₁ < 1, ordered) nor scatter "
            "(χ₁ > 1, chaotic). They can disagree: tanh with gain 1 and no bias is critical "
            "(χ₁ = 1) while its variance shrinks with depth; gain 5/3 holds the variance "
            "and is chaotic (docs/theory.md).",
            markup=False,
            soft_wrap=True,
        )
    study = studies.get("spectrum")
    if study is not None:
        row = study.rows[0]
        out.print(
            f"Jacobian singular values ({row.weights} weights, depth {row.depth}): mean σ² "
            f"{num(row.mean_sq)} (free probability {num(row.predicted_mean_sq)}), "
            f"var σ² / mean² {num(_relative(row.var_sq, row.mean_sq))} "
            f"({num(_relative(row.predicted_var_sq, row.predicted_mean_sq))}); spread of ln σ "
            f"{num(row.std_log)}; {row.unresolved:.0%} below float64's resolution.",
            markup=False,
            soft_wrap=True,
        )


def _default_shape(arch: str, width: int, inputs: str) -> str:
    """The input shape when none is given: the dataset's (flattened for an MLP), else
    the width (MLP) or one channel of length 40 (CNN, MNIST-1D's shape)."""
    if inputs in DATASETS:
        shape = load_dataset(inputs).input_shape
        if arch == "mlp":
            shape = (int(np.prod(shape)),)
        elif len(shape) == 1:
            shape = (1, *shape)  # one channel for a 1-D CNN
        return ",".join(map(str, shape))
    return f"{width}" if arch == "mlp" else "1,40"


def _schemes(compare: str | None, init: str) -> list[str]:
    if compare is None:
        resolve(init, "inspect", "init")
        return [init]
    if compare.strip() == "all":
        return list(COMPARE_SCHEMES)
    parts = [p.strip() for p in _split_specs(compare) if p.strip()]
    if not parts:
        raise fail("inspect", "compare", "comma-separated scheme specs or 'all'", compare)
    for part in parts:
        resolve(part, "inspect", "compare")
    return parts


def _split_specs(text: str) -> list[str]:
    """Split on commas outside parentheses: 'normal(mean=0, std=1),he_normal'."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _payload(
    results: dict[str, Diagnosis], title: str, shape: tuple[int, ...], paths: list[str]
) -> dict[str, Any]:
    return {
        "model": title,
        "input_shape": list(shape),
        "schemes": {spec: d.to_json() for spec, d in results.items()},
        "figures": paths,
    }
