"""Mean-field signal propagation through a deep random network, for any registered
activation (Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli 2016, "Exponential
expressivity in deep neural networks through transient chaos"; Schoenholz, Gilmer,
Ganguli & Sohl-Dickstein 2017, "Deep information propagation").

A layer ``h^l = W^l φ(h^{l−1}) + b^l`` of width ``N`` with ``W ~ N(0, σ_w²/N)`` and
``b ~ N(0, σ_b²)`` maps, as ``N → ∞``:

- the length ``q = E[h²]`` by the length map ``q^l = σ_w² E[φ(√q^{l−1} z)²] + σ_b²``,
  ``z ~ N(0, 1)``, to its fixed point ``q*``;
- the correlation of two inputs by the correlation map
  ``c^l = (σ_w² E[φ(u1) φ(u2)] + σ_b²) / q^l``, ``(u1, u2)`` jointly Gaussian with
  variance ``q^{l−1}`` and correlation ``c^{l−1}``, to its fixed point ``c*`` (here the
  denominator is the new length ``q^l``; at ``q*`` it is the papers' ``q*``, and it stays
  defined where ``q*`` is 0);
- ``χ₁ = σ_w² E[φ′(√q* z)²]``, the slope of the correlation map at ``c = 1``: ordered
  (``c* = 1``) for ``χ₁ < 1``, chaotic (``c* < 1``) for ``χ₁ > 1``, critical at 1.

Depth scales (Schoenholz et al. 2017, eqs. 8–9 and section 3): ``|q^l − q*| ~ e^{−l/ξ_q}``
and ``|c^l − c*| ~ e^{−l/ξ_c}`` with

- ``ξ_q⁻¹ = −log(χ₁ + σ_w² E[φ″(√q* z) φ(√q* z)])``, the slope of the length map at
  ``q*``; computed as ``σ_w² E[z φ(√q* z) φ′(√q* z)] / √q*``, the same number by Gaussian
  integration by parts, so that no ``φ″`` is needed (ReLU and SELU have none at 0);
- ``ξ_c⁻¹ = −log χ_c``, ``χ_c = σ_w² E[φ′(u1*) φ′(u2*)]`` at ``(q*, c*)``, the slope of
  the correlation map at ``c*``; in the ordered phase ``c* = 1`` and ``χ_c = χ₁``.

Where the length grows without bound (ReLU-like activations with ``σ_w²`` above their
critical value, or exactly at it with ``σ_b > 0``) there is no ``q*``: it is reported as
``inf``, χ₁ is its large-``q`` limit (evaluated at ``q = 1e8``), ``c* = 1`` (the
scale-free map approaches it only polynomially) and both depth scales are ``inf``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from weightlab._validate import OPTIONAL, Constraint, Interval, OneOf, check
from weightlab.activations import ACTIVATION_FNS
from weightlab.theory.gauss import expect_1d, expect_2d

__all__ = [
    "CRITICAL_TOLERANCE",
    "MEAN_FIELD_TABLE",
    "MeanField",
    "correlation_map",
    "critical_sigma_w2",
    "layer_predictions",
    "length_map",
    "mean_field",
    "phase_of",
    "solve",
]

Q_CAP = 1e8  # a length beyond this has no fixed point below it: q* = inf
Q_ZERO = 1e-12  # a fixed length below this is reported as 0
CRITICAL_TOLERANCE = 1e-9  # |χ₁ − 1| within this is "critical"
_ITERATIONS = 300

MEAN_FIELD_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "activation": OneOf(tuple(ACTIVATION_FNS)),
    "sigma_w2": Interval(0.0, 1e6),
    "sigma_b2": Interval(0.0, 1e6),
    "slope": (Interval(0.0, 1.0), OPTIONAL),
    "q0": Interval(0.0, 1e6, "right"),
    "q": Interval(0.0, 1e6),
    "c": Interval(-1.0, 1.0),
}


@dataclass(frozen=True)
class MeanField:
    """The fixed points, slopes and depth scales of one ``(activation, σ_w², σ_b²)``."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float  # inf: the length grows without bound
    c_star: float
    chi1: float
    chi_c: float
    xi_q: float
    xi_c: float
    phase: str  # "ordered", "critical" or "chaotic"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _depth_scale(slope: torch.Tensor) -> torch.Tensor:
    """``−1 / log(slope)``: 0 at slope 0, ``inf`` at slope ≥ 1 − 1e-12 (the quadrature's
    accuracy: closer to 1 the slope cannot be told from 1)."""
    xi = -1.0 / torch.log(slope.clamp_min(0.0))
    return torch.where(slope >= 1.0 - 1e-12, torch.full_like(slope, math.inf), xi)


