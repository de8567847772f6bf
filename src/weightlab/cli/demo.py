"""``weightlab demo``: the main job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.progress import Progress

from weightlab._validate import OneOf, check
from weightlab.cli.claims import print_claims
from weightlab.cli.common import (
    JsonFlag,
    SeedOption,
    activity,
    app,
    emit_json,
    err,
    out,
    output_dir,
)
from weightlab.cli.inspect import (
    check_memory,
    print_comparison,
    print_recommendation,
    run_inspect,
)
from weightlab.cli.interrupt import graceful_stop
from weightlab.cli.run import RichProgress, progress_columns
from weightlab.cli.seed import print_seed
from weightlab.diagnose import COMPARE_SCHEMES, unit_noise
from weightlab.models import ACTIVATION_MODULES, mlp
from weightlab.report import Report, build_report
from weightlab.report.background import background_figures
from weightlab.seed_example import run_seed_example
from weightlab.store import DEFAULT_STORE, Store
from weightlab.sweep.demo import demo_specs
from weightlab.sweep.judge import judge_spec
from weightlab.sweep.runner import run_sweep

BATCH = 512  # inputs of the init check


@app.command("demo")
def demo(
    store: Annotated[
        Path, typer.Option("--store", help="Run store for the demo sweeps.")
    ] = DEFAULT_STORE,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the HTML report.")] = Path(
        "weightlab-report"
    ),
    depth: Annotated[
        int, typer.Option(help="Hidden layers of the init-check MLP.", min=1, max=200)
    ] = 10,
    width: Annotated[int, typer.Option(help="Units per hidden layer.", min=2, max=4096)] = 256,
    activation: Annotated[str, typer.Option(help="Hidden activation of the init check.")] = "tanh",
    train: Annotated[
        bool, typer.Option(help="Run the training sweeps and write the report.")
    ] = True,
    seed: SeedOption = 0,
    as_json: JsonFlag = False,
) -> None:
    """The main job: the seed's example, an init check, two sweeps with claims, a report.

    The seed's worked example, an init check of a deep MLP, then two built-in sweeps
    (inits; none / L1 / L2 / dropout / decay) with their claims judged, stored and
    reported in HTML. Running it again reuses the stored runs.
    """
    start = time.perf_counter()
    # Reject bad options before any work.
    check("demo", {"activation": activation}, {"activation": OneOf(tuple(ACTIVATION_MODULES))})
    check_memory("demo", "mlp", depth, width, (width,), BATCH, COMPARE_SCHEMES)
    if train:
        output_dir("demo", store, "store")
        output_dir("demo", out_dir)
    seed_result = run_seed_example()
    gen = torch.Generator().manual_seed(seed)
    x = unit_noise((BATCH, width), gen)
    results = run_inspect(
        lambda: mlp(width, [width] * depth, 10, activation),
        list(COMPARE_SCHEMES),
        x,
        gain_from_activation=False,
        generator=gen,
        quiet=as_json,
    )
    if not as_json:
        out.rule("[bold]1. Seed 001's worked example: L1 vs L2, θ = (1.5, 0.5), λ = α = 0.1")
        print_seed(seed_result)
        out.rule("[bold]2. Initialization check: what each scheme does to the signal")
        print_comparison(results, f"{depth}-layer {activation} MLP, width {width}, batch {BATCH}")
        print_recommendation(next(iter(results.values())))
    report = _train_and_report(store, out_dir, as_json) if train else None
    if as_json:
        emit_json(
            {
                "seed_example": seed_result.to_json(),
                "init_check": {
                    "depth": depth,
                    "width": width,
                    "activation": activation,
                    "schemes": {spec: d.to_json() for spec, d in results.items()},
                },
                "report": None
                if report is None
                else {
                    "html": str(report.html),
                    "csv": str(report.csv),
                    "captions": report.captions,
                    "claims": report.claims,
                },
            }
        )
        return
    if report is not None:
        out.rule("[bold]4. Report")
        for sweep, captions in report.captions.items():
            for caption in captions:
                out.print(f"• {sweep}: {caption}", markup=False, soft_wrap=True)
        out.print(f"Report: {report.html.resolve()}", markup=False, soft_wrap=True)
    out.print(f"[dim]Done in {time.perf_counter() - start:.1f} s.[/dim]")


def _train_and_report(store_dir: Path, out_dir: Path, quiet: bool) -> Report:
    store = Store(store_dir)
    if not quiet:
        out.rule("[bold]3. Training: inits on a deep net; none / L1 / L2 / dropout / decay")
    for spec in demo_specs():
        with (
            graceful_stop() as stop,
            Progress(*progress_columns(), console=err, disable=quiet, transient=True) as bars,
        ):
            summary = run_sweep(
                spec, store, backend="local", progress=RichProgress(bars), should_stop=stop
            )
        if not quiet:
            out.print(
                f"{spec.name}: {len(summary.trained)} trained, "
                f"{summary.skipped} reused from {store.path}",
                markup=False,
                soft_wrap=True,
            )
            print_claims(judge_spec(spec, store), title=f"{spec.name}: claims")
    names = [spec.name for spec in demo_specs()]
    with activity("Computing the background figures (paths, landscape)", quiet=quiet) as doing:
        extras = background_figures()
        return build_report(store, out_dir, names, extras=extras, progress=doing)
