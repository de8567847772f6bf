"""The correlation of two inputs through a real network, measured beside the mean-field
correlation map (Poole et al. 2016; Schoenholz et al. 2017).

Pairs of inputs with an exact cosine similarity go through freshly drawn
:func:`~weightlab.theory.networks.random_mlp` networks; at every layer the cosine
similarity of the two pre-activation vectors is set beside the prediction ``c^l`` of
:func:`~weightlab.theory.meanfield.layer_predictions`.

Sampling error at width ``N``, derived here and checked by the tests: given the previous
layer, the ``N`` pre-activation pairs of a layer are i.i.d. bivariate normal, so one
pair's cosine similarity scatters with variance ``(1 − c_l²)² / N`` around the
correlation the previous layer implies (the large-``N`` variance of a sample
correlation); the scatter of earlier layers passes on multiplied by the map's slope
``ρ′_l = σ_w² q^{l−1} E[φ′(u1)φ′(u2)] / q^l`` (Price's theorem).  Hence

    s_1² = (1 − c_1²)² / N,    s_l² = ρ′_l² s_{l−1}² + (1 − c_l²)² / N,

one pair's standard deviation at layer ``l``.  The mean over ``networks`` independent
networks (and any number of pairs, which share weights and so are not independent) has
standard deviation at most ``s_l / √networks``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from weightlab._validate import GENERATOR, OPTIONAL, Constraint, Interval, OneOf, check
from weightlab.activations import ACTIVATION_FNS
from weightlab.theory.gauss import expect_2d
from weightlab.theory.meanfield import layer_predictions, mean_field
from weightlab.theory.networks import WEIGHTS, input_pair, pre_activations, random_mlp

__all__ = ["CorrelationTrace", "convergence_depth", "correlation_trace", "sampling_sd"]

_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "activation": OneOf(tuple(ACTIVATION_FNS)),
    "sigma_w2": Interval(0.0, 100.0),
    "sigma_b2": Interval(0.0, 100.0),
    "depth": Interval(1, 200, integer=True),
    "width": Interval(2, 4096, integer=True),
    "input_corr": Interval(-1.0, 1.0),
    "input_sq": Interval(0.0, 100.0, "right"),
    "networks": Interval(1, 256, integer=True),
    "pairs": Interval(1, 256, integer=True),
    "tolerance": Interval(0.0, 1.0, "neither"),
    "weights": OneOf(WEIGHTS),
    "slope": (Interval(0.0, 1.0), OPTIONAL),
    "generator": GENERATOR,
}


@dataclass(frozen=True)
class CorrelationTrace:
    """Per-layer correlation of input pairs, measured and predicted (lists over layers
    ``1..depth``), and how deep each takes to come within ``tolerance`` of ``c*``.

    - ``measured``: mean cosine similarity over ``networks × pairs``;
    - ``measured_se``: standard error of that mean from the spread of the networks' means;
    - ``rms_error``: one pair's root-mean-square distance from the prediction;
    - ``predicted``: the correlation map's ``c^l``; ``predicted_q``/``measured_q`` the
      lengths ``q^l`` (mean square of a pre-activation);
    - ``pair_sd``: the derived standard deviation of one pair (module docstring);
    - ``converged_measured``/``converged_predicted``: the first layer from which every
      later layer is within ``tolerance`` of ``c*`` (None: not within ``depth``);
    - ``converged_xi``: ``ξ_c · ln(|c¹ − c*| / tolerance)``, the depth the asymptotic
      law ``|c^l − c*| ∝ e^{−l/ξ_c}`` gives (``inf`` at criticality).
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    width: int
    depth: int
    input_corr: float
    networks: int
    pairs: int
    weights: str
    measured: list[float]
    measured_se: list[float]
    rms_error: list[float]
    predicted: list[float]
    pair_sd: list[float]
    measured_q: list[float]
    predicted_q: list[float]
    c_star: float
    chi1: float
    xi_c: float
    tolerance: float
    converged_measured: int | None
    converged_predicted: int | None
    converged_xi: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sampling_sd(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    q: list[float],
    c: list[float],
    width: int,
    slope: float | None = None,
) -> list[float]:
    """One pair's standard deviation ``s_l`` of the measured correlation at each layer,
    from the predicted lengths ``q`` and correlations ``c`` (module docstring)."""
    if not c:
        return []
    s2 = (1 - c[0] ** 2) ** 2 / width
    out = [math.sqrt(s2)]
    prev = torch.tensor(q[:-1], dtype=torch.float64)
    d = expect_2d(activation, prev, torch.tensor(c[:-1], dtype=torch.float64), slope)
    for k in range(1, len(c)):
        rho = sigma_w2 * q[k - 1] * float(d["dphidphi"][k - 1]) / q[k] if q[k] > 0 else 0.0
        s2 = rho * rho * s2 + (1 - c[k] ** 2) ** 2 / width
        out.append(math.sqrt(s2))
    return out


