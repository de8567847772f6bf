"""The lab's trainers: one or more *arms*, each a :class:`weightlab.train.Trainer` (the
library's one training step), trained on the very same minibatches a few steps at a
time, so that the page can play, pause, step and reset them.

The init explorer has one arm; the regularization explorer a regularized network and its
plain twin from the same weights; the init race one arm per scheme.  A change of the
learning rate, the batch size, the step limit or (regularization) a term's parameter is
applied to the running arms (:meth:`Trainer.apply`): the step count goes on.  Any other
change builds the section anew.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn

from weightlab.data import Dataset
from weightlab.init import resolve
from weightlab.lab import explore, landscape, picture, theory
from weightlab.lab.data import LabData, load
from weightlab.lab.schemas import InitSetup, RaceSetup, RegularizationSetup, Setup
from weightlab.regularize import parse_regularization, select_params
from weightlab.train import Batches
from weightlab.train import Trainer as Stepper

__all__ = [
    "RACE_CHOICES",
    "RACE_LABELS",
    "Arm",
    "Trainer",
    "init_trainer",
    "race_trainer",
    "regularization_trainer",
    "warm_up",
]

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
# What the race calls its classic contestants (by their canonical spec: "normal" is
# N(0, 1), the scheme's default).
RACE_LABELS = {
    str(resolve(spec)): label
    for spec, label in (
        ("zeros", "zeros"),
        ("normal(std=0.01)", "too small: N(0, 0.01²)"),
        ("normal(std=1.0)", "too large: N(0, 1)"),
        ("xavier_normal", "Xavier"),
        ("he_normal", "He"),
    )
}
GOOD = ("xavier_normal", "he_normal")
# What the page offers to race: the classic five, then a few more.
RACE_CHOICES = (*RACE_LABELS, "lecun_normal", "orthogonal", "lsuv")


@dataclass
class Arm:
    """One network trained by the library's :class:`weightlab.train.Trainer`, the curves
    the page draws, and how it takes on a live change of the setup."""

    name: str
    trainer: Stepper
    label: str = ""
    curves: dict[str, list[float]] = field(default_factory=dict)
    live: Callable[[Setup], None] | None = None

    @property
    def model(self) -> nn.Module:
        return self.trainer.model

    @property
    def diverged_step(self) -> int | None:
        return self.trainer.diverged_step


def _arm(
    name: str, setup: Setup, model: nn.Module, data: Dataset, spec: str, label: str = ""
) -> Arm:
    optimizer = {"name": setup.optimizer, "lr": setup.lr}
    dropout_generator = torch.Generator().manual_seed(setup.seed + 1)
    stepper = Stepper(model, spec, optimizer, data.task, dropout_generator=dropout_generator)
    return Arm(name, stepper, label or name)


View = Callable[["Trainer"], dict[str, Any]]


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
        lab: LabData,
        arms: list[Arm],
        view: View,
        *,
        weights: bool = False,
    ) -> None:
        self.section = section
        self.weights = weights  # a weight histogram per arm in every frame
        self.setup = setup
        self.lab = lab
        self.data = lab.data
        self.arms = arms
        self.view = view
        self.step = 0
        self.steps: list[int] = []
        self.changes: list[dict[str, Any]] = []  # live changes: step and what changed
        self._passes: dict[int, explore.Pass] = {}
        self._applied = 0  # live changes taken on, for the frame cache
        self._drawn: tuple[tuple[int, int], dict[str, Any]] | None = None
        order = torch.Generator().manual_seed(setup.seed)
        self._batches = Batches(len(self.data.x_train), setup.batch_size, order)
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

    def apply(self, setup: Setup) -> list[str]:
        """Take on a setup that differs only in live settings (the learning rate, the
        batch size, the step limit, a term's parameters) without starting again; answers
        the fields that changed."""
        live, _ = self.setup.changes(setup)
        before = self.setup.model_dump(by_alias=True)
        self.setup = setup
        for arm in self.arms:
            arm.trainer.set_lr(setup.lr)
            if arm.live is not None:
                arm.live(setup)
        self._batches.size = min(setup.batch_size, self._batches.n)
        self._applied += 1
        after = setup.model_dump(by_alias=True)
        if live:
            self.changes.append(
                {"step": self.step, "fields": {k: [before[k], after[k]] for k in live}}
            )
        return live

    # -- what the page shows -----------------------------------------------------------

    def _metrics(self, arm: Arm) -> dict[str, float]:
        data = self.data
        row = arm.trainer.metrics(
            (data.x_train, data.y_train), (data.x_val, data.y_val), limit=EVAL_MAX
        )
        return {key: row[key] for key in CURVES if key in row}

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

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training inputs every frame measures on."""
        n = min(explore.MEASURE_BATCH, len(self.data.x_train))
        return self.data.x_train[:n], self.data.y_train[:n]

    def plane_pass(self, index: int) -> explore.Pass | None:
        """Arm ``index`` on the grid of the plane (computed once per frame)."""
        if self.lab.plane is None:
            return None
        if index not in self._passes:
            self._passes[index] = explore.plane_pass(self.arms[index].model, self.lab.plane)
        return self._passes[index]

    def frame(self, *, full: bool = False) -> dict[str, Any]:
        """Everything the page draws at this step; ``full`` adds what never changes
        (the dataset's description and its points).  Drawn once per step and live
        change: asking again (a page that reconnects, many tabs) costs nothing."""
        key = (self.step, self._applied)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, self._draw())
        out = dict(self._drawn[1])
        if full:
            out["setup"] = self.setup.model_dump(by_alias=True)
            out["dataset"] = _describe(self.lab)
            out["points"] = self.lab.plane.points() if self.lab.plane is not None else None
        return out

    def _draw(self) -> dict[str, Any]:
        self._record()
        self._passes = {}
        passes = [self.plane_pass(i) for i in range(len(self.arms))]
        out: dict[str, Any] = {
            "section": self.section,
            "step": self.step,
            "max_steps": self.setup.max_steps,
            "status": self.status,
            "task": self.data.task,
            "hidden": self.setup.hidden(),
            "steps": list(self.steps),
            "changes": list(self.changes),
            "arms": self._arm_frames(),
            "boundary": explore.boundary(
                [p for p in passes if p is not None], self.lab.plane, self.data.task
            ),
            "measurement": None,
            **self.view(self),
        }
        self._passes = {}
        return out

    def _arm_frames(self) -> list[dict[str, Any]]:
        bounds = (
            explore.weight_bounds([arm.trainer.weights for arm in self.arms])
            if self.weights
            else None
        )
        return [self._arm_frame(arm, bounds) for arm in self.arms]

    def _arm_frame(self, arm: Arm, bounds: tuple[float, float] | None) -> dict[str, Any]:
        reg = arm.trainer.regularization
        out: dict[str, Any] = {
            "name": arm.name,
            "label": arm.label,
            "regularization": str(reg),
            "about": [term.doc.replace("``", "") for term in reg.terms if term.active],
            "diverged_step": arm.diverged_step,
            "curves": {k: list(v) for k, v in arm.curves.items()},
        }
        if bounds is not None:
            out["weights"] = explore.weight_histogram(arm.trainer.weights, bounds=bounds)
            out["layer_zeros"] = [
                {"layer": name, "zeros": float((w == 0).float().mean())}
                for name, w in select_params(arm.model)
            ]
        return out


