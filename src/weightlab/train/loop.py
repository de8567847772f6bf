"""Train one model: any init × regularization × optimizer on a dataset, recording what
is needed to see the effects.

Recorded at every evaluation step: train and validation loss, accuracy (classification)
or MSE (regression), the penalty kept apart from the data loss, the generalization gap
(validation minus training loss), per-layer weight norms and sparsity (fraction exactly
zero and below 1e-3).  At the start, the end and chosen steps: per-layer weight
histograms, and activation and gradient statistics from :mod:`weightlab.diagnose`.
A NaN or infinite loss marks the run diverged at that step instead of raising.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weightlab import __version__
from weightlab.data import Dataset
from weightlab.diagnose import measure
from weightlab.init import init_module, resolve
from weightlab.models import build_model
from weightlab.regularize import Dropout, RegularizedOptimizer, select_params
from weightlab.train.config import RunConfig
from weightlab.train.regularization import parse_regularization

__all__ = ["RunOutput", "train_run", "versions"]

SMALL = 1e-3  # |w| below this counts as "near zero" in the sparsity metrics
WEIGHT_BINS = 60
EVAL_CHUNK = 4096


@dataclass
class RunOutput:
    """Everything one run produced, ready for :meth:`weightlab.store.Store.finish`."""

    status: str
    metrics: list[tuple[int, str, float]] = field(default_factory=list)
    histograms: list[tuple[int, str, str, float, float, list[int]]] = field(default_factory=list)
    diagnostics: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    diverged_step: int | None = None
    seconds: float = 0.0
    # The final parameters (on the CPU; not stored, for comparisons and inspection).
    parameters: dict[str, torch.Tensor] = field(default_factory=dict)


def versions() -> dict[str, str]:
    """The software a run was made with, stored beside its results."""
    return {
        "weightlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------------
# Pieces of a run.


def _optimizer(spec: Mapping[str, Any], params: list[nn.Parameter]) -> torch.optim.Optimizer:
    name, lr, wd = spec["name"], float(spec["lr"]), float(spec["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=float(spec["momentum"]),
            nesterov=bool(spec["nesterov"]),
            weight_decay=wd,
        )
    betas = (float(spec["betas"][0]), float(spec["betas"][1]))
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return cls(params, lr=lr, betas=betas, weight_decay=wd)


def cosine_factor(steps: int) -> Callable[[int], float]:
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))


def _loss(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    if task == "classification":
        return F.cross_entropy(out, y)
    return F.mse_loss(out.reshape(y.shape), y)


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str) -> tuple[float, float]:
    """Mean loss and accuracy (classification) or MSE (regression) over a whole split."""
    total, score = 0.0, 0.0
    for start in range(0, len(x), EVAL_CHUNK):
        out = model(x[start : start + EVAL_CHUNK])
        yy = y[start : start + EVAL_CHUNK]
        n = len(yy)
        total += float(_loss(out, yy, task)) * n
        if task == "classification":
            score += float((out.argmax(dim=1) == yy).float().sum())
        else:
            score += float(F.mse_loss(out.reshape(yy.shape), yy, reduction="sum"))
    return total / len(x), score / len(x)


def weight_histograms(
    step: int, named: Sequence[tuple[str, torch.Tensor]]
) -> list[tuple[int, str, str, float, float, list[int]]]:
    """One histogram per layer, and one named ``*`` over every selected weight; each
    symmetric around 0 and wide enough for its largest weight."""
    tensors = [(name, w.detach().float().reshape(-1)) for name, w in named]
    if tensors:
        tensors.append(("*", torch.cat([t for _, t in tensors])))
    out = []
    for name, flat in tensors:
        m = float(flat.abs().max()) if flat.numel() else 0.0
        m = m if m > 0 and math.isfinite(m) else 1.0
        counts = torch.histc(flat.clamp(-m, m), bins=WEIGHT_BINS, min=-m, max=m)
        out.append((step, "weight", name, -m, m, [int(c) for c in counts.tolist()]))
    return out


def diagnose_step(
    model: nn.Module, x: torch.Tensor, step: int, seed: int
) -> tuple[dict[str, Any], list[tuple[int, str, str, float, float, list[int]]]]:
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
        (step, "activation", r.name, r.post_hist.low, r.post_hist.high, list(r.post_hist.counts))
        for r in m.layers
        if r.post_hist.counts
    ]
    return {"layers": layers}, hists


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
    out: RunOutput, last: dict[str, float], data: Dataset, model: nn.Module, steps_done: int
) -> None:
    """The run's final metrics: its last evaluation, feature selection, steps done, the
    divergence step, and the smallest fraction of distinct hidden units at the end."""
    out.final = {**last, **selection_metrics(data, model), "steps_done": steps_done}
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
    reg = parse_regularization(config.regularization)
    gen = torch.Generator().manual_seed(config.seed)
    p, mode = reg.dropout
    model = build_model(
        config.model, data.input_shape, data.n_outputs, dropout=p, dropout_mode=mode
    )
    scheme = resolve(config.init)
    init_data = data.x_train[: min(len(data.x_train), 512)] if scheme.data_dependent else None
    init_module(model, scheme, generator=gen, data=init_data)
    device = torch.device(device)
    model.to(device)
    drop_gen = torch.Generator(device).manual_seed(config.seed + 1)
    for module in model.modules():
        if isinstance(module, Dropout):
            module.generator = drop_gen
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)

    selected = select_params(model)
    weights: list[torch.Tensor] = [w for _, w in selected]
    optimizer = _optimizer(config.optimizer, list(model.parameters()))
    rule = reg.rule()
    stepper: Any = RegularizedOptimizer(optimizer, rule, weights) if rule is not None else optimizer
    steps = int(config.train["steps"])
    scheduler = (
        torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_factor(steps))
        if config.train["schedule"] == "cosine"
        else None
    )
    out = RunOutput(status="done")
    hist_steps = {0, steps, *(int(s) for s in config.train["histogram_steps"])}
    eval_every = int(config.train["eval_every"])
    batch = int(config.train["batch_size"])
    diag_x = x_val[:256]

    def record(step: int) -> dict[str, float]:
        model.eval()
        train_loss, train_score = _evaluate(model, x_train, y_train, data.task)
        val_loss, val_score = _evaluate(model, x_val, y_val, data.task)
        model.train()
        with torch.no_grad():
            penalty = reg.penalty(weights)
            flat = (
                torch.cat([w.detach().reshape(-1) for w in weights]) if weights else torch.zeros(1)
            )
        score = "acc" if data.task == "classification" else "mse"
        row = {
            "train_loss": train_loss,
            "val_loss": val_loss,
            f"train_{score}": train_score,
            f"val_{score}": val_score,
            "gap": val_loss - train_loss,
            "penalty": float(penalty) if penalty is not None else 0.0,
            "sparsity_zero": float((flat == 0).float().mean()),
            "sparsity_small": float((flat.abs() < SMALL).float().mean()),
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        for name, w in selected:
            row[f"norm/{name}"] = float(w.detach().norm())
            row[f"zeros/{name}"] = float((w.detach() == 0).float().mean())
        out.metrics += [(step, k, v) for k, v in row.items()]
        if step in hist_steps:
            out.histograms += weight_histograms(step, selected)
        if step in (0, steps) and config.train["diagnose"]:
            summary, hists = diagnose_step(model, diag_x, step, config.seed)
            out.diagnostics.append((step, summary))
            out.histograms += hists
        if on_step is not None:
            on_step(step, row)
        return row

    last = record(0)
    order_gen = data_order_generator(config, gen)
    order = torch.randperm(len(x_train), generator=order_gen)
    cursor = 0
    model.train()
    for step in range(1, steps + 1):
        if should_stop is not None and should_stop():
            raise KeyboardInterrupt
        if cursor + batch > len(x_train):
            order, cursor = torch.randperm(len(x_train), generator=order_gen), 0
        idx = order[cursor : cursor + batch].to(device)
        cursor += batch
        loss = _loss(model(x_train[idx]), y_train[idx], data.task)
        penalty = reg.penalty(weights)
        total = loss + penalty if penalty is not None else loss
        if not torch.isfinite(total):
            out.status, out.diverged_step = "diverged", step
            break
        stepper.zero_grad()
        total.backward()  # type: ignore[no-untyped-call]
        stepper.step()
        if scheduler is not None:
            scheduler.step()
        if step % eval_every == 0 or step == steps or step in hist_steps:
            last = record(step)
    finalize(out, last, data, model, step if steps else 0)
    out.seconds = time.perf_counter() - start_time
    return out