def convergence_depth(values: list[float], target: float, tolerance: float) -> int | None:
    """The first layer (1-based) from which every value is within ``tolerance`` of
    ``target``; None if the last one is not.

    Example:
        >>> convergence_depth([0.5, 0.95, 0.98, 0.999], 1.0, 0.03)
        3
    """
    depth = None
    for i in range(len(values), 0, -1):
        if abs(values[i - 1] - target) > tolerance:
            break
        depth = i
    return depth


def correlation_trace(
    activation: str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    depth: int = 20,
    width: int = 512,
    input_corr: float = 0.5,
    input_sq: float = 1.0,
    networks: int = 8,
    pairs: int = 8,
    tolerance: float = 0.01,
    weights: str = "gaussian",
    slope: float | None = None,
    generator: torch.Generator | None = None,
) -> CorrelationTrace:
    """Measure the cosine similarity of the pre-activations of ``pairs`` input pairs
    (mean square ``input_sq``, cosine similarity ``input_corr``) at every layer of
    ``networks`` freshly drawn networks, beside the correlation map's prediction.

    Example:
        >>> t = correlation_trace("relu", 2.0, depth=3, width=64, networks=2, pairs=2,
        ...                       generator=torch.Generator().manual_seed(0))
        >>> [round(c, 3) for c in t.predicted]  # the arc-cosine map after layer 1
        [0.5, 0.609, 0.684]
    """
    values = {"activation": activation, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    values |= {"depth": depth, "width": width, "input_corr": input_corr, "input_sq": input_sq}
    values |= {"networks": networks, "pairs": pairs, "tolerance": tolerance}
    values |= {"weights": weights, "slope": slope, "generator": generator}
    check("correlation_trace", values, _TABLE)
    q, c = layer_predictions(
        activation, sigma_w2, sigma_b2, depth, input_sq=input_sq, input_corr=input_corr, slope=slope
    )
    cos, sq = [], []
    for _ in range(networks):
        net = random_mlp(
            activation,
            sigma_w2,
            sigma_b2,
            depth,
            width,
            weights=weights,
            slope=slope,
            generator=generator,
        )
        x = input_pair(width, input_corr, mean_square=input_sq, pairs=pairs, generator=generator)
        hs = pre_activations(net, x)
        cos.append(torch.stack([torch.cosine_similarity(h[0::2], h[1::2], dim=-1) for h in hs]))
        sq.append(torch.stack([h.pow(2).mean() for h in hs]))
    sims = torch.stack(cos)  # [networks, depth, pairs]
    per_net = sims.mean(-1)
    se = per_net.std(0) / math.sqrt(networks) if networks > 1 else torch.full((depth,), math.nan)
    pred = torch.tensor(c, dtype=sims.dtype)
    rms = (sims - pred[None, :, None]).pow(2).mean((0, 2)).sqrt()
    mf = mean_field(activation, sigma_w2, sigma_b2, slope=slope, q0=input_sq)
    measured = per_net.mean(0).tolist()
    gap = abs(c[0] - mf.c_star)
    xi_depth = 0.0 if gap <= tolerance else mf.xi_c * math.log(gap / tolerance)
    return CorrelationTrace(
        activation=activation,
        sigma_w2=float(sigma_w2),
        sigma_b2=float(sigma_b2),
        width=width,
        depth=depth,
        input_corr=float(input_corr),
        networks=networks,
        pairs=pairs,
        weights=weights,
        measured=measured,
        measured_se=se.tolist(),
        rms_error=rms.tolist(),
        predicted=list(c),
        pair_sd=sampling_sd(activation, sigma_w2, sigma_b2, q, c, width, slope),
        measured_q=torch.stack(sq).mean(0).tolist(),
        predicted_q=list(q),
        c_star=mf.c_star,
        chi1=mf.chi1,
        xi_c=mf.xi_c,
        tolerance=float(tolerance),
        converged_measured=convergence_depth(measured, mf.c_star, tolerance),
        converged_predicted=convergence_depth(list(c), mf.c_star, tolerance),
        converged_xi=xi_depth,
    )