def _describe(lab: LabData) -> dict[str, Any]:
    data = lab.data
    return {
        "name": data.name,
        "task": data.task,
        "n_train": len(data.y_train),
        "n_val": len(data.y_val),
        "input_shape": list(data.input_shape),
        "n_classes": data.n_classes,
        "features": list(lab.plane.features) if lab.plane is not None else None,
        "window": list(lab.plane.window) if lab.plane is not None else None,
    }


# -- the sections -----------------------------------------------------------------------


def _init_view(t: Trainer) -> dict[str, Any]:
    model = t.arms[0].model
    x, y = t.batch()
    passed: list[tuple[torch.Tensor, torch.Tensor]] = []
    measured = explore.measurement(model, x, y, t.setup.seed, t.data.task, passed)
    return {
        "measurement": measured,
        "picture": picture.network_picture(
            model,
            t.lab.plane,
            x,
            t.setup.activation,
            grid=t.plane_pass(0),
            task=t.data.task,
            on_batch=passed,
        ),
    }


def init_trainer(setup: InitSetup) -> Trainer:
    """The init explorer's trainer: one unregularized network, measured every frame."""
    lab = load(setup)
    model = explore.build_network(
        setup,
        lab.data,
        setup.init,
        gain_from_activation=setup.gain_from_activation,
        generator=torch.Generator().manual_seed(setup.seed),
    )
    arm = _arm("network", setup, model, lab.data, "none")
    return Trainer("init", setup, lab, [arm], _init_view)


