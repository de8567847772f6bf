"""The ``weightlab`` command line: thin commands that build configs, call the library and
print tables (Rich) or JSON (``--json``).  No training logic lives here.

Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import torch
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from weightlab import __version__
from weightlab._validate import ParameterError, ParameterTypeError
from weightlab.diagnose import LayerSignal, forward_backward_stats
from weightlab.init import init_module, resolve, scheme_names
from weightlab.init.schemes import REGISTRY
from weightlab.models import mlp
from weightlab.seed_example import SeedConfig, SeedResult, run_seed_example

app = typer.Typer(
    name="weightlab",
    help="Neural-network weight initialization and regularization: implemented, shown, measured.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the results as JSON.")]

DEMO_SCHEMES = (
    "zeros",
    "normal(std=0.01)",
    "xavier_fan_in",
    "xavier_normal",
    "he_normal",
    "normal(std=1.0)",
)


def _emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")


def _num(value: float) -> str:
    return f"{round(value, 10):.7g}"


# ---------------------------------------------------------------------------
# seed-example


def _seed_tables(result: SeedResult) -> list[Table]:
    titles = {"none": "No regularization", "l1": f"L1 ({result.config.l1_rule} rule)", "l2": "L2"}
    tables = []
    for name, rows in result.tables.items():
        printed = result.printed.get(name, [])
        table = Table(title=titles[name], title_justify="left")
        table.add_column("iter", justify="right")
        for j in (1, 2):
            table.add_column(f"θ{j}", justify="right")
            if printed:
                table.add_column(f"θ{j} (seed)", justify="right", style="dim")
        for i, row in enumerate(rows):
            seed = printed[i] if i < len(printed) else None
            cells = [str(i + 1)]
            for j in range(2):
                cells.append(_num(row[j]))
                if printed:
                    cells.append(_num(seed[j]) if seed else "")
            table.add_row(*cells)
        tables.append(table)
    return tables


def _print_seed(result: SeedResult) -> None:
    for table in _seed_tables(result):
        out.print(table)
    diffs = result.differences()
    if diffs:
        worst = max(diffs, key=lambda k: diffs[k])
        out.print(
            f"Largest |exact − seed| difference: {diffs[worst]:.2g} ({worst}); "
            + ", ".join(f"{k}: {v:.2g}" for k, v in diffs.items())
        )
    else:
        out.print("Settings differ from the seed's, so there are no printed values to compare.")
    for note in result.notes:
        out.print(f"• {note}")


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
        _emit_json(result.to_json())
    else:
        _print_seed(result)


# ---------------------------------------------------------------------------
# schemes


@app.command("schemes")
def schemes(as_json: JsonFlag = False) -> None:
    """List every initialization scheme with its parameters and defaults."""
    rows: list[dict[str, Any]] = []
    for name in scheme_names():
        entry = REGISTRY[name]
        defaults = {p.name: p.default for p in entry.signature.parameters.values()}
        rows.append({"name": name, "parameters": defaults, "summary": entry.summary})
    if as_json:
        _emit_json(rows)
        return
    table = Table("scheme", "parameters (defaults)", "what it is")
    for row in rows:
        shown = ", ".join(f"{k}={v!r}" for k, v in row["parameters"].items())
        table.add_row(row["name"], shown, row["summary"])
    out.print(table)


# ---------------------------------------------------------------------------
# demo


def _init_check(depth: int, width: int, activation: str, seed: int) -> dict[str, list[LayerSignal]]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(512, width, generator=gen)
    results = {}
    for spec in DEMO_SCHEMES:
        model = mlp(width, [width] * depth, 10, activation)
        init_module(model, resolve(spec), generator=gen)
        results[spec] = forward_backward_stats(model, x)[:-1]  # hidden layers only
    return results


def _verdict(signals: list[LayerSignal]) -> str:
    first, last = signals[0], signals[-1]
    if last.distinct_units <= 1:
        return "symmetric"
    if last.activation_std < 1e-3:
        return "vanishing"
    if first.weight_grad_std > 1e3 or last.activation_std > 0.95:
        return "exploding"
    if last.activation_std < 0.1 * first.activation_std:
        return "shrinking"
    return "healthy"


VERDICTS = {
    "symmetric": "all units of a layer identical, so they get identical updates",
    "vanishing": "the signal shrinks toward 0 with depth; so do the gradients",
    "exploding": "gradients blow up, or tanh units sit saturated at ±1",
    "shrinking": "the last layer's signal is under a tenth of the first's",
    "healthy": "the signal keeps its scale through depth",
}


def _print_init_check(results: dict[str, list[LayerSignal]], depth: int, activation: str) -> None:
    shown = sorted({0, depth // 2, depth - 1})
    table = Table(
        title=f"Activation std by hidden layer, {depth}-layer {activation} MLP",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("scheme", no_wrap=True)
    for i in shown:
        table.add_column(f"L{i + 1}", justify="right", no_wrap=True)
    table.add_column("∇W1 std", justify="right", no_wrap=True)
    table.add_column("units", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for spec, signals in results.items():
        table.add_row(
            spec,
            *(f"{signals[i].activation_std:.2g}" for i in shown),
            f"{signals[0].weight_grad_std:.2g}",
            f"{signals[-1].distinct_units}/{signals[-1].units}",
            _verdict(signals),
        )
    out.print(table)
    out.print("∇W1 std: gradient of the first layer's weights; units: distinct units in the last.")
    for verdict in sorted({_verdict(s) for s in results.values()}, key=list(VERDICTS).index):
        out.print(f"• {verdict}: {VERDICTS[verdict]}")


@app.command("demo")
def demo(
    depth: Annotated[
        int, typer.Option(help="Hidden layers of the init-check MLP.", min=1, max=200)
    ] = 10,
    width: Annotated[int, typer.Option(help="Units per hidden layer.", min=2, max=4096)] = 256,
    activation: Annotated[str, typer.Option(help="Hidden activation.")] = "tanh",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """The main job: the seed's worked example, then an init check of a deep MLP."""
    start = time.perf_counter()
    seed_result = run_seed_example()
    checks = _init_check(depth, width, activation, seed)
    if as_json:
        _emit_json(
            {
                "seed_example": seed_result.to_json(),
                "init_check": {
                    "depth": depth,
                    "width": width,
                    "activation": activation,
                    "schemes": {
                        spec: {"verdict": _verdict(sig), "layers": [vars(s) for s in sig]}
                        for spec, sig in checks.items()
                    },
                },
            }
        )
        return
    out.rule("[bold]1. Seed 001's worked example: L1 vs L2, θ = (1.5, 0.5), λ = α = 0.1")
    _print_seed(seed_result)
    out.rule("[bold]2. Initialization check: what each scheme does to the signal")
    _print_init_check(checks, depth, activation)
    out.print(f"[dim]Done in {time.perf_counter() - start:.1f} s.[/dim]")