def _fixed_length(
    activation: str, sw2: torch.Tensor, sb2: torch.Tensor, slope: float | None, q0: float
) -> torch.Tensor:
    """``q*`` reached from ``q0`` by the length map, for every entry at once.

    Newton steps on ``L(q) − q`` where the map contracts (``L′ < 1``), plain steps
    ``q ← L(q)`` where it does not; an increasing ``L`` makes plain steps move toward the
    attracting fixed point, so an overshooting Newton step is corrected by the next one.
    Where ``L(q) > q`` and ``L′ ≥ 1`` the step is at least tenfold, so that a length
    that grows without bound passes ``Q_CAP`` quickly (then ``q* = inf``).
    """
    q = torch.full_like(sw2, q0)
    active = torch.ones_like(sw2, dtype=torch.bool)
    for _ in range(_ITERATIONS):
        idx = active.nonzero().squeeze(-1)
        if idx.numel() == 0:
            break
        qa, w, b = q[idx], sw2[idx], sb2[idx]
        e = expect_1d(activation, qa, slope)
        length = w * e["phi2"] + b
        d_length = w * e["dlength"]
        gap = length - qa
        done = gap.abs() <= 1e-13 * qa + 1e-30
        newton = qa + gap / (1.0 - d_length)
        grow = torch.maximum(length, 10.0 * qa)
        contracts = d_length < 1.0
        nxt = torch.where(contracts, newton, torch.where(gap > 0, grow, length)).clamp_min(0.0)
        nxt = torch.where(done, qa, nxt)
        q[idx] = torch.where(nxt > Q_CAP, torch.full_like(nxt, math.inf), nxt)
        active[idx] = ~done & (nxt <= Q_CAP) & (nxt >= Q_ZERO)
    # Below Q_ZERO a length is 0 to the accuracy of the quadrature: the iteration gets
    # there when L(0) = 0 (σ_b = 0, φ(0) = 0) and q* = 0, which at criticality it only
    # approaches algebraically (tanh: q^l ≈ 1/(2l)), never reaching it.
    return torch.where(q < Q_ZERO, torch.zeros_like(q), q)


