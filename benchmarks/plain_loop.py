"""The sweep of ``sweep64.yaml`` as a user writes it without weightlab's engine: a plain
PyTorch loop, one model after another, in one process per core (one torch thread each).

Each run builds the MLP, draws its init from its own seed, trains with Adam (L2 as
Adam's weight decay on the weights, L1 as a soft-threshold after each step, dropout as
``nn.Dropout`` after each hidden activation) and records the training and validation
loss and accuracy at every evaluation, as a user's loop would; nothing else (no
histograms, diagnostics or probes, no store).  The data are loaded once and passed to
the worker processes.

Usage: python benchmarks/plain_loop.py [SPEC] [--processes N]; prints the seconds it
took as JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

HERE = Path(__file__).parent


def _init(model: nn.Module, scheme: str, generator: torch.Generator) -> None:
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            if scheme == "he_normal":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            else:
                nn.init.xavier_normal_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)


def _regularizer(text: str) -> tuple[str, float]:
    if text == "none":
        return "none", 0.0
    name, value = text.rstrip(")").split("(")
    return name, float(value)


def _train(job: dict[str, Any], data: dict[str, torch.Tensor]) -> list[tuple[float, ...]]:
    x, y, x_val, y_val = data["x"], data["y"], data["x_val"], data["y_val"]
    kind, strength = _regularizer(job["regularization"])
    gen = torch.Generator().manual_seed(job["seed"])
    hidden = job["hidden"]
    layers: list[nn.Module] = []
    width = x.shape[1]
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if kind == "dropout":
            layers.append(nn.Dropout(strength))
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    _init(model, job["init"], gen)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    decay = strength if kind == "l2" else 0.0
    opt = torch.optim.Adam(
        [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}],
        lr=job["lr"],
    )
    records = []

    @torch.no_grad()
    def evaluate(step: int) -> None:
        model.eval()
        row: list[float] = []
        for xs, ys in ((x, y), (x_val, y_val)):
            out = model(xs)
            row += [float(F.cross_entropy(out, ys)), float((out.argmax(1) == ys).float().mean())]
        records.append((step, *row))
        model.train()

    evaluate(0)
    order, cursor = torch.randperm(len(x), generator=gen), 0
    for step in range(1, job["steps"] + 1):
        if cursor + job["batch"] > len(x):
            order, cursor = torch.randperm(len(x), generator=gen), 0
        idx = order[cursor : cursor + job["batch"]]
        cursor += job["batch"]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if kind == "l1":
            with torch.no_grad():
                t = job["lr"] * strength
                for w in weights:
                    w.copy_(w.sign() * (w.abs() - t).clamp_min(0))
        if step % job["eval_every"] == 0 or step == job["steps"]:
            evaluate(step)
    return records


def _worker(jobs: list[dict[str, Any]], data: dict[str, torch.Tensor]) -> int:
    torch.set_num_threads(1)
    for job in jobs:
        _train(job, data)
    return len(jobs)


def _jobs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    train = spec["train"]
    return [
        {
            "init": init,
            "regularization": reg,
            "seed": seed,
            "lr": float(spec["optimizer"]["lr"]),
            "hidden": list(spec["model"]["hidden"]),
            "steps": int(train["steps"]),
            "batch": int(train["batch_size"]),
            "eval_every": int(train["eval_every"]),
        }
        for init in spec["init"]
        for reg in spec["regularization"]
        for seed in spec["seeds"]
    ]


def main() -> None:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", default=str(HERE / "sweep64.yaml"))
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    spec = yaml.safe_load(Path(args.spec).read_text())
    from weightlab.data import load_dataset

    dataset = load_dataset("mnist1d")
    data = {
        "x": dataset.x_train,
        "y": dataset.y_train,
        "x_val": dataset.x_val,
        "y_val": dataset.y_val,
    }
    jobs = _jobs(spec)
    shares = [jobs[i :: args.processes] for i in range(args.processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.processes) as pool:
        trained = sum(pool.starmap(_worker, [(share, data) for share in shares]))
    print(json.dumps({"runs": trained, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
