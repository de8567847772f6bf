"""Train one model: any init × regularization × optimizer on a dataset, recording what
is needed to see the effects.

Recorded at every evaluation step: train and validation loss, accuracy (classification)
or MSE (regression), the penalty kept apart from the data loss, the generalization gap
(validation minus training loss), per-layer weight norms and sparsity (fraction exactly
zero and below 1e-3).  At the start, the end and chosen steps: per-layer weight
histograms, and activation and gradient statistics from :mod:`weightlab.diagnose`.
With ``train.effective_lr``: each layer's relative update size of the step before each
evaluation and Adam's per-weight step sizes (:mod:`weightlab.train.effective`).
A NaN or infinite loss marks the run diverged at that step instead of raising.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from weightlab import __version__
from weightlab.data import Dataset
from weightlab.diagnose import measure
from weightlab.histogram import HistogramRow, histogram
from weightlab.init import init_module, resolve
from weightlab.models import build_model
from weightlab.regularize import parse_regularization
from weightlab.train.config import RunConfig
from weightlab.train.effective import (
    STEP_KIND,
    adam_step_sizes,
    log_step_histogram,
    step_size_summary,
    update_ratios,
)
from weightlab.train.probes import probe_metrics
from weightlab.train.trainer import Batches, Trainer

__all__ = ["RunOutput", "train_run", "versions"]

WEIGHT_BINS = 60


@dataclass
class RunOutput:
    """Everything one run produced, ready for :meth:`weightlab.store.Store.finish`."""

    status: str
    metrics: list[tuple[int, str, float]] = field(default_factory=list)
    histograms: list[HistogramRow] = field(default_factory=list)
    diagnostics: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    diverged_step: int | None = None
    seconds: float = 0.0
    # The final parameters (on the CPU; not stored, for comparisons and inspection).
    parameters: dict[str, torch.Tensor] = field(default_factory=dict)
    # Seconds spent per phase (init, train, eval, diagnostics, probes; not stored, for
    # the benchmarks' split of a sweep's time).  A stacked run holds its share.
    timings: dict[str, float] = field(default_factory=dict)


def versions() -> dict[str, str]:
    """The software a run was made with, stored beside its results."""
    return {
        "weightlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------------
# Pieces of a run.


def weight_histograms(step: int, named: Sequence[tuple[str, torch.Tensor]]) -> list[HistogramRow]:
    """One histogram per layer, and one named ``*`` over every selected weight; each
    symmetric around 0 and wide enough for its largest weight."""
    tensors = [(name, w.detach().reshape(-1)) for name, w in named]
    if tensors:
        tensors.append(("*", torch.cat([t for _, t in tensors])))
    return [
        HistogramRow.of(step, "weight", name, histogram(flat, WEIGHT_BINS, symmetric=True))
        for name, flat in tensors
    ]


def diagnose_step(
    model: nn.Module, x: torch.Tensor, step: int, seed: int
) -> tuple[dict[str, Any], list[HistogramRow]]:
    m = measure(model, x, generator=torch.Generator().manual_seed(seed))
    layers = [
        {
            "name": r.name,
            "activation": r.activation,
            "pre_var": r.pre_var,
            "post_var": r.post_var,
            "weight_grad_var": r.weight_grad_var,
            "distinct_units": r.distinct_units,
            "units": r.units,
            "dead_fraction": r.dead_fraction,
            "saturated_fraction": r.saturated_fraction,
            "predicted_pre_var_chain": q,
        }
        for r, q in zip(m.layers, m.chain, strict=True)
    ]
    hists = [
        HistogramRow.of(step, "activation", r.name, r.post_hist)
        for r in m.layers
        if r.post_hist.counts
    ]
    return {"layers": layers}, hists


def step_ratios(trainer: Trainer, before: Sequence[torch.Tensor] | None) -> dict[str, float]:
    """``update_ratio/{layer}`` of the selected weights, from ``before`` (a copy taken
    before the last step) to now; empty without a copy (step 0)."""
    if before is None:
        return {}
    return update_ratios([name for name, _ in trainer.selected], before, trainer.weights)


def step_size_histograms(step: int, trainer: Trainer) -> list[HistogramRow]:
    """The histogram of log10 of Adam's step sizes over every selected weight (layer
    ``*``); none before Adam's first step or for another optimizer."""
    hist = log_step_histogram(adam_step_sizes(trainer.optimizer, trainer.weights), WEIGHT_BINS)
    return [] if hist is None else [HistogramRow.of(step, STEP_KIND, "*", hist)]


def selection_metrics(data: Dataset, model: nn.Module) -> dict[str, float]:
    """Precision and recall of the features the first layer still uses (any weight
    exactly nonzero) against the dataset's true informative features."""
    informative = data.info.get("informative")
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    if informative is None or first is None or first.in_features != data.input_shape[-1]:
        return {}
    used = set(torch.nonzero(first.weight.detach().abs().amax(dim=0) > 0).flatten().tolist())
    truth = set(int(i) for i in informative)
    hit = len(used & truth)
    return {
        "selected_features": float(len(used)),
        "selection_precision": hit / len(used) if used else 0.0,
        "selection_recall": hit / len(truth) if truth else 0.0,
    }


def data_order_generator(config: RunConfig, init_gen: torch.Generator) -> torch.Generator:
    """Where a run's minibatch order comes from: its own generator, continued after the
    init (``data_order: per_model``), or one seeded with ``order_seed`` that every run of
    the sweep shares (``data_order: shared``)."""
    if config.train.get("data_order", "per_model") == "shared":
        return torch.Generator().manual_seed(int(config.train.get("order_seed", 0)))
    return init_gen