def _fixed_correlation(
    activation: str,
    q: torch.Tensor,
    sw2: torch.Tensor,
    sb2: torch.Tensor,
    slope: float | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``c* < 1`` and ``χ_c`` of chaotic points: Newton on ``ρ(c) − c`` from ``c = 0``.

    ``ρ(c) = (σ_w² E[φ(u1)φ(u2)] + σ_b²) / (σ_w² E[φ(u1)²] + σ_b²)`` is a power series in
    ``c`` with nonnegative coefficients (Mehler's expansion), hence convex on [0, 1] with
    ``ρ(0) ≥ 0`` and ``ρ(1) = 1``; with ``ρ′(1) = χ₁ > 1`` it has exactly one fixed point
    in [0, 1), and Newton's method from 0 increases to it monotonically.
    """
    same = sw2 * expect_2d(activation, q, torch.ones_like(q), slope)["phiphi"] + sb2
    c = torch.zeros_like(q)
    chi_c = torch.zeros_like(q)
    active = torch.ones_like(q, dtype=torch.bool)
    for _ in range(_ITERATIONS):
        idx = active.nonzero().squeeze(-1)
        if idx.numel() == 0:
            break
        ca, qa, la, w = c[idx], q[idx], same[idx], sw2[idx]
        e = expect_2d(activation, qa, ca, slope)
        rho = (w * e["phiphi"] + sb2[idx]) / la
        d_rho = w * qa * e["dphidphi"] / la
        step = torch.maximum(ca + (rho - ca) / (1.0 - d_rho), ca)
        nxt = torch.minimum(step, torch.ones_like(ca))
        done = (nxt - ca).abs() <= 1e-13
        c[idx] = nxt
        chi_c[idx] = w * e["dphidphi"]
        active[idx] = ~done
    return c, chi_c


def _length_stats(
    activation: str, sw2: torch.Tensor, sb2: torch.Tensor, slope: float | None, q0: float
) -> dict[str, torch.Tensor]:
    """``q*`` and the one-variable quantities at it (at ``Q_CAP`` where ``q* = inf``)."""
    q_star = _fixed_length(activation, sw2, sb2, slope, q0)
    bounded = torch.isfinite(q_star)
    q_eval = torch.where(bounded, q_star, torch.full_like(q_star, Q_CAP))
    e = expect_1d(activation, q_eval, slope)
    return {
        "q_star": q_star,
        "q_eval": q_eval,
        "chi1": sw2 * e["dphi2"],
        "length": sw2 * e["phi2"] + sb2,
        "xi_q": torch.where(bounded, _depth_scale(sw2 * e["dlength"]), math.inf),
    }


def solve(
    activation: str,
    sigma_w2: torch.Tensor,
    sigma_b2: torch.Tensor,
    *,
    slope: float | None = None,
    q0: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Mean-field quantities for many ``(σ_w², σ_b²)`` at once (tensors of one shape):
    float64 ``q_star``, ``c_star``, ``chi1``, ``chi_c``, ``xi_q``, ``xi_c``.

    The vectorized core of :func:`mean_field` and the phase diagram; its inputs are
    trusted (see :func:`mean_field` for the formulas and the validated entry point).
    """
    sw2 = sigma_w2.to(torch.float64).flatten()
    sb2 = sigma_b2.to(torch.float64).flatten()
    s = _length_stats(activation, sw2, sb2, slope, q0)
    bounded = torch.isfinite(s["q_star"])
    c_star = torch.ones_like(sw2)
    chi_c = s["chi1"].clone()
    chaotic = bounded & (s["chi1"] > 1.0 + CRITICAL_TOLERANCE) & (s["length"] > 0)
    idx = chaotic.nonzero().squeeze(-1)
    if idx.numel():
        c_star[idx], chi_c[idx] = _fixed_correlation(
            activation, s["q_eval"][idx], sw2[idx], sb2[idx], slope
        )
    xi_c = torch.where(bounded, _depth_scale(chi_c), math.inf)
    out = {"q_star": s["q_star"], "c_star": c_star, "chi1": s["chi1"], "chi_c": chi_c}
    out |= {"xi_q": s["xi_q"], "xi_c": xi_c}
    return {k: v.reshape(sigma_w2.shape) for k, v in out.items()}


def phase_of(chi1: float) -> str:
    """The phase χ₁ puts a network in: ``"critical"`` within :data:`CRITICAL_TOLERANCE`
    of 1, else ``"ordered"`` (below) or ``"chaotic"`` (above)."""
    if abs(chi1 - 1.0) <= CRITICAL_TOLERANCE:
        return "critical"
    return "ordered" if chi1 < 1.0 else "chaotic"


def mean_field(
    activation: str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    slope: float | None = None,
    q0: float = 1.0,
) -> MeanField:
    """Fixed points ``q*``, ``c*``, the slopes χ₁ and χ_c and the depth scales ξ_q, ξ_c
    of a deep random network (module docstring for the formulas).

    ``q*`` is the fixed point the length map reaches from ``q0`` (the input's length;
    it matters only where there are several, e.g. ``q* = 0`` is repelling for tanh with
    ``σ_b = 0`` and ``σ_w² > 1``).  ``slope`` is a leaky ReLU's (default 0.01).

    Example:
        >>> mf = mean_field("relu", 2.0, 0.0)
        >>> round(mf.chi1, 12), mf.phase
        (1.0, 'critical')
        >>> mf = mean_field("tanh", 0.5, 0.05)
        >>> round(mf.chi1, 4), mf.c_star, round(mf.xi_c, 3)
        (0.432, 1.0, 1.191)
    """
    values = {"activation": activation, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    check("mean_field", {**values, "slope": slope, "q0": q0}, MEAN_FIELD_TABLE)
    sw2 = torch.tensor([float(sigma_w2)], dtype=torch.float64)
    sb2 = torch.tensor([float(sigma_b2)], dtype=torch.float64)
    r = {k: float(v[0]) for k, v in solve(activation, sw2, sb2, slope=slope, q0=q0).items()}
    return MeanField(activation, float(sigma_w2), float(sigma_b2), **r, phase=phase_of(r["chi1"]))


def length_map(
    activation: str,
    q: float,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    slope: float | None = None,
) -> float:
    """``σ_w² E[φ(√q z)²] + σ_b²``: the next layer's pre-activation length (Poole et al.
    2016, eq. 3).

    Example:
        >>> round(length_map("relu", 3.0, 2.0), 12)  # He et al. 2015: the length is kept
        3.0
    """
    values = {"activation": activation, "q": q, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    check("length_map", {**values, "slope": slope}, MEAN_FIELD_TABLE)
    e = expect_1d(activation, torch.tensor([float(q)], dtype=torch.float64), slope)
    return float(sigma_w2 * e["phi2"][0] + sigma_b2)


def correlation_map(
    activation: str,
    c: float,
    q: float,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    slope: float | None = None,
) -> float:
    """The next layer's correlation of two inputs of length ``q`` and correlation ``c``:
    ``(σ_w² E[φ(u1) φ(u2)] + σ_b²) / (σ_w² E[φ(u1)²] + σ_b²)`` (Poole et al. 2016,
    eq. 5; the denominator is the next length, ``q*`` at the fixed point).

    Example:
        >>> round(correlation_map("relu", 0.0, 1.0, 2.0), 6)  # 1/π: the arc-cosine kernel
        0.31831
    """
    values = {"activation": activation, "c": c, "q": q}
    values |= {"sigma_w2": sigma_w2, "sigma_b2": sigma_b2, "slope": slope}
    check("correlation_map", values, MEAN_FIELD_TABLE)
    return float(_correlation_step(activation, float(q), float(c), sigma_w2, sigma_b2, slope)[1])


def _correlation_step(
    activation: str, q: float, c: float, sigma_w2: float, sigma_b2: float, slope: float | None
) -> tuple[float, float]:
    """One layer of the joint map: ``(q, c) → (q′, c′)``.  The length is the
    one-variable rule's (as :func:`length_map`); the correlation divides two values of the
    two-variable rule, so that ``c = 1`` maps to 1 exactly."""
    t = torch.tensor([q, q], dtype=torch.float64)
    length = sigma_w2 * float(expect_1d(activation, t[:1], slope)["phi2"][0]) + sigma_b2
    e = expect_2d(activation, t, torch.tensor([c, 1.0], dtype=torch.float64), slope)
    cross, same = (sigma_w2 * float(k) + sigma_b2 for k in e["phiphi"])
    return length, (cross / same if same > 0 else 1.0)


def layer_predictions(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    *,
    input_sq: float = 1.0,
    input_corr: float = 0.5,
    slope: float | None = None,
) -> tuple[list[float], list[float]]:
    """Predicted length ``q^l`` and correlation ``c^l`` of the pre-activations of layers
    ``1..depth`` for two inputs with mean square ``input_sq`` (``‖x‖²/N``) and cosine
    similarity ``input_corr``.

    Layer 1 sees the inputs themselves: ``q¹ = σ_w² input_sq + σ_b²`` and
    ``c¹ = (σ_w² input_sq input_corr + σ_b²) / q¹``; every later layer applies the length
    and correlation maps to the previous pre-activations.

    Example:
        >>> q, c = layer_predictions("linear", 1.0, 0.0, 3, input_corr=0.5)
        >>> [round(v, 12) for v in q], [round(v, 12) for v in c]
        ([1.0, 1.0, 1.0], [0.5, 0.5, 0.5])
    """
    values = {"activation": activation, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    values |= {"slope": slope, "depth": depth, "input_sq": input_sq, "input_corr": input_corr}
    table: dict[str, Constraint | tuple[Constraint, ...]] = {
        **MEAN_FIELD_TABLE,
        "depth": Interval(1, 10_000, integer=True),
        "input_sq": Interval(0.0, 1e6, "right"),
        "input_corr": Interval(-1.0, 1.0),
    }
    check("layer_predictions", values, table)
    q = sigma_w2 * input_sq + sigma_b2
    c = (sigma_w2 * input_sq * input_corr + sigma_b2) / q if q > 0 else 1.0
    qs, cs = [q], [c]
    for _ in range(depth - 1):
        q, c = _correlation_step(activation, q, c, sigma_w2, sigma_b2, slope)
        qs.append(q)
        cs.append(c)
    return qs, cs


def critical_sigma_w2(
    activation: str, sigma_b2: float = 0.0, *, slope: float | None = None
) -> float:
    """The ``σ_w²`` where χ₁ = 1 at this ``σ_b²``: the smallest crossing found by doubling
    ``σ_w²`` from 1 (down from 1 if χ₁(1) > 1), then bisection to 1e-12 relative;
    ``inf`` if χ₁ stays below 1 up to ``σ_w² = 1e6``.

    Example:
        >>> round(critical_sigma_w2("relu", 0.3), 9)  # He et al. 2015: 2 whatever the bias
        2.0
    """
    values = {"activation": activation, "sigma_b2": sigma_b2, "slope": slope}
    check("critical_sigma_w2", values, MEAN_FIELD_TABLE)
    sb2 = torch.tensor([float(sigma_b2)], dtype=torch.float64)
    return float(critical_line(activation, sb2, slope)[0])


def critical_line(
    activation: str, sigma_b2: torch.Tensor, slope: float | None = None
) -> torch.Tensor:
    """:func:`critical_sigma_w2` for many ``σ_b²`` at once (inputs trusted)."""
    sb2 = sigma_b2.to(torch.float64).flatten()

    def above(sw2: torch.Tensor) -> torch.Tensor:
        return _length_stats(activation, sw2, sb2, slope, 1.0)["chi1"] > 1.0

    lo = torch.zeros_like(sb2)
    hi = torch.ones_like(sb2)
    # Bracket [lo, hi] with χ₁(lo) ≤ 1 < χ₁(hi): halve down or double up from 1.
    start = above(hi)
    for _ in range(40):
        low_side = start & above(hi)
        hi = torch.where(low_side, hi / 2, hi)
    lo = torch.where(start, hi, lo)
    hi = torch.where(start, 2 * hi, hi)
    for _ in range(20):
        grow = ~above(hi) & (hi < 1e6)
        lo = torch.where(grow, hi, lo)
        hi = torch.where(grow, 2 * hi, hi)
    found = above(hi)
    for _ in range(60):
        mid = (lo + hi) / 2
        up = above(mid)
        hi = torch.where(up, mid, hi)
        lo = torch.where(up, lo, mid)
        if bool(((hi - lo) <= 1e-12 * hi).all()):
            break
    return torch.where(found, (lo + hi) / 2, math.inf).reshape(sigma_b2.shape)
