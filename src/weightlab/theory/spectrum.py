"""Singular values of the input–output Jacobian of a deep random network, measured and
predicted (Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in deep
learning through dynamical isometry").

For ``L`` layers ``x^l = φ(W^l x^{l−1} + b^l)`` the Jacobian is
``J = D^L W^L ⋯ D^1 W^1`` with ``D^l = diag φ′(h^l)``.  When every layer sits at the
length fixed point ``q*``, free probability gives the first two moments of the squared
singular values exactly as ``N → ∞`` (the S-transform of a product of free factors is the
product of their S-transforms, so means multiply and normalized variances add):

    mean σ²            = (σ_w² μ₁)^L = χ₁^L
    var σ² / mean²     = L (μ₂ / μ₁² − 1 + s),     μ_k = E[φ′(√q* z)^{2k}],

with ``s = 1`` for Gaussian weights (``WWᵀ`` is Marchenko–Pastur: normalized variance 1)
and ``s = 0`` for orthogonal ones (the paper's ``−s₁``, its eq. for ``σ²_{JJᵀ}``).  For a
linear network ``μ₂ = μ₁²``: orthogonal weights give every singular value exactly 1, and
Gaussian ones the Fuss–Catalan law of ``L`` products (mean 1, second moment ``L + 1``;
Penson & Życzkowski 2011, "Product of Ginibre matrices: Fuss–Catalan and Raney
distributions").  With ``tanh`` near criticality and small ``q*``, ``D ≈ I``: orthogonal
weights keep the spectrum near 1 at any depth (dynamical isometry), Gaussian ones spread
it like the linear network; ReLU's ``D²`` is 0 or 1 with ``μ₂/μ₁² = 2``, so it spreads
with depth under either.

The spread is reported as the standard deviation of ``log σ``.  Singular values below
``1e-10 σ_max`` are not resolved by float64 arithmetic through many layers (ReLU zeroes
about half the units, so its Jacobian has rank about ``N/2``; a Gaussian product's
smallest singular values reach about 1e-77 at depth 64 and width 256): they are left out
of the log statistics and counted in ``unresolved``, so a log spread with
``unresolved > 0`` is a lower bound.  The moments of ``σ²`` use every singular value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from weightlab._validate import (
    GENERATOR,
    OPTIONAL,
    Constraint,
    Interval,
    OneOf,
    Satisfies,
    check,
)
from weightlab.activations import ACTIVATION_FNS, activate
from weightlab.theory.gauss import expect_1d
from weightlab.theory.meanfield import mean_field
from weightlab.theory.networks import WEIGHTS, random_mlp

__all__ = [
    "RESOLUTION",
    "SpectrumRow",
    "SpectrumStudy",
    "free_moments",
    "fuss_catalan",
    "jacobian_singular_values",
    "jacobian_spectra",
    "spectrum_row",
]

RESOLUTION = 1e-10  # singular values below RESOLUTION · σ_max are not resolved

_DEPTHS = Satisfies(
    lambda v: (
        isinstance(v, Sequence)
        and len(v) > 0
        and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 256 for d in v)
    ),
    "a non-empty sequence of ints in [1, 256]",
)
_KINDS = Satisfies(
    lambda v: isinstance(v, Sequence) and len(v) > 0 and all(k in WEIGHTS for k in v),
    "a non-empty sequence of " + " and ".join(repr(w) for w in WEIGHTS),
)
# The inputs' length where the fixed length is 0: small enough that every layer is in
# its activation's linear regime (float64 keeps it through hundreds of layers).
VANISHING_Q = 1e-12

_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "activation": OneOf(tuple(ACTIVATION_FNS)),
    "sigma_w2": Interval(0.0, 100.0),
    "sigma_b2": Interval(0.0, 100.0),
    "depths": _DEPTHS,
    "width": Interval(2, 1024, integer=True),
    "weights": _KINDS,
    "inputs": Interval(1, 64, integer=True),
    "slope": (Interval(0.0, 1.0), OPTIONAL),
    "generator": GENERATOR,
}


def jacobian_singular_values(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``[B, min(out, in)]``: the singular values, largest first, of ``∂net(x)/∂x`` for
    each row ``x`` of ``inputs`` ``[B, in]``, one input at a time
    (``torch.func.jacrev``, then ``torch.linalg.svdvals``).

    Example:
        >>> net = nn.Linear(3, 3, bias=False)
        >>> with torch.no_grad():
        ...     _ = net.weight.copy_(torch.diag(torch.tensor([3.0, 2.0, 1.0])))
        >>> jacobian_singular_values(net, torch.zeros(1, 3))
        tensor([[3., 2., 1.]])
    """
    jac = torch.func.jacrev(net)
    return torch.stack([torch.linalg.svdvals(jac(x).detach()) for x in inputs])


