"""A small steppable trainer: the training step of :mod:`weightlab.train.loop` (data loss
plus penalty, backward, optimizer, update rule), taken a few steps at a time so that the
lab can play, pause, step and reset it.

A trainer holds one or more *arms*, networks trained on the very same minibatches: the
init explorer has one, the regularization explorer a regularized and a plain network
that start from the same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from weightlab.data import Dataset
from weightlab.lab import explore
from weightlab.lab.schemas import InitSetup, RegularizationSetup, Setup
from weightlab.regularize import Dropout, RegularizedOptimizer, select_params
from weightlab.train import Regularization, parse_regularization

__all__ = ["Arm", "Trainer", "init_trainer", "regularization_trainer"]

EVAL_MAX = 2000  # samples per split used for the loss curves
HISTORY = 400  # points kept per curve; older ones are thinned
SMALL = 1e-3  # |w| below this counts as near zero


@dataclass
class Arm:
    """One network with its optimizer and regularization."""

    name: str
    model: nn.Module
    regularization: Regularization
    stepper: Any  # a torch optimizer, or a RegularizedOptimizer around one
    weights: list[torch.Tensor]
    diverged_step: int | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)


def _optimizer(setup: Setup, model: nn.Module) -> torch.optim.Optimizer:
    if setup.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=setup.lr)
    return torch.optim.SGD(model.parameters(), lr=setup.lr)


def _arm(name: str, setup: Setup, model: nn.Module, spec: str, seed: int) -> Arm:
    """Wire ``model`` to its optimizer and regularization as the training loop does."""
    reg = parse_regularization(spec)
    weights: list[torch.Tensor] = [w for _, w in select_params(model)]
    optimizer = _optimizer(setup, model)
    rule = reg.rule()
    stepper = RegularizedOptimizer(optimizer, rule, weights) if rule is not None else optimizer
    dropout_generator = torch.Generator().manual_seed(seed + 1)
    for module in model.modules():
        if isinstance(module, Dropout):
            module.generator = dropout_generator
    return Arm(name, model, reg, stepper, weights)


class Trainer:
    """Train every arm on the same minibatch order, a given number of steps at a time.

    Example:
        >>> from weightlab.lab.schemas import InitSetup
        >>> t = init_trainer(InitSetup(n_samples=40, depth=1, width=4, max_steps=10))
        >>> t.run(3); t.step, t.status
        (3, 'ready')
        >>> t.run(100); t.step, t.status
        (10, 'done')
    """

    def __init__(
        self,
        section: str,
        setup: Setup,
        data: Dataset,
        arms: list[Arm],
        *,
        measured: bool,
    ) -> None:
        self.section = section
        self.setup = setup
        self.data = data
        self.arms = arms
        self.measured = measured
        self.step = 0
        self.steps: list[int] = []
        self._order_gen = torch.Generator().manual_seed(setup.seed)
        self._order = torch.randperm(len(data.x_train), generator=self._order_gen)
        self._cursor = 0
        self._record()

    @property
    def status(self) -> str:
        """``diverged`` when every arm has, ``done`` at the step limit, else ``ready``."""
        if all(arm.diverged_step is not None for arm in self.arms):
            return "diverged"
        if self.step >= self.setup.max_steps:
            return "done"
        return "ready"

    def _batch(self) -> torch.Tensor:
        size = min(self.setup.batch_size, len(self.data.x_train))
        if self._cursor + size > len(self._order):
            self._order = torch.randperm(len(self.data.x_train), generator=self._order_gen)
            self._cursor = 0
        idx = self._order[self._cursor : self._cursor + size]
        self._cursor += size
        return idx

    def run(self, steps: int, *, seconds: float | None = None) -> None:
        """Take up to ``steps`` steps: fewer at the step limit, when every arm has
        diverged, or when they take longer than ``seconds``."""
        deadline = None if seconds is None else time.monotonic() + seconds
        for _ in range(steps):
            if self.status != "ready" or (deadline is not None and time.monotonic() > deadline):
                return
            idx = self._batch()
            self.step += 1
            for arm in self.arms:
                if arm.diverged_step is None:
                    self._update(arm, idx)

    def _update(self, arm: Arm, idx: torch.Tensor) -> None:
        """One step of ``arm``: loss + penalty, backward, optimizer and update rule."""
        arm.model.train()
        data_loss = explore.loss(arm.model(self.data.x_train[idx]), self.data.y_train[idx])
        penalty = arm.regularization.penalty(arm.weights)
        total = data_loss + penalty if penalty is not None else data_loss
        if not torch.isfinite(total):
            arm.diverged_step = self.step
            return
        arm.stepper.zero_grad()
        total.backward()  # type: ignore[no-untyped-call]
        arm.stepper.step()

    # -- what the page shows -----------------------------------------------------------

    @torch.no_grad()
    def _metrics(self, arm: Arm) -> dict[str, float]:
        arm.model.eval()
        row: dict[str, float] = {}
        for split, x, y in (
            ("train", self.data.x_train, self.data.y_train),
            ("val", self.data.x_val, self.data.y_val),
        ):
            out = arm.model(x[:EVAL_MAX])
            row[f"{split}_loss"] = float(explore.loss(out, y[:EVAL_MAX]))
            row[f"{split}_acc"] = float((out.argmax(dim=1) == y[:EVAL_MAX]).float().mean())
        row["gap"] = row["val_loss"] - row["train_loss"]
        penalty = arm.regularization.penalty(arm.weights)
        row["penalty"] = float(penalty) if penalty is not None else 0.0
        flat = torch.cat([w.reshape(-1) for w in arm.weights])
        row["sparsity_zero"] = float((flat == 0).float().mean())
        row["sparsity_small"] = float((flat.abs() < SMALL).float().mean())
        return row

    def _record(self) -> None:
        """Add the current step to every curve, once, thinning old points."""
        if self.steps and self.steps[-1] == self.step:
            return
        self.steps.append(self.step)
        for arm in self.arms:
            for key, value in self._metrics(arm).items():
                arm.curves.setdefault(key, []).append(value)
        if len(self.steps) > HISTORY:
            keep = [*range(0, len(self.steps) - 1, 2), len(self.steps) - 1]
            self.steps = [self.steps[i] for i in keep]
            for arm in self.arms:
                arm.curves = {k: [v[i] for i in keep] for k, v in arm.curves.items()}

    def frame(self, *, full: bool = False) -> dict[str, Any]:
        """Everything the page draws at this step; ``full`` adds what never changes
        (the dataset's description and its points)."""
        self._record()
        first = self.arms[0]
        out: dict[str, Any] = {
            "section": self.section,
            "step": self.step,
            "max_steps": self.setup.max_steps,
            "status": self.status,
            "steps": list(self.steps),
            "arms": [self._arm_frame(arm) for arm in self.arms],
            "boundary": explore.boundary(first.model, self.data),
            "measurement": None,
        }
        if self.measured:
            n = min(explore.MEASURE_BATCH, len(self.data.x_train))
            x, y = self.data.x_train[:n], self.data.y_train[:n]
            out["measurement"] = explore.measurement(first.model, x, y, self.setup.seed)
        if full:
            out["setup"] = self.setup.model_dump()
            out["dataset"] = _describe(self.data)
            out["points"] = explore.points(self.data)
        return out

    def _arm_frame(self, arm: Arm) -> dict[str, Any]:
        named = select_params(arm.model)
        return {
            "name": arm.name,
            "regularization": str(arm.regularization),
            "diverged_step": arm.diverged_step,
            "curves": {k: list(v) for k, v in arm.curves.items()},
            "weights": explore.weight_histogram(arm.weights),
            "layer_zeros": [
                {"layer": name, "zeros": float((w == 0).float().mean())} for name, w in named
            ],
        }


def _describe(data: Dataset) -> dict[str, Any]:
    return {
        "name": data.name,
        "n_train": len(data.y_train),
        "n_val": len(data.y_val),
        "input_shape": list(data.input_shape),
        "n_classes": data.n_classes,
    }


def init_trainer(setup: InitSetup) -> Trainer:
    """The init explorer's trainer: one unregularized network, measured every frame."""
    data = explore.dataset(setup)
    model = explore.build_network(setup, data, generator=torch.Generator().manual_seed(setup.seed))
    arm = _arm("network", setup, model, "none", setup.seed)
    return Trainer("init", setup, data, [arm], measured=True)


def regularization_trainer(setup: RegularizationSetup) -> Trainer:
    """The regularization explorer's trainer: the regularized network and a plain copy
    with the same initial weights, trained on the same minibatches."""
    data = explore.dataset(setup)
    spec = setup.spec()
    p = parse_regularization(spec).dropout[0]
    plain = explore.build_network(setup, data, generator=torch.Generator().manual_seed(setup.seed))
    regularized = explore.network(setup, data, dropout=p)
    explore.copy_weights(plain, regularized)
    arms = [
        _arm("regularized", setup, regularized, spec, setup.seed),
        _arm("plain", setup, plain, "none", setup.seed),
    ]
    return Trainer("regularization", setup, data, arms, measured=False)
