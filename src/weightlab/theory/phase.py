"""The (σ_w², σ_b²) phase diagram of a deep random network, and where weightlab's named
initialization schemes sit on it (Poole et al. 2016, Fig. 3; Schoenholz et al. 2017,
Fig. 1).

The plane splits into an ordered phase (χ₁ < 1: inputs become perfectly correlated with
depth, gradients vanish) and a chaotic phase (χ₁ > 1: nearby inputs decorrelate,
gradients explode), separated by the critical line χ₁ = 1, where the correlation depth
scale ξ_c diverges and signals travel deepest.

A scheme's point is the one its weights draw in a square layer of ``width`` units:
``σ_w² = width · Var(W)``, which for every variance-scaling scheme (Xavier/Glorot, He,
LeCun, seed 000's 1/n rule) is its ``scale`` whatever the width, and for a fixed standard
deviation (``normal(std=0.01)``) grows with the width.  weightlab sets biases to zero, so
every scheme sits at ``σ_b² = 0``; torch's default ``nn.Linear`` initialization draws
weights and biases from ``U(±1/√fan_in)``: ``σ_w² = 1/3`` and ``σ_b² = 1/(3·width)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from weightlab._validate import OPTIONAL, Constraint, Interval, OneOf, Satisfies, check, fail
from weightlab.activations import ACTIVATION_FNS
from weightlab.init import resolve
from weightlab.theory.meanfield import MeanField, critical_line, mean_field, solve

__all__ = [
    "PHASE_SCHEMES",
    "TORCH_DEFAULT",
    "PhaseDiagram",
    "SchemePoint",
    "phase_diagram",
    "scheme_point",
    "scheme_sigma_w2",
]

PHASE_SCHEMES: tuple[str, ...] = (
    "he_normal",
    "xavier_normal",
    "lecun_normal",
    "xavier_fan_in",
    "normal(std=0.01)",
    "normal(std=1.0)",
)
TORCH_DEFAULT = "torch default"  # nn.Linear's own U(±1/√fan_in) weights and biases

_SPECS = Satisfies(
    lambda v: (
        isinstance(v, Sequence) and not isinstance(v, str) and all(isinstance(s, str) for s in v)
    ),
    "a sequence of scheme specs",
)
_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "activation": OneOf(tuple(ACTIVATION_FNS)),
    "slope": (Interval(0.0, 1.0), OPTIONAL),
    "sigma_w2_max": Interval(0.0, 100.0, "right"),
    "sigma_b2_max": Interval(0.0, 10.0, "right"),
    "grid": Interval(4, 256, integer=True),
    "width": Interval(1, 100_000, integer=True),
    "schemes": _SPECS,
    "cut_sigma_b2": (Interval(0.0, 10.0), OPTIONAL),
}


@dataclass(frozen=True)
class SchemePoint:
    """A scheme's place on the phase diagram and its mean-field numbers."""

    scheme: str
    sigma_w2: float
    sigma_b2: float
    mean_field: MeanField

    def to_json(self) -> dict[str, Any]:
        numbers = asdict(self.mean_field)
        numbers.pop("activation")
        return {"scheme": self.scheme, **numbers}


@dataclass(frozen=True)
class PhaseDiagram:
    """Mean-field numbers on a grid of cell centres: arrays are ``[len(sigma_b2),
    len(sigma_w2)]``; ``critical`` holds ``(σ_b², critical σ_w²)`` pairs from σ_b² = 0;
    ``cut`` the same numbers along σ_w² (``"sigma_w2"``, ``"xi_c"``, ``"xi_q"``,
    ``"chi1"``) at ``σ_b² = cut_sigma_b2``, on a grid four times finer."""

    activation: str
    slope: float | None
    width: int
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    chi1: np.ndarray
    xi_c: np.ndarray
    xi_q: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    critical: list[tuple[float, float]]
    schemes: list[SchemePoint] = field(default_factory=list)
    cut_sigma_b2: float = 0.0
    cut: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def critical_at_zero_bias(self) -> float:
        """The critical σ_w² at σ_b² = 0."""
        return self.critical[0][1]

    def to_json(self) -> dict[str, Any]:
        """The numbers a reader quotes: the critical line and every scheme's point (the
        grid itself is in the arrays)."""
        return {
            "activation": self.activation,
            "width": self.width,
            "critical_sigma_w2_at_zero_bias": self.critical_at_zero_bias,
            "critical_line": [{"sigma_b2": b, "sigma_w2": w} for b, w in self.critical],
            "schemes": [p.to_json() for p in self.schemes],
        }


