"""The canonical meanings every setting is read into (see
:mod:`weightlab.interop.translate`), and the constants the translator shares."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "EPS_TOLERANCE",
    "EXACT_TOLERANCE",
    "FLOAT32_POWER_TOLERANCE",
    "FRAMEWORKS",
    "LR",
    "OPTIMIZER_FAMILIES",
    "TRUNC_STD",
    "Amount",
    "DropoutMeaning",
    "InitMeaning",
    "Meaning",
    "Scope",
    "UpdateMeaning",
]


FRAMEWORKS: tuple[str, ...] = ("torch", "keras", "mlx", "weightlab")
OPTIMIZER_FAMILIES: tuple[str, ...] = ("sgd", "adam", "adamw")
TRUNC_STD = 0.87962566103423978
"""Standard deviation of a standard normal cut at ±2 (Keras divides by it)."""

EXACT_TOLERANCE = 1e-5
"""Largest trajectory difference accepted for an exact translation: float32 rounding over
the equivalence tests' 20 steps."""
EPS_TOLERANCE = 1e-3
"""Bound stated where only Adam's ε placement differs (see the caveat it comes with)."""
FLOAT32_POWER_TOLERANCE = 5e-5
"""Bound stated where Keras' float32 ``β₂ᵗ`` meets a correction computed in float64."""

Scope = Literal["all", "kernels"]
LR = "lr"
"""Placeholder for "your learning rate" in a rendered setting (``lr=lr``)."""


@dataclass(frozen=True)
class Amount:
    """A strength applied to kernels (weights with ≥ 2 dimensions) and to biases."""

    kernel: float = 0.0
    bias: float = 0.0

    @classmethod
    def on(cls, value: float, scope: str) -> Amount:
        return cls(value, value if scope == "all" else 0.0)

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.kernel + other.kernel, self.bias + other.bias)

    def __bool__(self) -> bool:
        return self.kernel != 0.0 or self.bias != 0.0

    @property
    def scope(self) -> Scope:
        """``"all"`` or ``"kernels"`` (a zero amount reads ``"all"``)."""
        return "kernels" if self.bias == 0.0 and self.kernel != 0.0 else "all"

    @property
    def value(self) -> float:
        return self.kernel

    def fits(self, other: Amount) -> bool:
        """True when the two can be added into one knob (same weights, or one is zero)."""
        return not self or not other or self.scope == other.scope


@dataclass(frozen=True)
class UpdateMeaning:
    """What one training step does to the weights; see :mod:`weightlab.interop.translate`."""

    optimizer: str | None = None  # "sgd", "adam", or None: a penalty alone
    lr: float | None = None  # None: the user's own learning rate
    momentum: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    eps_hat: bool = False  # ε added to √v (Keras' ε̂) instead of √v̂
    bias_correction: bool = True
    coupled: Amount = Amount()
    decoupled: Amount = Amount()
    l1: Amount = Amount()
    steps: tuple[str, ...] = ()  # weightlab rule terms no framework has built in
    penalties: tuple[str, ...] = ()  # weightlab loss terms no framework has built in
    kind: str = "update"

    def term(self, name: str) -> Amount:
        amount: Amount = getattr(self, name)
        return amount

    def __add__(self, other: UpdateMeaning) -> UpdateMeaning:
        """The terms of ``other`` added to these (amounts summed, steps and penalties
        appended); the optimizer fields stay ``self``'s."""
        return replace(
            self,
            coupled=self.coupled + other.coupled,
            decoupled=self.decoupled + other.decoupled,
            l1=self.l1 + other.l1,
            steps=self.steps + other.steps,
            penalties=self.penalties + other.penalties,
        )


@dataclass(frozen=True)
class InitMeaning:
    """``Var(W) = scale / n`` with ``n`` = ``mode``'s fan; ``bias`` is set for layer
    defaults (``"zeros"`` or ``"uniform_fan_in"``: ``U(±1/√fan_in)``)."""

    distribution: str  # "normal", "uniform", "truncated_normal"
    scale: float
    mode: str
    bias: str | None = None
    kind: str = "init"

    def std(self, fan_in: int, fan_out: int) -> float:
        """Final standard deviation for a weight with these fans."""
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        return math.sqrt(self.scale / n[self.mode])


@dataclass(frozen=True)
class DropoutMeaning:
    """Dropout with drop probability ``p`` and keep mask ``m ~ Bernoulli(1 − p)``:
    ``"inverted"`` trains on ``x·m/(1 − p)`` and infers ``x`` (torch, Keras, MLX);
    ``"classic"`` trains on ``x·m`` and infers ``x·(1 − p)`` (the original paper)."""

    p: float
    mode: str = "inverted"
    kind: str = "dropout"


Meaning = UpdateMeaning | InitMeaning | DropoutMeaning
