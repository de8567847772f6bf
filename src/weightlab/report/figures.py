"""Figures of signal propagation: variance against depth, and the classic per-layer
activation histograms with one row per scheme.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot global state),
so they are safe to make from any thread or process, and saved as PNG or SVG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from weightlab._validate import fail
from weightlab.diagnose.propagation import Measurement
from weightlab.histogram import Histogram

__all__ = [
    "DepthSeries",
    "activation_histograms",
    "depth_series",
    "pick_layers",
    "save",
    "variance_vs_depth",
]


def save(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` (PNG or SVG, from the suffix) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    return out


def _positive(values: Sequence[float]) -> np.ndarray:
    arr = np.array(values, dtype=float)
    arr[~np.isfinite(arr) | (arr <= 0)] = np.nan  # log axes cannot show 0, inf or NaN
    return arr


DepthSeries = Mapping[str, Sequence[float]]  # pre_var, chain, weight_grad_var per layer


def depth_series(m: Measurement) -> dict[str, list[float]]:
    """The per-layer numbers :func:`variance_vs_depth` draws, from a measurement."""
    return {
        "pre_var": [r.pre_var for r in m.layers],
        "chain": list(m.chain),
        "weight_grad_var": [r.weight_grad_var for r in m.layers],
    }


def variance_vs_depth(
    measurements: Mapping[str, Measurement | DepthSeries], title: str = ""
) -> Figure:
    """Two panels against layer index: Var(z) measured (solid) and predicted by the
    chained derivation (dashed), and the weight-gradient variance, one colour per scheme.

    Each value is a :class:`Measurement` or its :func:`depth_series` (as stored runs
    keep it)."""
    if not measurements:
        raise fail("variance_vs_depth", "measurements", "at least one scheme's layers", {})
    fig = Figure(figsize=(11, 4.2))
    ax_f, ax_b = fig.subplots(1, 2)
    for i, (label, m) in enumerate(measurements.items()):
        series = depth_series(m) if isinstance(m, Measurement) else m
        color = f"C{i % 10}"
        depth = np.arange(1, len(series["pre_var"]) + 1)
        ax_f.plot(depth, _positive(series["pre_var"]), color=color, label=label)
        ax_f.plot(depth, _positive(series["chain"]), color=color, linestyle="--", linewidth=1)
        ax_b.plot(depth, _positive(series["weight_grad_var"]), color=color, label=label)
    ax_f.set(
        yscale="log",
        xlabel="layer",
        ylabel="Var(z)  (solid: measured, dashed: theory)",
        title="Forward: pre-activation variance",
    )
    ax_b.set(
        yscale="log",
        xlabel="layer",
        ylabel="Var(∂L/∂W)",
        title="Backward: weight-gradient variance",
    )
    for ax in (ax_f, ax_b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_f.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def pick_layers(n: int, most: int = 6) -> list[int]:
    """Up to ``most`` layer indices spread evenly from the first to the last."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _bar(ax: object, hist: Histogram, color: str) -> None:
    if not hist.counts or not math.isfinite(hist.low):
        ax.text(0.5, 0.5, "inf/NaN", ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]
        return
    counts = np.array(hist.counts, dtype=float)
    edges = np.linspace(hist.low, hist.high, len(counts) + 1)
    density = counts / max(counts.sum(), 1.0)
    ax.bar(edges[:-1], density, width=np.diff(edges), align="edge", color=color)  # type: ignore[attr-defined]


def activation_histograms(
    measurements: Mapping[str, Measurement | Sequence[Histogram]],
    title: str = "",
    most_layers: int = 6,
) -> Figure:
    """The classic figure: a row per scheme, a column per layer, each cell the
    histogram of that layer's activations φ(z) (fraction of values per bin).

    Each value is a :class:`Measurement` or the list of its layers' activation
    histograms (as stored runs keep them)."""
    if not measurements:
        raise fail("activation_histograms", "measurements", "at least one scheme's layers", {})
    rows = [
        (label, [r.post_hist for r in m.layers] if isinstance(m, Measurement) else list(m))
        for label, m in measurements.items()
    ]
    cols = pick_layers(len(rows[0][1]) - 1 or 1, most_layers)  # hidden layers
    fig = Figure(figsize=(2.1 * len(cols) + 1.2, 1.5 * len(rows) + 0.8))
    axes = np.atleast_2d(fig.subplots(len(rows), len(cols), squeeze=False))
    for r, (label, hists) in enumerate(rows):
        for c, idx in enumerate(cols):
            ax = axes[r, c]
            _bar(ax, hists[idx], f"C{r % 10}")
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(f"layer {idx + 1}", fontsize=9)
        axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return fig