def _regularization_view(t: Trainer) -> dict[str, Any]:
    regularized = t.arms[0]
    x, _ = t.batch()
    out: dict[str, Any] = {
        "picture": picture.network_picture(
            regularized.model,
            t.lab.plane,
            x,
            t.setup.activation,
            grid=t.plane_pass(0),
            task=t.data.task,
        ),
        "mc_dropout": None,
    }
    p, _ = regularized.trainer.regularization.dropout
    if p > 0 and t.lab.plane is not None:
        out["mc_dropout"] = explore.mc_dropout_map(
            regularized.model, t.lab.plane, t.data.task, t.setup.seed + t.step
        )
    return out


def _dropout_p(setup: RegularizationSetup) -> float:
    return parse_regularization(setup.spec()).dropout[0]


def regularization_trainer(setup: RegularizationSetup) -> Trainer:
    """The regularization explorer's trainer: the regularized network and a plain copy
    with the same initial weights, trained on the same minibatches.  With dropout chosen
    the regularized network has its dropout modules even at ``p = 0``, so that ``p`` can
    change while it trains."""
    lab = load(setup)
    data = lab.data
    spec = setup.spec()
    plain = explore.build_network(
        setup,
        data,
        setup.init,
        gain_from_activation=setup.gain_from_activation,
        generator=torch.Generator().manual_seed(setup.seed),
    )
    _, mode = parse_regularization(spec).dropout
    with_dropout = setup.regularizer == "dropout"
    regularized = explore.network(
        setup, data, dropout=0.5 if with_dropout else 0.0, dropout_mode=mode
    )
    explore.copy_weights(plain, regularized)
    arm = _arm("regularized", setup, regularized, data, spec)
    arm.trainer.set_dropout(_dropout_p(setup))

    def live(new: Setup) -> None:
        reg = cast(RegularizationSetup, new)
        arm.trainer.set_regularization(reg.spec())
        arm.trainer.set_dropout(_dropout_p(reg))

    arm.live = live
    arms = [arm, _arm("plain", setup, plain, data, "none")]
    return Trainer("regularization", setup, lab, arms, _regularization_view, weights=True)


def _race_view(t: Trainer) -> dict[str, Any]:
    x, _ = t.batch()
    activations = [explore.activation_histograms(a.model, x, t.setup.activation) for a in t.arms]
    return {"activations": activations, "claim": race_claim(t)}


def race_claim(t: Trainer) -> dict[str, Any] | None:
    """The race's lesson, judged on the current validation losses: Xavier and He ahead
    of zeros, too small and too large (only when those are in the race)."""
    by_name = {arm.name: arm for arm in t.arms}
    good = [by_name[n] for n in GOOD if n in by_name]
    bad = [by_name[n] for n in RACE_LABELS if n not in GOOD and n in by_name]
    if not good or not bad:
        return None

    def val(arm: Arm) -> float:
        loss = arm.curves["val_loss"][-1]
        return loss if loss == loss else float("inf")

    worst_good = max(val(a) for a in good)
    best_bad = min(val(a) for a in bad)
    names = " and ".join(a.label for a in good)
    others = ", ".join(a.label.split(":")[0] for a in bad)
    return {
        "text": f"{names} end ahead of {others} (lower validation loss).",
        "holds": worst_good < best_bad,
        "final": t.status != "ready",
        "margin": best_bad - worst_good,
    }


def race_trainer(setup: RaceSetup) -> Trainer:
    """The init race: the same network and data, trained in lockstep from each scheme
    (same minibatches, same optimizer), unregularized."""
    lab = load(setup)
    arms = []
    for scheme in setup.inits:
        model = explore.build_network(
            setup,
            lab.data,
            scheme,
            gain_from_activation=setup.gain_from_activation,
            generator=torch.Generator().manual_seed(setup.seed),
        )
        arms.append(_arm(scheme, setup, model, lab.data, "none", RACE_LABELS.get(scheme, scheme)))
    return Trainer("race", setup, lab, arms, _race_view)


def warm_up() -> None:
    """Build, train, measure and draw one small network of every section, solve the
    landscape's paths and the theory section's default phase diagram, so that the first
    request does not pay for torch's and the library's first-call costs (the optimizer's
    first import alone takes a second or two)."""
    init_trainer(InitSetup(n_samples=40, depth=2, width=8)).frame(full=True)
    regularization_trainer(RegularizationSetup(n_samples=40, regularizer="dropout")).frame()
    landscape.warm_up()
    theory.warm_up()