def free_moments(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    weights: str,
    *,
    slope: float | None = None,
) -> tuple[float, float]:
    """Free-probability ``(mean σ², var σ²)`` of the Jacobian's squared singular values
    at ``depth`` (module docstring): ``χ₁^L`` and ``χ₁^{2L} · L (μ₂/μ₁² − 1 + s)``.

    Example:
        >>> free_moments("linear", 1.0, 0.0, 8, "gaussian")  # Fuss–Catalan: L + 1 − 1
        (1.0, 8.0)
    """
    values = {"activation": activation, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    values |= {"depths": [depth], "weights": [weights], "slope": slope}
    check("free_moments", values, _TABLE)
    return _free_moments(activation, sigma_w2, sigma_b2, depth, weights, slope)


def _free_moments(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    weights: str,
    slope: float | None,
) -> tuple[float, float]:
    mf = mean_field(activation, sigma_w2, sigma_b2, slope=slope)
    q = mf.q_star if math.isfinite(mf.q_star) else 1.0
    e = expect_1d(activation, torch.tensor([q], dtype=torch.float64), slope)
    mu1, mu2 = float(e["dphi2"][0]), float(e["dphi4"][0])
    mean = (sigma_w2 * mu1) ** depth
    if mu1 == 0:
        return mean, 0.0
    s = 1.0 if weights == "gaussian" else 0.0
    return mean, mean * mean * depth * (mu2 / mu1**2 - 1 + s)


def fuss_catalan(depth: int, width: int | None = None) -> dict[str, float]:
    """Squared singular values ``x = σ²`` of a product of ``depth`` square Gaussian
    matrices with entries ``N(0, 1/N)``, as ``N → ∞`` (the Fuss–Catalan law):

    - ``mean_sq = 1`` and ``second_sq = L + 1`` (its moments ``binom((L+1)k, k)/(Lk+1)``);
    - ``mean_log = E[log σ] = −L/2`` and ``std_log = ½ √(L² + L π²/3)``, from the
      derivatives at 0 of ``log E[x^s] = log Γ((L+1)s + 1) − log Γ(s + 1) − log Γ(Ls + 2)``.

    With ``width`` the second moment is the exact expectation at ``N = width`` instead:
    ``b_L = a_{L−1} + (1 + 1/N) b_{L−1}``, ``a_L = a_{L−1} + 2 b_{L−1}/N²`` from
    ``a_0 = b_0 = 1`` (``a = E[m₁²]``, ``b = E[m₂]``, by Wick's theorem one layer at a time).

    Example:
        >>> fc = fuss_catalan(4)
        >>> fc["second_sq"], fc["mean_log"], round(fc["std_log"], 4)
        (5.0, -2.0, 2.7)
    """
    check("fuss_catalan", {"depth": depth}, {"depth": Interval(1, 10_000, integer=True)})
    if width is not None:
        check("fuss_catalan", {"width": width}, {"width": Interval(1, 100_000, integer=True)})
    second = float(depth + 1)
    if width is not None:
        a = b = 1.0
        for _ in range(depth):
            a, b = a + 2 * b / width**2, a + (1 + 1 / width) * b
        second = b
    return {
        "mean_sq": 1.0,
        "second_sq": second,
        "mean_log": -depth / 2,
        "std_log": 0.5 * math.sqrt(depth**2 + depth * math.pi**2 / 3),
    }


@dataclass(frozen=True)
class SpectrumRow:
    """The Jacobian spectrum of the first ``depth`` layers under one kind of weights,
    pooled over the inputs, beside the free-probability moments."""

    weights: str
    depth: int
    mean_sq: float
    var_sq: float
    mean_log: float
    std_log: float
    unresolved: float
    predicted_mean_sq: float
    predicted_var_sq: float
    singular_values: list[float]

    def to_json(self, *, values: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not values:
            out.pop("singular_values")
        return out


def spectrum_row(
    singular_values: torch.Tensor, weights: str, depth: int, predicted: tuple[float, float]
) -> SpectrumRow:
    """Statistics of pooled singular values (see the module docstring for ``unresolved``)."""
    s = singular_values.to(torch.float64)
    floor = RESOLUTION * s.amax(-1, keepdim=True)
    resolved = s[s > floor]
    logs = resolved.log()
    sq = s.flatten() ** 2
    return SpectrumRow(
        weights=weights,
        depth=depth,
        mean_sq=float(sq.mean()),
        var_sq=float(sq.var(correction=0)),
        mean_log=float(logs.mean()) if logs.numel() else math.nan,
        std_log=float(logs.std(correction=0)) if logs.numel() else math.nan,
        unresolved=1.0 - resolved.numel() / s.numel(),
        predicted_mean_sq=predicted[0],
        predicted_var_sq=predicted[1],
        singular_values=s.flatten().tolist(),
    )


@dataclass(frozen=True)
class SpectrumStudy:
    """Jacobian spectra of one activation at several depths and kinds of weights."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    width: int
    inputs: int
    q_star: float
    chi1: float
    rows: list[SpectrumRow]

    def row(self, weights: str, depth: int) -> SpectrumRow:
        return next(r for r in self.rows if r.weights == weights and r.depth == depth)

    def to_json(self, *, values: bool = False) -> dict[str, Any]:
        head = {k: v for k, v in asdict(self).items() if k != "rows"}
        return {**head, "rows": [r.to_json(values=values) for r in self.rows]}


def jacobian_spectra(
    activation: str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    depths: Sequence[int] = (4, 16, 64),
    width: int = 256,
    weights: Sequence[str] = WEIGHTS,
    inputs: int = 4,
    slope: float | None = None,
    generator: torch.Generator | None = None,
) -> SpectrumStudy:
    """Singular values of the input–output Jacobian at each of ``depths`` (the first
    ``L`` layers of one network of the largest depth), for each kind of ``weights``, on
    ``inputs`` inputs at the fixed point: ``x = φ(h)``, ``h ~ N(0, q* I)`` (``N(0, I)``
    where the length has no fixed point), so that every layer sits at ``q*``.  Where
    ``q* = 0`` (an ordered point without biases) the inputs have the tiny length
    ``VANISHING_Q``: the Jacobian at the limit ``q → 0`` (for ReLU-like layers, whose
    derivative at exactly 0 is 0, the Jacobian at ``x = 0`` would be 0 and is no limit).

    Example:
        >>> s = jacobian_spectra("linear", 1.0, depths=[3], width=16, weights=["orthogonal"],
        ...                      inputs=1, generator=torch.Generator().manual_seed(0))
        >>> round(s.rows[0].std_log, 9), round(s.rows[0].mean_sq, 9)
        (0.0, 1.0)
    """
    values = {"activation": activation, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    values |= {"depths": depths, "width": width, "weights": weights, "inputs": inputs}
    check("jacobian_spectra", {**values, "slope": slope, "generator": generator}, _TABLE)
    mf = mean_field(activation, sigma_w2, sigma_b2, slope=slope)
    q = mf.q_star if math.isfinite(mf.q_star) else 1.0
    q = q if q > 0 else VANISHING_Q
    rows = []
    for kind in weights:
        net = random_mlp(
            activation,
            sigma_w2,
            sigma_b2,
            max(depths),
            width,
            weights=kind,
            slope=slope,
            generator=generator,
        )
        h = math.sqrt(q) * torch.randn(inputs, width, generator=generator, dtype=torch.float64)
        x = activate(activation, h, slope)
        for depth in sorted(set(depths)):
            s = jacobian_singular_values(net[: 2 * depth], x)
            predicted = _free_moments(activation, sigma_w2, sigma_b2, depth, kind, slope)
            rows.append(spectrum_row(s, kind, depth, predicted))
    return SpectrumStudy(
        activation, float(sigma_w2), float(sigma_b2), width, inputs, mf.q_star, mf.chi1, rows
    )