def _version(value: bool) -> None:
    if value:
        out.print(f"weightlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Neural-network weight initialization and regularization: implemented, shown, measured."""


def _fail(message: str, hint: str = "") -> None:
    # Plain writes, not Rich: an error stays on one line whatever the terminal width.
    sys.stderr.write(f"Error: {message}\n" + (f"{hint}\n" if hint else ""))
    sys.exit(2)


def _received(error: Exception, args: list[str]) -> str:
    """' Got X.' for the value the user gave the option an error is about, if any."""
    param = getattr(error, "param", None)
    for opt in getattr(param, "opts", []):
        for i, arg in enumerate(args):
            if arg.startswith(f"{opt}="):
                return f" Got {arg.split('=', 1)[1]!r}."
            if arg == opt and i + 1 < len(args):
                return f" Got {args[i + 1]!r}."
    return ""


def main(argv: list[str] | None = None) -> None:
    """Entry point: one torch thread (small models run fastest so on few cores), and bad
    input reported as one line with exit code 2."""
    torch.set_num_threads(1)
    args = (sys.argv[1:] if argv is None else argv) or ["--help"]
    try:
        code = app(args=args, prog_name="weightlab", standalone_mode=False)
    except (ParameterError, ParameterTypeError) as error:
        _fail(str(error))
    except typer.TyperException as error:  # usage errors found by the option parser
        format_message = getattr(error, "format_message", error.__str__)
        known = {c.name for c in app.registered_commands}
        command = f"{args[0]} " if args[0] in known else ""
        message = format_message().rstrip(".") + "." + _received(error, args)
        _fail(message, f"Try 'weightlab {command}--help'.")
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
