"""The training step, once: a model, its optimizer and regularization, stepped a batch
at a time, and the one evaluation that measures it.

:class:`Trainer` is what :func:`weightlab.train.train_run` loops over for a stored run
and what the browser lab plays, pauses and steps; the stacked engine
(:mod:`weightlab.train.stacked`) trains K models with the same arithmetic (the
registry's terms) and records the same :func:`metric_row`.

One step (Goodfellow, Bengio & Courville 2016, ch. 7): the data loss of the minibatch
plus the regularization's penalty terms, backward, the optimizer's step, then the
regularization's update rules (decoupled decay, L1 steps, max-norm) on the selected
weights.  A NaN or infinite loss marks the model diverged at that step and stops it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from weightlab.regularize import (
    TORCH,
    Dropout,
    Regularization,
    RegularizedOptimizer,
    parse_regularization,
    select_params,
)

__all__ = [
    "OPTIMIZER_DEFAULTS",
    "SMALL",
    "Batches",
    "Trainer",
    "cosine_factor",
    "evaluate",
    "loss",
    "make_optimizer",
    "metric_row",
]

SMALL = 1e-3  # |w| below this counts as "near zero" in the sparsity metrics
EVAL_CHUNK = 4096
OPTIMIZER_DEFAULTS: dict[str, Any] = {
    "momentum": 0.0,
    "nesterov": False,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "weight_decay": 0.0,
}


def make_optimizer(
    spec: Mapping[str, Any], params: Sequence[nn.Parameter]
) -> torch.optim.Optimizer:
    """``torch.optim`` SGD (momentum, Nesterov), Adam or AdamW from a spec dict
    (``name``, ``lr`` and any of :data:`OPTIMIZER_DEFAULTS`)."""
    full = {**OPTIMIZER_DEFAULTS, **spec}
    name, lr, wd = full["name"], float(full["lr"]), float(full["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=float(full["momentum"]),
            nesterov=bool(full["nesterov"]),
            weight_decay=wd,
        )
    betas = (float(full["betas"][0]), float(full["betas"][1]))
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return cls(params, lr=lr, betas=betas, eps=float(full["eps"]), weight_decay=wd)


def cosine_factor(steps: int) -> Callable[[int], float]:
    """The cosine schedule's factor after ``step`` of ``steps`` steps:
    ``½(1 + cos(π·step/steps))`` (Loshchilov & Hutter 2017, without restarts)."""
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))


def loss(out: Tensor, y: Tensor, task: str) -> Tensor:
    """Mean cross-entropy (classification) or mean squared error (regression)."""
    if task == "classification":
        return F.cross_entropy(out, y)
    return F.mse_loss(out.reshape(y.shape), y)


@torch.no_grad()
def evaluate(
    model: nn.Module, x: Tensor, y: Tensor, task: str, limit: int | None = None
) -> tuple[float, float]:
    """Mean loss and accuracy (classification) or MSE (regression) over a split (its
    first ``limit`` examples when given), in chunks, with the model in eval mode."""
    if limit is not None:
        x, y = x[:limit], y[:limit]
    was_training = model.training
    model.eval()
    total, score = 0.0, 0.0
    try:
        for start in range(0, len(x), EVAL_CHUNK):
            out = model(x[start : start + EVAL_CHUNK])
            yy = y[start : start + EVAL_CHUNK]
            n = len(yy)
            total += float(loss(out, yy, task)) * n
            if task == "classification":
                score += float((out.argmax(dim=1) == yy).float().sum())
            else:
                score += float(F.mse_loss(out.reshape(yy.shape), yy, reduction="sum"))
    finally:
        model.train(was_training)
    return total / len(x), score / len(x)


def metric_row(
    task: str,
    train: tuple[float, float],
    val: tuple[float, float],
    penalty: float,
    sparsity: tuple[float, float],
    lr: float,
    layers: Mapping[str, tuple[float, float]],
) -> dict[str, float]:
    """The metrics recorded at an evaluation, in their stored order: losses, scores
    (``acc`` or ``mse``), the generalization gap (validation − training loss), the
    penalty apart from the data loss, the fractions of weights exactly zero and below
    :data:`SMALL`, the learning rate, and per layer its weight norm and zero fraction."""
    score = "acc" if task == "classification" else "mse"
    row = {
        "train_loss": train[0],
        "val_loss": val[0],
        f"train_{score}": train[1],
        f"val_{score}": val[1],
        "gap": val[0] - train[0],
        "penalty": penalty,
        "sparsity_zero": sparsity[0],
        "sparsity_small": sparsity[1],
        "lr": lr,
    }
    for name, (norm, zeros) in layers.items():
        row[f"norm/{name}"] = norm
        row[f"zeros/{name}"] = zeros
    return row


class Batches:
    """Minibatch indices of ``n`` examples in shuffled epochs: a fresh permutation from
    ``generator`` whenever fewer than ``batch_size`` unseen examples are left."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator) -> None:
        self.n, self.size, self.generator = n, min(batch_size, n), generator
        self.order = torch.randperm(n, generator=generator)
        self.cursor = 0

    def next(self) -> Tensor:
        if self.cursor + self.size > self.n:
            self.order, self.cursor = torch.randperm(self.n, generator=self.generator), 0
        idx = self.order[self.cursor : self.cursor + self.size]
        self.cursor += self.size
        return idx


