"""The theory section's numbers, all from :mod:`weightlab.theory`: the mean-field phase
diagram of an activation over the window the page's point can reach (cached per
activation: it does not depend on the point), where the named schemes sit on it, and for
one point ``(σ_w, σ_b)`` real networks drawn there, their per-layer length ``q^l`` and
correlation ``c^l`` measured beside the length and correlation maps (Poole et al. 2016;
Schoenholz et al. 2017), and the singular values of their input–output Jacobian beside
free probability (Pennington, Schoenholz & Ganguli 2017).

Example:
    >>> from weightlab.lab.schemas import TheoryPointQuery
    >>> out = point(TheoryPointQuery(activation="relu", sigma_w=2**0.5, depth=3, width=32))
    >>> out["mean_field"]["phase"], len(out["layers"]["predicted_c"])
    ('critical', 3)
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy as np
import torch

from weightlab.lab.schemas import LIMITS, TheoryPhaseQuery, TheoryPointQuery
from weightlab.theory import (
    PHASE_SCHEMES,
    RESOLUTION,
    TORCH_DEFAULT,
    PhaseDiagram,
    correlation_trace,
    fuss_catalan,
    jacobian_spectra,
    mean_field,
    phase_diagram,
    scheme_point,
)

__all__ = ["INPUT_CORR", "NETWORKS", "PHASE_GRID", "phase", "point", "warm_up", "window"]

PHASE_GRID = 40  # cells per axis of the diagram (the critical line is solved apart)
NETWORKS = 4  # independent networks the per-layer numbers are averaged over
PAIRS = 4  # input pairs per network
INPUT_CORR = 0.5  # cosine similarity of each input pair
JACOBIAN_INPUTS = 2  # inputs whose Jacobian spectra are pooled
HISTOGRAM_BINS = 30
SEED = 0  # every point draws from the same seed, so that moving it changes only the σ's
_DIGITS = 6  # significant digits of the grid's numbers on the wire

_lock = threading.Lock()


def window() -> tuple[float, float]:
    """The diagram's ``(σ_w² max, σ_b² max)``: the squares of the point's limits."""
    return LIMITS["sigma_w"][1] ** 2, LIMITS["sigma_b"][1] ** 2


@functools.lru_cache(maxsize=16)
def _diagram(activation: str) -> PhaseDiagram:
    sigma_w2_max, sigma_b2_max = window()
    return phase_diagram(
        activation,
        sigma_w2_max=sigma_w2_max,
        sigma_b2_max=sigma_b2_max,
        grid=PHASE_GRID,
        schemes=(),
    )


def diagram(activation: str) -> PhaseDiagram:
    """The cached grid of ``activation`` (solved once, by one request at a time)."""
    with _lock:
        return _diagram(activation)


def _rows(values: np.ndarray) -> list[list[float]]:
    return [[float(f"{v:.{_DIGITS}g}") for v in row] for row in values.tolist()]


def phase(query: TheoryPhaseQuery) -> dict[str, Any]:
    """χ₁ and ξ_c on the grid (rows over σ_b², columns over σ_w²), where the length has
    no fixed point (``unbounded``), the critical line χ₁ = 1, and each named scheme's
    point for square layers of ``query.width`` units (``inside``: on the diagram)."""
    d = diagram(query.activation)
    sigma_w2_max, sigma_b2_max = window()
    schemes = []
    for spec in (*PHASE_SCHEMES, TORCH_DEFAULT):
        p = scheme_point(spec, query.activation, query.width).to_json()
        inside = p["sigma_w2"] <= sigma_w2_max and p["sigma_b2"] <= sigma_b2_max
        schemes.append({**p, "inside": inside})
    return {
        **d.to_json(),
        "width": query.width,
        "schemes": schemes,
        "window": {"sigma_w2": [0.0, sigma_w2_max], "sigma_b2": [0.0, sigma_b2_max]},
        "grid": {
            "sigma_w2": d.sigma_w2.tolist(),
            "sigma_b2": d.sigma_b2.tolist(),
            "chi1": _rows(d.chi1),
            "xi_c": _rows(d.xi_c),
            "unbounded": (~np.isfinite(d.q_star)).tolist(),
        },
    }


def _log_histogram(values: list[float], inputs: int) -> dict[str, Any]:
    """Counts of ``log10 σ`` over the resolved singular values (each input's above
    ``RESOLUTION`` times its largest), on :data:`HISTOGRAM_BINS` equal bins."""
    s = np.asarray(values, dtype=np.float64).reshape(inputs, -1)
    resolved = s[s > RESOLUTION * s.max(axis=1, keepdims=True)]
    if resolved.size == 0:
        return {"low": None, "high": None, "counts": []}
    logs = np.log10(resolved)
    low, high = float(logs.min()), float(logs.max())
    if high - low < 1e-6:  # one value (orthogonal linear layers): a bin around it
        low, high = low - 0.5, high + 0.5
    counts, _ = np.histogram(logs, bins=HISTOGRAM_BINS, range=(low, high))
    return {"low": low, "high": high, "counts": counts.tolist()}


def _log_prediction(query: TheoryPointQuery) -> tuple[float, float] | None:
    """Predicted mean and standard deviation of ``log σ`` where the theory gives them:
    linear layers, whose Jacobian is the product of the weights; ``σ_w^L`` times the
    Fuss–Catalan law (Gaussian) or exactly ``σ_w^L`` (orthogonal)."""
    if query.activation != "linear" or query.sigma_w == 0:
        return None
    shift = query.depth * math.log(query.sigma_w)
    if query.weights == "orthogonal":
        return shift, 0.0
    fc = fuss_catalan(query.depth)
    return fc["mean_log"] + shift, fc["std_log"]


def _spectrum(query: TheoryPointQuery) -> dict[str, Any]:
    sigma_w2, sigma_b2 = query.sigma_w**2, query.sigma_b**2
    study = jacobian_spectra(
        query.activation,
        sigma_w2,
        sigma_b2,
        depths=[query.depth],
        width=query.width,
        weights=[query.weights],
        inputs=JACOBIAN_INPUTS,
        generator=torch.Generator().manual_seed(SEED),
    )
    row = study.rows[0]
    predicted_log = _log_prediction(query)
    return {
        **row.to_json(),
        "inputs": JACOBIAN_INPUTS,
        "count": len(row.singular_values),
        "predicted_mean_log": None if predicted_log is None else predicted_log[0],
        "predicted_std_log": None if predicted_log is None else predicted_log[1],
        "histogram": _log_histogram(row.singular_values, JACOBIAN_INPUTS),
    }


def point(query: TheoryPointQuery) -> dict[str, Any]:
    """The mean-field numbers of ``(σ_w², σ_b²)``, and :data:`NETWORKS` networks of
    ``query.depth`` layers drawn there: per layer the measured ``q^l`` and ``c^l``
    (input pairs of cosine similarity :data:`INPUT_CORR`) beside the maps' predictions,
    with the standard error of the measured correlation and one pair's derived standard
    deviation; and the Jacobian's singular values (log₁₀ histogram, moments of σ², mean
    and spread of log σ) beside free probability's moments."""
    sigma_w2, sigma_b2 = query.sigma_w**2, query.sigma_b**2
    trace = correlation_trace(
        query.activation,
        sigma_w2,
        sigma_b2,
        depth=query.depth,
        width=query.width,
        input_corr=INPUT_CORR,
        networks=NETWORKS,
        pairs=PAIRS,
        weights=query.weights,
        generator=torch.Generator().manual_seed(SEED),
    )
    mf = mean_field(query.activation, sigma_w2, sigma_b2).to_json()
    mf.pop("activation")
    return {
        **query.model_dump(),
        "sigma_w2": sigma_w2,
        "sigma_b2": sigma_b2,
        "input_corr": INPUT_CORR,
        "networks": NETWORKS,
        "pairs": PAIRS,
        "seed": SEED,
        "mean_field": mf,
        "layers": {
            "layer": list(range(1, query.depth + 1)),
            "measured_q": trace.measured_q,
            "predicted_q": trace.predicted_q,
            "measured_c": trace.measured,
            "predicted_c": trace.predicted,
            "measured_c_se": trace.measured_se,
            "pair_sd": trace.pair_sd,
        },
        "spectrum": _spectrum(query),
    }


def warm_up() -> None:
    """Solve the default activation's diagram and measure one small point (the first
    Jacobian pays torch.func's first-call cost), so that the first visit is quick."""
    diagram(TheoryPhaseQuery().activation)
    point(TheoryPointQuery(depth=2, width=16))
