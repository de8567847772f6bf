"""The lab's trainers: one or more *arms*, each a :class:`weightlab.train.Trainer` (the
library's one training step), trained on the very same minibatches a few steps at a
time, so that the page can play, pause, step and reset them.

The init explorer has one arm, the regularization explorer a regularized and a plain
network that start from the same weights.
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
from weightlab.regularize import parse_regularization, select_params
from weightlab.train import Batches
from weightlab.train import Trainer as Stepper

__all__ = ["Arm", "Trainer", "init_trainer", "regularization_trainer"]

EVAL_MAX = 2000  # samples per split used for the loss curves
HISTORY = 400  # points kept per curve; older ones are thinned
CURVES = (
    "train_loss",
    "val_loss",
    "train_acc",
    "val_acc",
    "gap",
    "penalty",
    "sparsity_zero",
    "sparsity_small",
)


@dataclass
class Arm:
    """One network trained by the library's :class:`weightlab.train.Trainer`, and the
    curves the page draws."""

    name: str
    trainer: Stepper
    curves: dict[str, list[float]] = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        return self.trainer.model

    @property
    def diverged_step(self) -> int | None:
        return self.trainer.diverged_step


def _arm(name: str, setup: Setup, model: nn.Module, data: Dataset, spec: str) -> Arm:
    optimizer = {"name": setup.optimizer, "lr": setup.lr}
    dropout_generator = torch.Generator().manual_seed(setup.seed + 1)
    stepper = Stepper(model, spec, optimizer, data.task, dropout_generator=dropout_generator)
    return Arm(name, stepper)


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
        order = torch.Generator().manual_seed(setup.seed)
        self._batches = Batches(len(data.x_train), setup.batch_size, order)
        self._record()

    @property
    def status(self) -> str:
        """``diverged`` when every arm has, ``done`` at the step limit, else ``ready``."""
        if all(arm.diverged_step is not None for arm in self.arms):
            return "diverged"
        if self.step >= self.setup.max_steps:
            return "done"
        return "ready"

    def run(self, steps: int, *, seconds: float | None = None) -> None:
        """Take up to ``steps`` steps: fewer at the step limit, when every arm has
        diverged, or when they take longer than ``seconds``."""
        deadline = None if seconds is None else time.monotonic() + seconds
        for _ in range(steps):
            if self.status != "ready" or (deadline is not None and time.monotonic() > deadline):
                return
            idx = self._batches.next()
            x, y = self.data.x_train[idx], self.data.y_train[idx]
            self.step += 1
            for arm in self.arms:
                arm.trainer.train_step(x, y)

    # -- what the page shows -----------------------------------------------------------

    def _metrics(self, arm: Arm) -> dict[str, float]:
        data = self.data
        row = arm.trainer.metrics(
            (data.x_train, data.y_train), (data.x_val, data.y_val), limit=EVAL_MAX
        )
        return {key: row[key] for key in CURVES}

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
            out["setup"] = self.setup.model_dump(by_alias=True)
            out["dataset"] = _describe(self.data)
            out["points"] = explore.points(self.data)
        return out

    def _arm_frame(self, arm: Arm) -> dict[str, Any]:
        named = select_params(arm.model)
        reg = arm.trainer.regularization
        return {
            "name": arm.name,
            "regularization": str(reg),
            "about": [term.doc.replace("``", "") for term in reg.terms if term.active],
            "diverged_step": arm.diverged_step,
            "curves": {k: list(v) for k, v in arm.curves.items()},
            "weights": explore.weight_histogram(arm.trainer.weights),
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
    arm = _arm("network", setup, model, data, "none")
    return Trainer("init", setup, data, [arm], measured=True)


def regularization_trainer(setup: RegularizationSetup) -> Trainer:
    """The regularization explorer's trainer: the regularized network and a plain copy
    with the same initial weights, trained on the same minibatches."""
    data = explore.dataset(setup)
    spec = setup.spec()
    plain = explore.build_network(setup, data, generator=torch.Generator().manual_seed(setup.seed))
    p, mode = parse_regularization(spec).dropout
    regularized = explore.network(setup, data, dropout=p, dropout_mode=mode)
    explore.copy_weights(plain, regularized)
    arms = [
        _arm("regularized", setup, regularized, data, spec),
        _arm("plain", setup, plain, data, "none"),
    ]
    return Trainer("regularization", setup, data, arms, measured=False)
