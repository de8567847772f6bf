"""The effective-learning-rate figure of a sweep recorded with ``train.effective_lr``:
each layer's relative update size per step, and the distribution of Adam's per-weight
step sizes ``lr/(√v̂ + ε)`` — why an L2 penalty inside Adam regularizes weights unevenly
(Loshchilov & Hutter 2019, §2; :mod:`weightlab.train.effective`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from weightlab.histogram import Histogram
from weightlab.regularize import parse_regularization
from weightlab.train.effective import STEP_KIND

__all__ = ["STEP_KIND", "effective_caption", "effective_lr_figure"]

Curve = tuple[Sequence[int], Sequence[float]]


def effective_lr_figure(
    ratios: Mapping[str, Sequence[Curve]],
    steps: Mapping[str, Histogram],
    *,
    title: str = "",
) -> Figure:
    """Left: the mean over layers of ``‖ΔW‖/‖W‖`` per evaluation step, one line per
    setting (first seed's curves averaged over seeds at equal steps). Right: histograms
    of log10 of Adam's per-weight step sizes at the end, one per setting (empty when no
    setting ran Adam)."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for i, (label, curves) in enumerate(ratios.items()):
        steps_, mean = _mean_curve(curves)
        left.plot(steps_, mean, color=f"C{i % 10}", label=label)
    left.set(xlabel="step", ylabel="‖ΔW‖ / ‖W‖ of one step (mean over layers)", yscale="log")
    if ratios:
        left.legend(fontsize=7)
    for i, (label, hist) in enumerate(steps.items()):
        edges = np.linspace(hist.low, hist.high, len(hist.counts) + 1)
        right.stairs(hist.counts, edges, color=f"C{i % 10}", label=label)
    right.set(xlabel="log10 of Adam's step size lr/(√v̂ + ε)", ylabel="weights")
    if steps:
        right.legend(fontsize=7)
    else:
        right.text(0.5, 0.5, "no Adam run", ha="center", va="center", transform=right.transAxes)
    if title:
        fig.suptitle(title)
    return fig


def _mean_curve(curves: Sequence[Curve]) -> tuple[list[int], list[float]]:
    common = sorted(set.intersection(*(set(s) for s, _ in curves))) if curves else []
    tables = [dict(zip(s, v, strict=True)) for s, v in curves]
    return common, [float(np.mean([t[step] for t in tables])) for step in common]


def effective_caption(spreads: Mapping[str, float], finals: Mapping[str, float]) -> str:
    """The caption: for each Adam setting, how unevenly its step sizes (and so an L2
    penalty inside it) act on the weights, and each setting's final update ratio.

    Example:
        >>> text = effective_caption({"l2(0.01)": 31.6}, {"l2(0.01)": 0.0021, "none": 0.003})
        >>> text.split(". ")[0]
        'Final ‖ΔW‖/‖W‖ of one step: l2(0.01) 0.0021; none 0.003'
        >>> "l2(0.01)'s penalty pulls a weight at the 10th percentile of step sizes 31.6" in text
        True
    """
    text = (
        "Final ‖ΔW‖/‖W‖ of one step: "
        + "; ".join(f"{k} {_fmt(v)}" for k, v in finals.items())
        + "."
    )
    finite = {k: v for k, v in spreads.items() if math.isfinite(v)}
    if finite:
        text += (
            " Adam step sizes, 90th over 10th percentile: "
            + "; ".join(f"{k} {v:.3g}" for k, v in finite.items())
            + "."
        )
    coupled = {k: v for k, v in finite.items() if _has_coupled_l2(k)}
    if coupled:
        name = max(coupled, key=lambda k: coupled[k])
        text += (
            f" Inside Adam, {name}'s penalty pulls a weight at the 10th percentile of step "
            f"sizes {coupled[name]:.3g} times less than one at the 90th"
        )
        text += (
            "; decoupled decay shrinks every weight by the same lr·λ."
            if any(_has_decoupled(k) for k in finite)
            else "."
        )
    return text


def _has_coupled_l2(label: str) -> bool:
    """Whether the regularization ``label`` adds an L2 term to the gradient (an L2
    penalty or elastic net's L2 part), which Adam then divides by √v̂ + ε."""
    try:
        return parse_regularization(label).canonical().coupled > 0
    except (ValueError, TypeError):
        return False


def _has_decoupled(label: str) -> bool:
    try:
        return parse_regularization(label).canonical().decoupled > 0
    except (ValueError, TypeError):
        return False


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def layer_mean(final: Mapping[str, Any]) -> float:
    """The mean over layers of a run's final ``update_ratio/*`` metrics (nan without)."""
    values = [float(v) for k, v in final.items() if k.startswith("update_ratio/")]
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan
