"""Sweep throughput: how fast weightlab trains a sweep of small models, beside what a user
writes instead, measured side by side in one run.

The reference bucket: MNIST-1D (4000 training series of length 40), an MLP 40-100-100-10
with ReLU, batch 100, Adam, K = 64 models.  Counted as 6·params·samples FLOPs per
model-step (forward 2, backward 4).

1. Training steps per second on one core (one process, one torch thread), the three
   peers interleaved and repeated (medians):
   - weightlab's stacked engine (``train_stacked``; only its training steps are timed),
     on the clean bucket (no regularization) and on the mixed bucket (a quarter each of
     none, L2, L1 proximal and dropout 0.1);
   - torch.func.vmap ensembling, what a user writes instead (``stack_module_state`` +
     ``functional_call`` + ``torch.optim.Adam`` over the stacked parameters);
   - the 1-core fp32 matrix-product peak (square ``torch.mm``), for the fraction of it
     the stacked engine reaches;
   and, for the whole machine: the plain loop (one model after another) with torch's
   default threads and with one thread per process, and the stacked engine with one
   process per core.
2. End to end: the 64-run sweep of ``sweep64.yaml`` (2 inits × 4 regularizers × 8
   seeds, 1000 steps, evaluated every 100, everything recorded) with ``weightlab run``,
   with ``weightlab run --engine sequential``, and as a plain two-process loop a user
   writes (``plain_loop.py``), each a fresh process and a fresh store (medians).
3. How ``weightlab run``'s time splits (one more ``weightlab run --json``, whose
   ``timings`` say where it went) into the command's start and end, the spec, data and
   workers, initialization, training steps, evaluation, diagnostics/histograms/probes
   and store writes.

``--quick`` keeps every measurement short (a 200-step sweep, one repetition: about a
minute on two cores); ``--json`` prints the numbers as JSON.  With ``--device cuda`` the
throughput section runs on the GPU (K = 512) and prints absolute numbers.

Usage: python benchmarks/sweep_throughput.py [--quick] [--json] [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from weightlab.data import load_dataset
from weightlab.sweep import load_spec
from weightlab.sweep.backends import keep_freed_memory
from weightlab.sweep.runner import prepare
from weightlab.train.stacked import optimizer_kernel, train_stacked

HERE = Path(__file__).parent
SPEC = HERE / "sweep64.yaml"
HIDDEN = [100, 100]
BATCH = 100
MIXED = ["none", "l2(1e-3)", "l1(1e-4)", "dropout(0.1)"]
TARGETS = {
    "stacked_over_vmap": 1.5,
    "fraction_of_peak": 0.6,
    "mixed_over_clean": 0.8,
    "run_over_plain_loop": 2.5,
    "run_over_sequential": 3.0,
}


def _params() -> int:
    sizes = [40, *HIDDEN, 10]
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


FLOPS_PER_MODEL_STEP = 6 * _params() * BATCH


def _mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10)
    )


def _data(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_dataset("mnist1d", seed=0)
    return data.x_train.to(device), data.y_train.to(device)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------
# 1. Training throughput.


def _plain_loop(models: int, steps: int, threads: int | None, device: str) -> float:
    """Model-steps per second of the loop a user writes, one model at a time."""
    if threads is not None:
        torch.set_num_threads(threads)
    x, y = _data(device)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for index in range(models + 1):
        if index == 1:  # model 0 is the warm-up (allocator, kernels): not timed
            _sync(device)
            start = time.perf_counter()
        model = _mlp().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(20 if index == 0 else steps):
            idx = torch.randint(0, len(x), (BATCH,), generator=gen).to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    _sync(device)
    return models * steps / (time.perf_counter() - start)


def _vmap_ensemble(models: int, steps: int, threads: int, device: str) -> float:
    """Model-steps per second of torch.func.vmap ensembling (PyTorch's "model ensembling"
    recipe) of ``models`` MLPs, each with its own minibatches, trained with Adam."""
    torch.set_num_threads(threads)
    x, y = _data(device)
    gen = torch.Generator().manual_seed(0)
    nets = [_mlp().to(device) for _ in range(models)]
    params, buffers = torch.func.stack_module_state(nets)  # type: ignore[arg-type]
    base = copy.deepcopy(nets[0]).to("meta")

    def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], xb: torch.Tensor) -> Any:
        return torch.func.functional_call(base, (p, b), (xb,))

    ensemble = torch.vmap(one)
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)

    def step() -> None:
        idx = torch.randint(0, len(x), (models, BATCH), generator=gen).to(device)
        out = ensemble(params, buffers, x[idx])
        # The sum of each model's mean loss (every model has BATCH examples).
        loss = F.cross_entropy(out.reshape(-1, 10), y[idx].reshape(-1)) * models
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):  # warm-up
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return models * steps / (time.perf_counter() - start)


def _bucket(regularization: list[str], models: int, steps: int) -> tuple[list[Any], Any]:
    spec = load_spec(
        {
            "name": "throughput",
            "dataset": {"name": "mnist1d"},
            "model": {"arch": "mlp", "hidden": HIDDEN, "activation": "relu"},
            "init": "he_normal",
            "regularization": regularization,
            "optimizer": {"name": "adam", "lr": 1e-3},
            "train": {"steps": steps, "batch_size": BATCH, "eval_every": steps, "diagnose": False},
            "seeds": list(range(models // len(regularization))),
        }
    )
    configs, datasets = prepare(spec)
    return configs, next(iter(datasets.values()))


def _stacked(
    regularization: list[str], models: int, steps: int, threads: int, device: str
) -> float:
    """Model-steps per second of the stacked engine's training steps on one bucket."""
    torch.set_num_threads(threads)
    configs, data = _bucket(regularization, models, steps)
    train_stacked(configs[:2], data, device=device)  # warm-up: allocator, kernels
    # The engine asks should_stop() before every step: the time from the first question
    # to the last covers steps − 1 training steps and none of the evaluations at the start
    # and the end (which the other peers do not do either).
    marks: list[float] = []

    def clock() -> bool:
        _sync(device)
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
        _sync(device)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            torch.mm(a, b)
            reps += 1
        _sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start))
    return best


