"""Sweep throughput: how many model-steps per second a sweep of small models reaches.

The reference bucket: MNIST-1D (4000 training series of length 40), an MLP 40-100-100-10
with ReLU, batch 100, Adam.  Measured in one run:

(a) a sequential loop as a user writes it: one model after another, torch's default
    thread count;
(b) the best sequential setup: one torch thread per process, one process per core;
(c) weightlab's stacked engine (``train_stacked``; its training steps are timed, not its
    evaluations at the start and the end), in the best of: one process per core with
    one thread each, or one process with every core;
(peak) the machine's fp32 matrix-product rate (square ``torch.mm``, all cores).

Prints model-steps/s for each, the ratios c/a and c/b, and the achieved FLOP/s of (c) as
a fraction of the peak, counting 6·params·samples FLOPs per model-step (forward 2, backward
4).  ``--quick`` keeps every measurement short (under 45 s in all on two cores);
``--json`` prints the numbers as JSON.

Usage: python benchmarks/sweep_throughput.py [--quick] [--json] [--device cuda]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weightlab.data import load_dataset
from weightlab.sweep import load_spec
from weightlab.sweep.runner import prepare
from weightlab.train.stacked import train_stacked

HIDDEN = [100, 100]
BATCH = 100


def _params() -> int:
    sizes = [40, *HIDDEN, 10]
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


FLOPS_PER_MODEL_STEP = 6 * _params() * BATCH


def _data(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_dataset("mnist1d", seed=0)
    return data.x_train.to(device), data.y_train.to(device)


def _plain_loop(models: int, steps: int, threads: int | None, device: str) -> float:
    """(a)/(b): model-steps per second of the loop a user writes, one model at a time."""
    if threads is not None:
        torch.set_num_threads(threads)
    x, y = _data(device)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for index in range(models + 1):
        if index == 1:  # model 0 is the warm-up (allocator, kernels): not timed
            start = time.perf_counter()
        steps_here = 20 if index == 0 else steps
        model = nn.Sequential(
            nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10)
        ).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(steps_here):
            idx = torch.randint(0, len(x), (BATCH,), generator=gen).to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return models * steps / (time.perf_counter() - start)


def _stacked(models: int, steps: int, threads: int, device: str) -> float:
    """(c): model-steps per second of the stacked engine on one bucket of ``models``."""
    torch.set_num_threads(threads)
    spec = load_spec(
        {
            "name": "throughput",
            "dataset": {"name": "mnist1d"},
            "model": {"arch": "mlp", "hidden": HIDDEN, "activation": "relu"},
            "init": "he_normal",
            "optimizer": {"name": "adam", "lr": 1e-3},
            "train": {"steps": steps, "batch_size": BATCH, "eval_every": steps, "diagnose": False},
            "seeds": list(range(models)),
        }
    )
    configs, datasets = prepare(spec)
    data = next(iter(datasets.values()))
    train_stacked(configs[:2], data, device=device)  # warm-up: allocator, kernels
    # The engine asks should_stop() before every step: the time from the first question
    # to the last covers steps − 1 training steps and none of the evaluations at the start
    # and the end (which the plain loops in (a) and (b) do not do either).
    marks: list[float] = []

    def clock() -> bool:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        marks.append(time.perf_counter())
        return False

    train_stacked(configs, data, device=device, should_stop=clock)
    return models * (steps - 1) / (marks[-1] - marks[0])


def _in_processes(fn: Any, args: tuple[Any, ...], processes: int) -> float:
    """Sum of the rates of ``processes`` copies of ``fn(*args)`` running at once."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        rates = pool.starmap(fn, [args] * processes)
    return float(sum(rates))


def _peak(threads: int, device: str, seconds: float) -> float:
    """fp32 FLOP/s of a square matrix product, the best of a few sizes."""
    torch.set_num_threads(threads)
    best = 0.0
    for n in (512, 1024, 2048):
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        torch.mm(a, b)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            torch.mm(a, b)
            reps += 1
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short measurements (< 45 s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    device = args.device
    quick = args.quick
    load_dataset("mnist1d", seed=0)  # generate and cache once, before any timing

    a = _plain_loop(2 if quick else 4, 150 if quick else 400, None, device)
    if device == "cpu":
        b = _in_processes(_plain_loop, (2 if quick else 4, 150 if quick else 400, 1, device), cores)
    else:
        b = _plain_loop(2 if quick else 4, 150 if quick else 400, 1, device)
    k = 64 if device == "cpu" else 512
    steps = 60 if quick else 200
    candidates = {f"1 process x {cores} threads": _stacked(k, steps, cores, device)}
    if device == "cpu" and cores > 1:
        candidates[f"{cores} processes x 1 thread"] = _in_processes(
            _stacked, (k // cores, steps, 1, device), cores
        )
    best_setup = max(candidates, key=lambda name: candidates[name])
    c = candidates[best_setup]
    peak = _peak(cores, device, 1.5 if quick else 4.0)
    achieved = c * FLOPS_PER_MODEL_STEP
    result = {
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "cores": cores,
        "bucket": f"MNIST-1D, MLP 40-{'-'.join(map(str, HIDDEN))}-10, batch {BATCH}, Adam",
        "flops_per_model_step": FLOPS_PER_MODEL_STEP,
        "a_default_threads_loop": a,
        "b_best_sequential": b,
        "c_stacked": c,
        "c_setup": best_setup,
        "c_candidates": candidates,
        "stack_size": k,
        "c_over_a": c / a,
        "c_over_b": c / b,
        "peak_flops": peak,
        "achieved_flops": achieved,
        "fraction_of_peak": achieved / peak,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bucket: {result['bucket']} ({FLOPS_PER_MODEL_STEP / 1e6:.2f} MFLOP per model-step)")
    print(f"device: {result['device']}, {cores} cores")
    print(f"(a) sequential loop, default threads:   {a:9.0f} model-steps/s")
    print(f"(b) sequential, 1 thread x {cores} processes: {b:9.0f} model-steps/s")
    for name, rate in candidates.items():
        print(f"(c) stacked, K={k}, {name}: {rate:9.0f} model-steps/s")
    print(f"c/a = {c / a:.1f}   c/b = {c / b:.2f}")
    print(
        f"fp32 matrix peak {peak / 1e9:.0f} GFLOP/s; stacked reaches {achieved / 1e9:.1f} "
        f"GFLOP/s = {achieved / peak:.0%} of peak"
    )


if __name__ == "__main__":
    main()