class Trainer:
    """One model, its optimizer and regularization, stepped a batch at a time.

    Args:
        model: the module (already initialized); dropout modules in it get
            ``dropout_generator``.
        regularization: a :class:`~weightlab.regularize.Regularization` or its string.
        optimizer: a spec dict for :func:`make_optimizer` (``name``, ``lr``, ...).
        task: ``"classification"`` or ``"regression"``.
        steps: the run's length, for the cosine schedule.
        schedule: ``"constant"`` or ``"cosine"``.
        dropout_generator: the source of dropout masks.

    Example:
        >>> net = torch.nn.Linear(3, 2)
        >>> t = Trainer(net, "l2(0.1)", {"name": "sgd", "lr": 0.1}, "classification")
        >>> t.train_step(torch.randn(4, 3), torch.tensor([0, 1, 0, 1])), t.step
        (True, 1)
    """

    def __init__(
        self,
        model: nn.Module,
        regularization: Regularization | str,
        optimizer: Mapping[str, Any],
        task: str,
        *,
        steps: int | None = None,
        schedule: str = "constant",
        dropout_generator: torch.Generator | None = None,
    ) -> None:
        self.model = model
        self.task = task
        self.regularization = parse_regularization(regularization)
        self.selected = select_params(model)
        self.weights: list[Tensor] = [w for _, w in self.selected]
        self.optimizer = make_optimizer(optimizer, list(model.parameters()))
        self.stepper: Any = self.optimizer
        self._wire()
        self.scheduler = (
            torch.optim.lr_scheduler.LambdaLR(self.optimizer, cosine_factor(steps))
            if schedule == "cosine" and steps
            else None
        )
        for module in model.modules():
            if isinstance(module, Dropout):
                module.generator = dropout_generator
        self.step = 0
        self.diverged_step: int | None = None

    def _wire(self) -> None:
        rule = self.regularization.rule(TORCH)
        self.stepper = (
            RegularizedOptimizer(self.optimizer, rule, self.weights)
            if rule is not None
            else self.optimizer
        )

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def set_lr(self, lr: float) -> None:
        """Change the learning rate from the next step on (momentum and Adam's moments
        are kept)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def set_regularization(self, regularization: Regularization | str) -> None:
        """Change the penalties and update rules from the next step on (not the model's
        dropout layers, which are part of the network)."""
        self.regularization = parse_regularization(regularization)
        self._wire()

    def set_dropout(self, p: float) -> None:
        """Change the drop probability of every :class:`~weightlab.regularize.Dropout`
        module of the model from the next step on (``0`` keeps the modules but drops
        nothing); the masks keep coming from the same generator."""
        for module in self.model.modules():
            if isinstance(module, Dropout):
                module.p = p

    def penalty(self) -> Tensor | None:
        """The regularization's loss terms on the current weights (None without any)."""
        value: Tensor | None = self.regularization.penalty(self.weights, TORCH)
        return value

    def train_step(self, x: Tensor, y: Tensor) -> bool:
        """One step on the batch ``(x, y)``; False (and nothing changed) when the loss is
        not finite, which marks the model diverged at this step."""
        if self.diverged_step is not None:
            return False
        self.model.train()
        total = loss(self.model(x), y, self.task)
        penalty = self.penalty()
        if penalty is not None:
            total = total + penalty
        if not torch.isfinite(total):
            self.diverged_step = self.step + 1
            return False
        self.stepper.zero_grad()
        total.backward()  # type: ignore[no-untyped-call]
        self.stepper.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        return True

    @torch.no_grad()
    def metrics(
        self,
        train: tuple[Tensor, Tensor],
        val: tuple[Tensor, Tensor],
        *,
        limit: int | None = None,
    ) -> dict[str, float]:
        """:func:`metric_row` of the model now, on the training and validation splits
        (their first ``limit`` examples when given)."""
        penalty = self.penalty()
        flat = (
            torch.cat([w.detach().reshape(-1) for w in self.weights])
            if self.weights
            else torch.zeros(1)
        )
        layers = {
            name: (float(w.detach().norm()), float((w.detach() == 0).float().mean()))
            for name, w in self.selected
        }
        return metric_row(
            self.task,
            evaluate(self.model, *train, self.task, limit),
            evaluate(self.model, *val, self.task, limit),
            float(penalty) if penalty is not None else 0.0,
            (float((flat == 0).float().mean()), float((flat.abs() < SMALL).float().mean())),
            self.lr,
            layers,
        )