def _one_core(quick: bool, device: str, tuned: bool) -> dict[str, Any]:
    """The 1-core measurements, in a fresh process set up as weightlab's worker
    processes are (one torch thread; with ``tuned``, freed memory kept for reuse:
    :func:`weightlab.sweep.backends.keep_freed_memory`), the peers interleaved."""
    if tuned:
        keep_freed_memory()
    torch.set_num_threads(1)
    k = 64 if device == "cpu" else 512
    steps = 60 if quick else 200
    rounds = 1 if quick else 3
    peaks = [_peak(1, device, 1.0 if quick else 2.0)]
    runs: dict[str, list[float]] = {"clean": [], "mixed": [], "vmap": []}
    for _ in range(rounds):  # interleaved, so that load from elsewhere hits all alike
        runs["clean"].append(_stacked(["none"], k, steps, 1, device))
        runs["mixed"].append(_stacked(MIXED, k, steps, 1, device))
        runs["vmap"].append(_vmap_ensemble(k, steps, 1, device))
    peaks.append(_peak(1, device, 1.0 if quick else 2.0))
    return {"runs": runs, "peak": max(peaks), "stack_size": k, "rounds": rounds}


def _in_child(fn: Any, *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(fn, args)


def throughput(quick: bool, device: str) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    one = _in_child(_one_core, quick, device, True)
    runs = one["runs"]
    clean, mixed, vmap = (statistics.median(runs[name]) for name in ("clean", "mixed", "vmap"))
    peak = one["peak"]
    k, steps = one["stack_size"], 60 if quick else 200
    result: dict[str, Any] = {
        "stack_size": k,
        "rounds": one["rounds"],
        "stacked_clean": clean,
        "stacked_mixed": mixed,
        "vmap": vmap,
        "runs": runs,
        "peak_flops_1_core": peak,
        "stacked_over_vmap": clean / vmap,
        "mixed_over_clean": mixed / clean,
        "fraction_of_peak": clean * FLOPS_PER_MODEL_STEP / peak,
        "optimizer_kernel": optimizer_kernel("adam", device),
    }
    # vmap as a user runs it: a plain process (glibc's default allocator settings).
    result["vmap_plain_process"] = _in_child(_vmap_ensemble, k, steps, 1, device)
    models, loop_steps = (2, 150) if quick else (4, 400)
    result["loop_default_threads"] = _in_child(_plain_loop, models, loop_steps, None, device)
    if device == "cpu" and cores > 1:
        result["loop_processes"] = _in_processes(
            _plain_loop, (models, loop_steps, 1, device), cores
        )
        result["stacked_processes"] = _in_processes(
            _tuned_stacked, (["none"], k, steps, 1, device), cores
        )
    return result


def _tuned_stacked(
    regularization: list[str], models: int, steps: int, threads: int, device: str
) -> float:
    keep_freed_memory()
    return _stacked(regularization, models, steps, threads, device)


# ---------------------------------------------------------------------------
# 2. End to end, 3. where the time goes.


def _spec_file(quick: bool, folder: Path) -> Path:
    if not quick:
        return SPEC
    spec = yaml.safe_load(SPEC.read_text())
    spec["train"] = {**spec["train"], "steps": 200, "eval_every": 20}
    path = folder / "sweep64-quick.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def end_to_end(quick: bool) -> dict[str, Any]:
    rounds = 1 if quick else 3
    times: dict[str, list[float]] = {"run": [], "sequential": [], "plain_loop": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = _spec_file(quick, folder)
        python = sys.executable
        for r in range(rounds):
            cli = [python, "-m", "weightlab", "run", str(spec)]
            times["run"].append(_timed([*cli, "--store", str(folder / f"run{r}")]))
            times["sequential"].append(
                _timed([*cli, "--store", str(folder / f"seq{r}"), "--engine", "sequential"])
            )
            times["plain_loop"].append(_timed([python, str(HERE / "plain_loop.py"), str(spec)]))
        split = _split(spec, folder / "split")
    run, sequential, plain = (statistics.median(times[n]) for n in times)
    return {
        "spec": spec.name,
        "rounds": rounds,
        "seconds": times,
        "run": run,
        "sequential": sequential,
        "plain_loop": plain,
        "run_over_plain_loop": plain / run,
        "run_over_sequential": sequential / run,
        "split": split,
    }


def _split(spec: Path, store: Path) -> dict[str, float]:
    """``weightlab run --json`` once more, as the end-to-end rows ran it: the phases it
    reports (``timings``) and the wall-clock time of the whole command."""
    command = [sys.executable, "-m", "weightlab", "run", str(spec)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--store", str(store), "--json"], capture_output=True, text=True, check=True
    )
    timings: dict[str, float] = json.loads(done.stdout)["timings"]
    timings["wall"] = time.perf_counter() - start
    return timings


def _split_rows(split: dict[str, float], workers: int) -> list[tuple[str, float]]:
    """The wall-clock split: the runs' phases ran in ``workers`` processes side by side,
    so each counts its sum over the runs divided by ``workers``."""
    # The worker processes start while the driver prepares: only what is left counts.
    waiting = max(0.0, split.get("workers", 0.0) - split["prepare"])
    rows = [
        ("command start and end (interpreter, imports, results table)",
         split["wall"] - split["total"]),
        ("spec, data, worker processes ready", split["prepare"] + waiting),
        ("initialization", split.get("init", 0.0) / workers),
        ("training steps", split.get("train", 0.0) / workers),
        ("evaluation", split.get("eval", 0.0) / workers),
        ("diagnostics, histograms, probes",
         (split.get("diagnostics", 0.0) + split.get("probes", 0.0)) / workers),
        ("store writes", split.get("store", 0.0)),
    ]  # fmt: skip
    rows.append(("other (waiting for the slower worker, results to the driver)",
                 split["wall"] - sum(seconds for _, seconds in rows)))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------


def _verdict(value: float, target: float) -> str:
    return "met" if value >= target else "NOT met"


def _print(result: dict[str, Any]) -> None:
    t = result["throughput"]
    cores = result["cores"]
    print(f"bucket: {result['bucket']} ({FLOPS_PER_MODEL_STEP / 1e6:.2f} MFLOP per model-step)")
    print(f"device: {result['device']}, {cores} cores; load average at start {result['load']}")
    print(f"optimizer step: {t['optimizer_kernel']}")
    print()
    print(f"1. training steps, one core (1 process, 1 thread), K={t['stack_size']}, "
          f"median of {t['rounds']}:")  # fmt: skip
    print(f"   stacked, clean bucket        {t['stacked_clean']:8.0f} model-steps/s")
    print(f"   stacked, mixed bucket        {t['stacked_mixed']:8.0f} model-steps/s")
    print(f"   torch.func.vmap ensembling   {t['vmap']:8.0f} model-steps/s")
    print(f"   (vmap in a plain process     {t['vmap_plain_process']:8.0f} model-steps/s)")
    peak = t["peak_flops_1_core"]
    achieved = t["stacked_clean"] * FLOPS_PER_MODEL_STEP
    print(f"   fp32 matrix peak {peak / 1e9:.0f} GFLOP/s; the stacked engine reaches "
          f"{achieved / 1e9:.1f} GFLOP/s")  # fmt: skip
    print("   whole machine:")
    print(f"   plain loop, default threads  {t['loop_default_threads']:8.0f} model-steps/s")
    if "loop_processes" in t:
        print(f"   plain loop, {cores} processes     {t['loop_processes']:8.0f} model-steps/s")
        print(f"   stacked, {cores} processes        {t['stacked_processes']:8.0f} model-steps/s")
    e = result.get("end_to_end")
    if e is not None:
        print()
        print(f"2. end to end, {e['spec']} (64 runs), median of {e['rounds']}:")
        print(f"   weightlab run                     {e['run']:7.1f} s")
        print(f"   weightlab run --engine sequential {e['sequential']:7.1f} s")
        print(f"   plain two-process loop            {e['plain_loop']:7.1f} s")
        print()
        print(f"3. where weightlab run's {e['split']['wall']:.1f} s go (one more run):")
        for name, seconds in _split_rows(e["split"], cores):
            print(f"   {name:<58} {seconds:5.1f} s")
    gpu = result.get("gpu")
    if gpu is not None:
        print()
        print(f"GPU ({gpu['device']}), K={gpu['stack_size']}, median of {gpu['rounds']}:")
        print(f"   stacked, clean bucket        {gpu['stacked_clean']:8.0f} model-steps/s")
        print(f"   stacked, mixed bucket        {gpu['stacked_mixed']:8.0f} model-steps/s")
        print(f"   torch.func.vmap ensembling   {gpu['vmap']:8.0f} model-steps/s")
        print(f"   plain loop                   {gpu['loop_default_threads']:8.0f} model-steps/s")
        print(f"   fp32 matrix peak {gpu['peak_flops_1_core'] / 1e12:.1f} TFLOP/s")
    print()
    print("goal                                         target  reached")
    rows = [
        ("stacked / vmap (clean, per core)", "stacked_over_vmap", t),
        ("fraction of the 1-core matrix peak", "fraction_of_peak", t),
        ("mixed / clean bucket", "mixed_over_clean", t),
    ]
    if e is not None:
        rows += [
            ("weightlab run / plain two-process loop", "run_over_plain_loop", e),
            ("weightlab run / --engine sequential", "run_over_sequential", e),
        ]
    for label, key, source in rows:
        target, value = TARGETS[key], source[key]
        if key == "fraction_of_peak":
            print(f"{label:<44} {target:6.0%}  {value:6.0%}  {_verdict(value, target)}")
        else:
            print(f"{label:<44} {target:5.1f}x  {value:5.2f}x  {_verdict(value, target)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short measurements (~1 min)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--device", default="cpu", help="cpu (and the GPU's numbers where one is present) or cuda"
    )
    args = parser.parse_args()
    device = args.device
    load_dataset("mnist1d", seed=0)  # generate and cache once, before any timing
    result: dict[str, Any] = {
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "cores": os.cpu_count() or 1,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "bucket": f"MNIST-1D, MLP 40-{'-'.join(map(str, HIDDEN))}-10, batch {BATCH}, Adam",
        "flops_per_model_step": FLOPS_PER_MODEL_STEP,
        "targets": TARGETS,
        "throughput": throughput(args.quick, device),
    }
    if device == "cpu":
        result["end_to_end"] = end_to_end(args.quick)
        if torch.cuda.is_available():  # the GPU's absolute numbers too
            result["gpu"] = {
                "device": torch.cuda.get_device_name(),
                **throughput(args.quick, "cuda"),
            }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)


if __name__ == "__main__":
    main()