def finalize(
    out: RunOutput,
    last: dict[str, float],
    data: Dataset,
    model: nn.Module,
    steps_done: int,
    config: RunConfig,
    probes: dict[str, float] | None = None,
) -> None:
    """The run's final metrics: its last evaluation, feature selection, steps done, the
    divergence step, the smallest fraction of distinct hidden units at the end, and (with
    ``train.diagnose``) the end-of-training probes of :mod:`weightlab.train.probes`
    (``probes`` when the caller measured them already)."""
    out.final = {**last, **selection_metrics(data, model), "steps_done": steps_done}
    if config.train["diagnose"]:
        out.final.update(probe_metrics(model, data, config.seed) if probes is None else probes)
    out.parameters = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if out.status == "diverged":
        out.final["diverged_step"] = out.diverged_step
    diag = out.diagnostics[-1][1]["layers"] if out.diagnostics else []
    hidden = list(diag[:-1]) or diag
    if hidden:
        out.final["min_distinct_units_fraction"] = min(
            layer["distinct_units"] / layer["units"] for layer in hidden
        )


# ---------------------------------------------------------------------------
# The run.


def train_run(
    config: RunConfig,
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    on_step: Callable[[int, Mapping[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunOutput:
    """Train ``config`` on ``data`` and return every recorded result.

    ``on_step(step, metrics)`` is called after each evaluation (progress bars,
    heartbeats).  ``should_stop()`` is asked before every step; when it answers True
    the run stops with ``KeyboardInterrupt`` at that clean point (Ctrl-C handling).
    Everything random is drawn from generators seeded with ``config.seed``, so the same
    config and seed give identical metrics.
    """
    start_time = time.perf_counter()
    timings = dict.fromkeys(("init", "train", "eval", "diagnostics", "probes"), 0.0)
    reg = parse_regularization(config.regularization)
    gen = torch.Generator().manual_seed(config.seed)
    p, mode = reg.dropout
    model = build_model(
        config.model, data.input_shape, data.n_outputs, dropout=p, dropout_mode=mode
    )
    init_module(model, resolve(config.init), generator=gen, data=init_batch(data))
    device = torch.device(device)
    model.to(device)
    steps = int(config.train["steps"])
    trainer = Trainer(
        model,
        reg,
        config.optimizer,
        data.task,
        steps=steps,
        schedule=str(config.train["schedule"]),
        dropout_generator=torch.Generator(device).manual_seed(config.seed + 1),
    )
    train = training_split(data, config, device)
    val = data.x_val.to(device), data.y_val.to(device)
    out = RunOutput(status="done", timings=timings)
    hist_steps = {0, steps, *(int(s) for s in config.train["histogram_steps"])}
    eval_every = int(config.train["eval_every"])
    effective = bool(config.train.get("effective_lr", False))
    before: list[torch.Tensor] | None = None  # the weights before the last step (effective_lr)
    timings["init"] = time.perf_counter() - start_time

    def evaluates(step: int) -> bool:
        return step % eval_every == 0 or step == steps or step in hist_steps

    def record(step: int) -> dict[str, float]:
        clock = time.perf_counter()
        row = trainer.metrics(train, val)
        if effective:
            row.update(step_ratios(trainer, before))
        out.metrics += [(step, k, v) for k, v in row.items()]
        timings["eval"] += time.perf_counter() - clock
        clock = time.perf_counter()
        if step in hist_steps:
            out.histograms += weight_histograms(step, trainer.selected)
            if effective:
                out.histograms += step_size_histograms(step, trainer)
        if step in (0, steps) and config.train["diagnose"]:
            summary, hists = diagnose_step(model, val[0][:256], step, config.seed)
            out.diagnostics.append((step, summary))
            out.histograms += hists
        timings["diagnostics"] += time.perf_counter() - clock
        if on_step is not None:
            on_step(step, row)
        return row

    last = record(0)
    batches = Batches(
        len(train[0]), int(config.train["batch_size"]), data_order_generator(config, gen)
    )
    clock = time.perf_counter()
    for step in range(1, steps + 1):
        if should_stop is not None and should_stop():
            raise KeyboardInterrupt
        idx = batches.next().to(device)
        if effective and evaluates(step):
            before = [w.detach().clone() for w in trainer.weights]
        if not trainer.train_step(train[0][idx], train[1][idx]):
            out.status, out.diverged_step = "diverged", trainer.diverged_step
            break
        if evaluates(step):
            timings["train"] += time.perf_counter() - clock
            last = record(step)
            clock = time.perf_counter()
    timings["train"] += time.perf_counter() - clock
    clock = time.perf_counter()
    finalize(out, last, data, model, trainer.diverged_step or trainer.step, config)
    if effective:
        out.final.update(step_size_summary(adam_step_sizes(trainer.optimizer, trainer.weights)))
    timings["probes"] = time.perf_counter() - clock
    out.seconds = time.perf_counter() - start_time
    return out


def training_split(
    data: Dataset, config: RunConfig, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples the run trains on: the training split, or with ``train.resample:
    bootstrap`` a resample of it with replacement (as many examples), drawn with the
    run's seed (Efron 1979), so that seeds vary the data as well as the init."""
    x, y = data.x_train, data.y_train
    if config.train.get("resample", "none") == "bootstrap":
        gen = torch.Generator().manual_seed(config.seed + 2)
        idx = torch.randint(len(x), (len(x),), generator=gen)
        x, y = x[idx], y[idx]
    return x.to(device), y.to(device)


def init_batch(data: Dataset) -> torch.Tensor:
    """The inputs a data-dependent init (LSUV) calibrates on: up to 512 training
    examples."""
    return data.x_train[: min(len(data.x_train), 512)]
