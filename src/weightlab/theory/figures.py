"""Figures of mean-field theory beside measurement: the phase diagram with the schemes
on it, the correlation of input pairs through depth, and Jacobian spectra.

Built on ``matplotlib.figure.Figure`` directly (no pyplot state), like
:mod:`weightlab.report.figures`; save them with its ``save``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from weightlab._validate import fail
from weightlab.theory.correlation import CorrelationTrace
from weightlab.theory.meanfield import phase_of
from weightlab.theory.phase import PhaseDiagram, SchemePoint
from weightlab.theory.spectrum import RESOLUTION, SpectrumStudy

__all__ = ["XI_CAP", "correlation_figure", "phase_figure", "spectrum_figure"]

XI_CAP = 1000.0  # ξ_c colours stop here (it is infinite on the critical line)
_XI_FLOOR = 0.1
# White text with a dark outline reads on every colour of the map.
_OUTLINE: dict[str, Any] = {
    "color": "white",
    "path_effects": [patheffects.withStroke(linewidth=2.5, foreground="black")],
}


def _edges(centres: np.ndarray) -> np.ndarray:
    step = centres[1] - centres[0] if len(centres) > 1 else 2 * centres[0]
    return np.concatenate([[centres[0] - step / 2], centres + step / 2])


def _critical_at(d: PhaseDiagram, sigma_b2: float) -> float:
    b, w = np.array(d.critical).T
    return float(np.interp(sigma_b2, b, w))


def _scheme_groups(points: Sequence[SchemePoint]) -> list[tuple[float, float, list[str]]]:
    """Schemes at the same point share one marker (Xavier, LeCun and the 1/n rule
    coincide on a square layer)."""
    groups: dict[tuple[float, float], list[str]] = {}
    for p in points:
        groups.setdefault((round(p.sigma_w2, 9), round(p.sigma_b2, 9)), []).append(p.scheme)
    return [(w, b, names) for (w, b), names in groups.items()]


def _draw_schemes(ax: Axes, d: PhaseDiagram) -> None:
    """A marker per scheme point, its label above it at one of three heights (in order
    of σ_w², so that neighbours' labels do not overlap); a point beyond the right edge
    (``N(0, 1)``: σ_w² = width) becomes an arrow at the edge."""
    w_max = float(_edges(d.sigma_w2)[-1])
    b_max = float(_edges(d.sigma_b2)[-1])
    groups = sorted(_scheme_groups(d.schemes))
    for i, (w, b, names) in enumerate(groups):
        label = " = ".join(names)
        height = b + b_max * (0.07 + 0.07 * (i % 3))
        if w > w_max:
            ax.annotate(
                f"{label}: σ_w² = {w:g} →",
                xy=(w_max, b),
                xytext=(0.99 * w_max, b + 0.3 * b_max),
                ha="right",
                fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "white"},
                **_OUTLINE,
            )
            continue
        ax.plot(w, b, "o", ms=8, mfc="white", mec="black", clip_on=False, zorder=5)
        ax.annotate(
            label,
            xy=(w, b),
            xytext=(w, height),
            fontsize=8,
            ha="left" if w < 0.5 * w_max else "right",
            arrowprops={"arrowstyle": "-", "color": "white", "lw": 0.8},
            **_OUTLINE,
        )


def phase_figure(d: PhaseDiagram) -> Figure:
    """Left: the (σ_w², σ_b²) plane coloured by ξ_c (log scale, capped at
    :data:`XI_CAP`), the critical line χ₁ = 1, the ordered and chaotic phases, hatching
    where the length grows without bound, and each scheme's point.  Right: ξ_c and ξ_q
    along σ_w² at ``d.cut_sigma_b2``, diverging at the critical σ_w²."""
    fig = Figure(figsize=(13, 5.2), layout="constrained")
    ax, ax_cut = fig.subplots(1, 2, width_ratios=[1.4, 1])
    xi = np.where(np.isfinite(d.xi_c), d.xi_c, XI_CAP).clip(_XI_FLOOR, XI_CAP)
    mesh = ax.pcolormesh(
        _edges(d.sigma_w2),
        _edges(d.sigma_b2),
        xi,
        norm=LogNorm(vmin=_XI_FLOOR, vmax=XI_CAP),
        cmap="viridis",
        shading="flat",
    )
    fig.colorbar(mesh, ax=ax, label=f"ξ_c, correlation depth scale (layers; capped at {XI_CAP:g})")
    handles = []
    unbounded = ~np.isfinite(d.q_star)
    if unbounded.any():
        ax.contourf(
            d.sigma_w2,
            d.sigma_b2,
            unbounded.astype(float),
            levels=[0.5, 1.5],
            colors="none",
            hatches=["//"],
        )
        handles.append(Patch(fc="none", hatch="//", label="no q*: the length grows without bound"))
    b, w = np.array(d.critical).T
    shown = np.isfinite(w)
    (line,) = ax.plot(w[shown], b[shown], color="white", lw=2.5, label="critical line χ₁ = 1")
    handles.insert(0, line)
    w_max = float(_edges(d.sigma_w2)[-1])
    b_max = float(_edges(d.sigma_b2)[-1])
    mid = _critical_at(d, b_max / 2)
    text = {"fontsize": 12, "ha": "center", "fontweight": "bold", **_OUTLINE}
    if mid > 0.15 * w_max:
        ax.text(min(mid, w_max) / 2, 0.62 * b_max, "ordered\nχ₁ < 1", **text)
    if mid < 0.85 * w_max:
        ax.text((mid + w_max) / 2, 0.62 * b_max, "chaotic\nχ₁ > 1", **text)
    _draw_schemes(ax, d)
    ax.set_xlim(0, w_max)
    ax.set_ylim(0, b_max)
    ax.set_xlabel("σ_w² = fan_in · Var(W)")
    ax.set_ylabel("σ_b² = Var(b)")
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_title(
        f"{d.activation}: phases of a deep random network "
        f"(schemes for a square layer of width {d.width}, zero biases)",
        fontsize=10,
    )
    sw = d.cut["sigma_w2"]
    for key, style, name in (("xi_c", "-", "ξ_c (correlations)"), ("xi_q", "--", "ξ_q (lengths)")):
        values = np.where(np.isfinite(d.cut[key]) & (d.cut[key] > 0), d.cut[key], np.nan)
        ax_cut.plot(sw, values, style, label=name)
    crit = _critical_at(d, d.cut_sigma_b2)
    if math.isfinite(crit) and crit < w_max:
        ax_cut.axvline(crit, color="grey", lw=1, ls=":", label=f"critical σ_w² = {crit:.4g}")
    ax_cut.set_yscale("log")
    ax_cut.set_xlim(0, w_max)
    ax_cut.set_xlabel("σ_w²")
    ax_cut.set_ylabel("depth scale (layers)")
    ax_cut.set_title(f"along σ_b² = {d.cut_sigma_b2:g}: ξ_c diverges at χ₁ = 1", fontsize=10)
    ax_cut.legend(fontsize=8)
    return fig


def correlation_figure(traces: CorrelationTrace | Sequence[CorrelationTrace]) -> Figure:
    """Left: the mean cosine similarity of input pairs at every layer (points, ±2
    standard errors) beside the correlation map (line), with ``c*`` (dotted) and where
    each comes within tolerance of it; right: the pre-activation length beside the
    length map.  One colour per trace."""
    items = [traces] if isinstance(traces, CorrelationTrace) else list(traces)
    if not items:
        raise fail("correlation_figure", "traces", "at least one CorrelationTrace", traces)
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    ax_c, ax_q = fig.subplots(1, 2)
    for i, t in enumerate(items):
        color = f"C{i % 10}"
        layers = np.arange(1, t.depth + 1)
        xi = "∞" if not math.isfinite(t.xi_c) else f"{t.xi_c:.3g}"
        label = (
            f"{t.activation} σ_w² = {t.sigma_w2:.4g}, σ_b² = {t.sigma_b2:g}: "
            f"{phase_of(t.chi1)}, ξ_c = {xi}"
        )
        se = np.nan_to_num(np.array(t.measured_se))
        ax_c.errorbar(layers, t.measured, yerr=2 * se, fmt="o", ms=3, color=color, label=label)
        ax_c.plot(layers, t.predicted, color=color, lw=1.2)
        ax_c.axhline(t.c_star, color=color, ls=":", lw=1)
        for depth, marker in ((t.converged_measured, "v"), (t.converged_predicted, "^")):
            if depth is not None:
                ax_c.plot(depth, t.c_star, marker, color=color, ms=8, mfc="none")
        ax_q.plot(layers, t.measured_q, "o", ms=3, color=color)
        ax_q.plot(layers, t.predicted_q, color=color, lw=1.2)
    first = items[0]
    ax_c.set_title(
        f"correlation of input pairs (width {first.width}, {first.networks} networks × "
        f"{first.pairs} pairs): points measured (±2 s.e.), lines predicted\n"
        f"dotted: c*; ▽ measured, △ predicted: within {first.tolerance:g} of c* from there on",
        fontsize=9,
    )
    ax_c.set_xlabel("layer")
    ax_c.set_ylabel("cosine similarity of pre-activations")
    ax_c.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax_q.set_title("length q = mean square of a pre-activation", fontsize=9)
    ax_q.set_xlabel("layer")
    ax_q.set_ylabel("q")
    return fig


_LOG_FLOOR = math.log10(RESOLUTION)


def _hist(ax: Axes, study: SpectrumStudy, weights: str, high: float) -> None:
    rows = [r for r in study.rows if r.weights == weights]
    for i, r in enumerate(rows):
        s = np.array(r.singular_values)
        logs = np.log10(s[s > RESOLUTION * s.max()])
        label = f"L = {r.depth}"
        if r.unresolved > 0:
            label += f" ({r.unresolved:.0%} below 1e-10·σmax)"
        bins = np.linspace(_LOG_FLOOR, high, 91).tolist()
        ax.hist(logs, bins=bins, density=True, histtype="step", lw=1.4, color=f"C{i}", label=label)
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_xlim(_LOG_FLOOR, high)
    ax.set_xlabel("log₁₀ σ (singular values of J)")
    ax.set_title(f"{study.activation}, {weights} weights", fontsize=9)
    ax.set_yticks([])
    ax.legend(fontsize=7)


def spectrum_figure(studies: SpectrumStudy | Sequence[SpectrumStudy]) -> Figure:
    """One row per study (activation): the histogram of log σ at each depth for
    orthogonal and for Gaussian weights; the spread (std of log σ) against depth; and
    var σ² / mean² against depth, measured (points) beside the free-probability
    prediction ``L (μ₂/μ₁² − 1 + s)`` (lines)."""
    items = [studies] if isinstance(studies, SpectrumStudy) else list(studies)
    if not items:
        raise fail("spectrum_figure", "studies", "at least one SpectrumStudy", studies)
    fig = Figure(figsize=(16, 3.6 * len(items) + 0.4), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(items), 4, squeeze=False))
    # One log σ range for every histogram: a narrow spectrum must look narrow.
    top = max(max(r.singular_values) for st in items for r in st.rows)
    high = math.ceil(math.log10(top) * 2) / 2 + 0.5 if top > 0 else 1.0
    for row, study in zip(axes, items, strict=True):
        kinds = list(dict.fromkeys(r.weights for r in study.rows))
        for ax, kind in zip(row[:2], ("orthogonal", "gaussian"), strict=True):
            if kind in kinds:
                _hist(ax, study, kind, high)
            else:
                ax.set_visible(False)
        ax_std, ax_var = row[2], row[3]
        for kind, marker in (("orthogonal", "o-"), ("gaussian", "s--")):
            rows = [r for r in study.rows if r.weights == kind]
            if not rows:
                continue
            depths = [r.depth for r in rows]
            (line,) = ax_std.plot(depths, [r.std_log for r in rows], marker, label=kind)
            for r in rows:  # a lower bound where some singular values were not resolved
                if r.unresolved > 0:
                    ax_std.plot(r.depth, r.std_log, marker[0], mfc="white", color=line.get_color())
            normalized = [r.var_sq / r.mean_sq**2 if r.mean_sq > 0 else np.nan for r in rows]
            predicted = [
                r.predicted_var_sq / r.predicted_mean_sq**2 if r.predicted_mean_sq > 0 else np.nan
                for r in rows
            ]
            (line,) = ax_var.plot(depths, predicted, "-", label=f"{kind}: free probability")
            ax_var.plot(
                depths, normalized, marker[0], color=line.get_color(), label=f"{kind}: measured"
            )
        ax_std.set_xscale("log", base=2)
        ax_std.set_xlabel("depth L")
        ax_std.set_ylabel("std of ln σ (open: lower bound)")
        ax_std.set_title(
            f"σ_w² = {study.sigma_w2:.4g}, σ_b² = {study.sigma_b2:g}, χ₁ = {study.chi1:.3f}: "
            "spread against depth",
            fontsize=9,
        )
        ax_std.legend(fontsize=7)
        ax_var.set_xscale("log", base=2)
        ax_var.set_yscale("log")
        ax_var.set_xlabel("depth L")
        ax_var.set_ylabel("var σ² / (mean σ²)²")
        ax_var.set_title("moments of σ²: measured beside predicted", fontsize=9)
        ax_var.legend(fontsize=7)
    first = items[0]
    fig.suptitle(
        f"Input–output Jacobian at initialization: width {first.width}, "
        f"{first.inputs} inputs at the fixed point q*",
        fontsize=11,
    )
    return fig