def scheme_sigma_w2(spec: str, width: int) -> float:
    """``σ_w² = width · Var(W)`` of a scheme in a square ``width × width`` layer.

    Example:
        >>> round(scheme_sigma_w2("he_normal", 256), 12), scheme_sigma_w2("normal(std=0.01)", 256)
        (2.0, 0.0256)
    """
    check("scheme_sigma_w2", {"width": width}, {"width": _TABLE["width"]})
    scheme = resolve(spec)
    declared = scheme.variance()
    if declared is not None:  # every fan of a square layer is the width
        return float(declared.scale)
    p = scheme.kwargs()
    if scheme.name == "normal" and p["mean"] == 0:
        return float(width * p["std"] ** 2)
    if scheme.name == "uniform" and p["low"] == -p["high"]:
        return float(width * p["high"] ** 2 / 3)
    if scheme.name == "orthogonal":
        return float(p["gain"] ** 2)
    expected = (
        "a zero-mean scheme with a fixed variance (variance scaling, normal, uniform, orthogonal)"
    )
    raise fail("scheme_sigma_w2", "scheme", expected, spec)


def scheme_point(
    spec: str, activation: str, width: int = 256, *, slope: float | None = None
) -> SchemePoint:
    """Where ``spec`` (or :data:`TORCH_DEFAULT`) puts a network of ``width`` units, with
    its mean-field numbers (zero biases for weightlab's schemes).

    Example:
        >>> p = scheme_point("he_normal", "relu")
        >>> round(p.sigma_w2, 12), p.mean_field.phase
        (2.0, 'critical')
    """
    if spec == TORCH_DEFAULT:
        check("scheme_point", {"width": width}, {"width": _TABLE["width"]})
        sw2, sb2 = 1.0 / 3.0, 1.0 / (3.0 * width)
    else:
        sw2, sb2 = scheme_sigma_w2(spec, width), 0.0
    return SchemePoint(spec, sw2, sb2, mean_field(activation, sw2, sb2, slope=slope))


def phase_diagram(
    activation: str,
    *,
    sigma_w2_max: float = 4.0,
    sigma_b2_max: float = 0.5,
    grid: int = 60,
    width: int = 256,
    schemes: Sequence[str] = (*PHASE_SCHEMES, TORCH_DEFAULT),
    cut_sigma_b2: float | None = None,
    slope: float | None = None,
) -> PhaseDiagram:
    """χ₁, ξ_c, ξ_q, ``q*`` and ``c*`` on a ``grid × grid`` lattice of cell centres of
    ``(0, sigma_w2_max] × (0, sigma_b2_max]``, the critical line from σ_b² = 0 (at
    ``2 · grid`` values of σ_b²), each scheme's point for a square layer of ``width``,
    and a cut along σ_w² at ``cut_sigma_b2`` (default: 0.05, Schoenholz et al.'s value,
    or ``sigma_b2_max`` if smaller).

    Example:
        >>> d = phase_diagram("tanh", grid=4, schemes=["xavier_normal"])
        >>> round(d.critical_at_zero_bias, 5), d.schemes[0].mean_field.phase
        (1.0, 'critical')
    """
    values: dict[str, object] = {"activation": activation, "slope": slope}
    values["sigma_w2_max"] = sigma_w2_max
    values |= {"sigma_b2_max": sigma_b2_max, "grid": grid, "width": width, "schemes": schemes}
    check("phase_diagram", {**values, "cut_sigma_b2": cut_sigma_b2}, _TABLE)
    cut_b = min(0.05, sigma_b2_max) if cut_sigma_b2 is None else cut_sigma_b2
    points = [scheme_point(s, activation, width, slope=slope) for s in schemes]
    sw2 = (torch.arange(grid, dtype=torch.float64) + 0.5) * sigma_w2_max / grid
    sb2 = (torch.arange(grid, dtype=torch.float64) + 0.5) * sigma_b2_max / grid
    b, w = torch.meshgrid(sb2, sw2, indexing="ij")
    r = solve(activation, w, b, slope=slope)
    line_b = torch.linspace(0.0, sigma_b2_max, 2 * grid, dtype=torch.float64)
    line_w = critical_line(activation, line_b, slope)
    cut_w = (torch.arange(4 * grid, dtype=torch.float64) + 0.5) * sigma_w2_max / (4 * grid)
    c = solve(activation, cut_w, torch.full_like(cut_w, cut_b), slope=slope)
    cut = {"sigma_w2": cut_w.numpy(), **{k: c[k].numpy() for k in ("xi_c", "xi_q", "chi1")}}
    return PhaseDiagram(
        activation=activation,
        slope=slope,
        width=width,
        sigma_w2=sw2.numpy(),
        sigma_b2=sb2.numpy(),
        chi1=r["chi1"].numpy(),
        xi_c=r["xi_c"].numpy(),
        xi_q=r["xi_q"].numpy(),
        q_star=r["q_star"].numpy(),
        c_star=r["c_star"].numpy(),
        critical=[(float(x), float(y)) for x, y in zip(line_b, line_w, strict=True)],
        schemes=points,
        cut_sigma_b2=float(cut_b),
        cut=cut,
    )
