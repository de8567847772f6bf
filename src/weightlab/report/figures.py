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
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from weightlab._validate import fail
from weightlab.diagnose.propagation import Measurement
from weightlab.histogram import Histogram

__all__ = [
    "DepthSeries",
    "activation_histograms",
    "depth_series",
    "pick_layers",
    "range_text",
    "reach",
    "round_up",
    "save",
    "short_number",
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
    ax_f, ax_b = fig.subplots(1, 2, sharex=True)  # the same layers, two quantities
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


def short_number(x: float) -> str:
    """``x`` with two significant digits, the way panels print their scales: plain
    between 0.001 and 10⁴, else with a plain exponent (``3.1e-9``, ``2.5e10``).

    Example:
        >>> [short_number(v) for v in (3.14e-9, -2.5e10, 0.25, -1.0, -0.0, 120.0, 1.3e-4)]
        ['3.1e-9', '-2.5e10', '0.25', '-1', '0', '120', '1.3e-4']
    """
    value = float(f"{x:.2g}")
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def round_up(x: float, digits: int = 2) -> float:
    """The smallest number with ``digits`` significant digits that is ``>= x`` (for
    ``x > 0``; other values come back unchanged), so that a bound printed short stays a
    bound: ``round_up(3.01e-9) == 3.1e-9``.

    Example:
        >>> round_up(3.01e-9), round_up(3e-9), round_up(0.999), round_up(1.0)
        (3.1e-09, 3e-09, 1.0, 1.0)
    """
    if not (x > 0 and math.isfinite(x)):
        return x
    unit = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    count = math.ceil(x / unit - 1e-9)  # the tolerance absorbs x / unit's round-off
    return float(f"{count * unit:.{digits}g}")


def reach(hist: Histogram) -> float | None:
    """An upper bound on ``max|a|`` from a histogram: the larger ``|edge|`` of its
    occupied bins; ``None`` when it holds no finite value.

    Exact when the histogram's range is the data's ``[min, max]`` (the first and last
    bins are then occupied and their outer edges are the extremes); with fixed bounds
    (tanh, sigmoid) it is within one bin width.  Every value exactly 0 gives 0.

    Example:
        >>> reach(Histogram(-2.0, 2.0, (0, 1, 1, 0))), reach(Histogram(0.0, 3e-9, (5, 0, 1)))
        (1.0, 3e-09)
    """
    occupied = np.flatnonzero(np.array(hist.counts) > 0)
    if len(occupied) == 0 or not math.isfinite(hist.low):
        return None
    if hist.zeros == int(sum(hist.counts)):
        return 0.0
    edges = np.linspace(hist.low, hist.high, len(hist.counts) + 1)
    return float(max(abs(edges[occupied[0]]), abs(edges[occupied[-1] + 1])))


def range_text(hist: Histogram, variance: float | None = None) -> str:
    """What a histogram panel prints about its scale: ``|a| ≤ bound`` (:func:`reach`,
    rounded up to two digits) and, when ``variance`` is known, the standard deviation.

    Example:
        >>> range_text(Histogram(0.0, 3.01e-9, (5, 0, 1)), 1e-18).splitlines()
        ['|a| ≤ 3.1e-9', 'sd 1e-9']
    """
    bound = reach(hist)
    if bound is None:
        lines = ["inf/NaN"]
    else:
        lines = [f"|a| ≤ {short_number(round_up(bound))}" if bound > 0 else "all a = 0"]
    if variance is not None and math.isfinite(variance) and variance >= 0:
        lines.append(f"sd {short_number(math.sqrt(variance))}")
    return "\n".join(lines)


def _bar(ax: Axes, hist: Histogram, color: str, variance: float | None) -> None:
    """The histogram as fractions of values per bin, its scale printed inside the
    panel and the x tick labels written out in full (no offset or multiplier text,
    which a grid of panels would hide under the next row)."""
    ax.text(
        0.5,
        0.96,
        range_text(hist, variance),
        ha="center",
        va="top",
        fontsize=8,
        transform=ax.transAxes,
        gid="range",
    )
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: short_number(x)))
    if not hist.counts or not math.isfinite(hist.low):
        return
    counts = np.array(hist.counts, dtype=float)
    edges = np.linspace(hist.low, hist.high, len(counts) + 1)
    density = counts / max(counts.sum(), 1.0)
    ax.bar(edges[:-1], density, width=np.diff(edges), align="edge", color=color)
    ax.set_ylim(0.0, _HEADROOM * max(float(density.max()), 1e-12))


_HEADROOM = 1.7
"""The tallest bar reaches 1/_HEADROOM of a panel's height, leaving room above for the
panel's scale."""

Layers = Measurement | Sequence[Histogram]


def _rows(
    measurements: Mapping[str, Layers], variances: Mapping[str, Sequence[float]]
) -> list[tuple[str, list[Histogram], list[float | None]]]:
    """Per scheme: its label, its layers' activation histograms and variances."""
    rows: list[tuple[str, list[Histogram], list[float | None]]] = []
    for label, m in measurements.items():
        if isinstance(m, Measurement):
            rows.append((label, [r.post_hist for r in m.layers], [r.post_var for r in m.layers]))
        else:
            known = list(variances.get(label, []))
            rows.append((label, list(m), [*known, *[None] * (len(m) - len(known))]))
    return rows


def activation_histograms(
    measurements: Mapping[str, Layers],
    title: str = "",
    most_layers: int = 6,
    *,
    variances: Mapping[str, Sequence[float]] | None = None,
) -> Figure:
    """The classic figure: a row per scheme, a column per layer, each cell the
    histogram of that layer's activations φ(z) (fraction of values per bin).

    Every panel has its own x range and prints it inside the panel: ``|a| ≤ bound``
    (:func:`range_text`) and the standard deviation, so a vanishing layer (``|a| ≤
    1e-9``) or an exploding one (``|a| ≤ 1e10``) reads as such at a glance; tick
    labels are written out in full (``2e-9``), never as a hidden ``×1e-9``.

    Each value is a :class:`Measurement` (its ``post_var`` gives the standard
    deviations) or the list of its layers' activation histograms (as stored runs keep
    them), with the layers' variances in ``variances[label]`` where known."""
    if not measurements:
        raise fail("activation_histograms", "measurements", "at least one scheme's layers", {})
    rows = _rows(measurements, variances or {})
    cols = pick_layers(len(rows[0][1]) - 1 or 1, most_layers)  # hidden layers
    fig = Figure(figsize=(2.1 * len(cols) + 1.2, 1.5 * len(rows) + 1.1), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(rows), len(cols), squeeze=False))
    for r, (label, hists, var) in enumerate(rows):
        for c, idx in enumerate(cols):
            ax = axes[r, c]
            _bar(ax, hists[idx], f"C{r % 10}", var[idx])
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(f"layer {idx + 1}", fontsize=9)
        axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.supxlabel(
        "activation φ(z): each panel its own range, printed in it (|a| ≤ largest |value|, "
        "sd: standard deviation); bar height: fraction of values per bin, "
        f"the tallest bar at {1 / _HEADROOM:.0%} of the panel",
        fontsize=8,
    )
    if title:
        fig.suptitle(title)
    return fig
