"""``weightlab demo``: the main job."""

from __future__ import annotations

import time
from typing import Annotated

import torch
import typer

from weightlab.cli.common import JsonFlag, SeedOption, app, emit_json, out
from weightlab.cli.inspect import print_comparison, print_recommendation, run_inspect
from weightlab.cli.seed import print_seed
from weightlab.diagnose import unit_noise
from weightlab.models import mlp
from weightlab.seed_example import run_seed_example

DEMO_SCHEMES = [
    "zeros",
    "normal(std=0.01)",
    "xavier_fan_in",
    "xavier_normal",
    "he_normal",
    "normal(std=1.0)",
    "orthogonal",
    "lsuv",
]


@app.command("demo")
def demo(
    depth: Annotated[
        int, typer.Option(help="Hidden layers of the init-check MLP.", min=1, max=200)
    ] = 10,
    width: Annotated[int, typer.Option(help="Units per hidden layer.", min=2, max=4096)] = 256,
    activation: Annotated[str, typer.Option(help="Hidden activation.")] = "tanh",
    seed: SeedOption = 0,
    as_json: JsonFlag = False,
) -> None:
    """The main job: the seed's worked example, then an init check of a deep MLP."""
    start = time.perf_counter()
    seed_result = run_seed_example()
    mlp(width, [width] * depth, 10, activation)  # reject bad options before any work
    gen = torch.Generator().manual_seed(seed)
    x = unit_noise((512, width), gen)
    results = run_inspect(
        lambda: mlp(width, [width] * depth, 10, activation),
        DEMO_SCHEMES,
        x,
        gain_from_activation=False,
        generator=gen,
        quiet=as_json,
    )
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
            }
        )
        return
    out.rule("[bold]1. Seed 001's worked example: L1 vs L2, θ = (1.5, 0.5), λ = α = 0.1")
    print_seed(seed_result)
    out.rule("[bold]2. Initialization check: what each scheme does to the signal")
    print_comparison(results, f"{depth}-layer {activation} MLP, width {width}, batch 512")
    print_recommendation(next(iter(results.values())))
    out.print("Per-layer detail and figures: weightlab inspect --help")
    out.print(f"[dim]Done in {time.perf_counter() - start:.1f} s.[/dim]")
