"""Seed 000's missing figure: a two-parameter loss landscape with an L1 and an L2 penalty.

Filled contours of ``J``, ``J + λ‖w‖₁`` and ``J + λ‖w‖₂²`` side by side, with the
penalty's level set through the regularized optimum (a diamond or a circle), the
optimum's path as λ grows and a gradient-descent trajectory.  The maths (objectives,
penalties, paths, descent) is :mod:`weightlab.landscape`; this module only draws it.

Example:
    >>> fig = landscape_figure("quadratic", penalty="l1", grid=20, steps=5)
    >>> [ax.get_title() for ax in fig.axes]
    ['J(w) + λ‖w‖₁']

Tibshirani 1996 (the lasso, whose Fig. 2 is this picture); Hoerl & Kennard 1970 (ridge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure

from weightlab._validate import OPTIONAL, POSITIVE, STRENGTH, Instance, Interval, OneOf, check
from weightlab.landscape import (
    PAIR,
    PENALTIES,
    Objective,
    gd_trajectory,
    penalized,
    penalty_value,
    regularized_path,
    resolve_objective,
)
from weightlab.regularize import L1_RULES

__all__ = ["landscape_figure"]

Array = npt.NDArray[Any]

_SYMBOL = {"none": "", "l1": " + λ‖w‖₁", "l2": " + λ‖w‖₂²"}
_FLAG = Instance((bool,), "a bool")
_TABLE: dict[str, Any] = {
    "penalty": OneOf(("both", *PENALTIES)),
    "lam": (STRENGTH, OPTIONAL),
    "paths": _FLAG,
    "trajectories": _FLAG,
    "start": (PAIR, OPTIONAL),
    "rule": OneOf(L1_RULES),
    "lr": (POSITIVE, OPTIONAL),
    "steps": Interval(1, math.inf, "left", integer=True),
    "grid": Interval(10, 2000, integer=True),
}


def _path_lams(obj: Objective, lam: float) -> Array:
    """0 to beyond ``lam`` — for quadratics, far enough for L1 to reach the origin."""
    end = 3 * lam
    if obj.quadratic is not None:
        end = max(end, 1.05 * float(np.abs(obj.quadratic[1]).max()))
    return np.unique(np.append(np.linspace(0.0, end, 25), lam))


def _levels(z: Array, log: bool) -> Array:
    low, high = float(z.min()), float(z.max())
    span = max(high - low, 1e-12)
    if log:
        return low + np.concatenate([[0.0], np.geomspace(span * 1e-6, span, 28)])
    return np.linspace(low, high, 25)


def _level_set(ax: Axes, penalty: str, radius: float) -> None:
    """The penalty's level set through the regularized optimum: a diamond or a circle."""
    if penalty == "l1":
        t = np.array([0.0, 1.0, 2.0, 3.0, 4.0]) * np.pi / 2
        x, y = radius * np.cos(t).round(15), radius * np.sin(t).round(15)
        label = "penalty level set through the optimum (L1: diamond, L2: circle)"
    else:
        t = np.linspace(0.0, 2 * np.pi, 200)
        x, y = radius * np.cos(t), radius * np.sin(t)
        label = "penalty level set through the optimum (L1: diamond, L2: circle)"
    ax.fill(x, y, color="white", alpha=0.25, zorder=2)
    ax.plot(x, y, color="black", linewidth=1.4, label=label, gid=f"level_set_{penalty}", zorder=3)


def _panel(
    ax: Axes, obj: Objective, penalty: str, lam: float, opts: Mapping[str, Any], grid: int
) -> None:
    x0, x1, y0, y1 = obj.window
    W1, W2 = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    Z = np.asarray(penalized(obj, penalty, lam)(W1, W2), dtype=float)
    levels = _levels(Z, obj.log_levels)
    norm = BoundaryNorm(levels, ncolors=256)
    ax.contourf(W1, W2, Z, levels=levels, cmap="YlGnBu_r", norm=norm, zorder=0)
    ax.contour(W1, W2, Z, levels=levels, colors="k", linewidths=0.3, alpha=0.4, zorder=1)
    minima = np.array(obj.minima)
    ax.plot(
        *minima.T,
        linestyle="none",
        marker="*",
        markersize=13,
        color="white",
        markeredgecolor="black",
        label="minimum of J",
        gid="minimum",
        zorder=6,
    )
    if penalty != "none":
        lams = _path_lams(obj, lam)
        path = regularized_path(obj, penalty, lams)
        best = path[int(np.searchsorted(lams, lam))]
        radius = float(penalty_value(penalty, *best)) ** (0.5 if penalty == "l2" else 1.0)
        if radius > 0:
            _level_set(ax, penalty, radius)
            ax.contour(
                W1,
                W2,
                obj.value(W1, W2),
                levels=[float(obj(*best))],
                colors="k",
                linestyles="--",
                linewidths=1.0,
                zorder=3,
            )
            # A contour set has no legend entry of its own: an empty line stands in for it.
            ax.plot(
                [], [], color="k", linestyle="--", linewidth=1.0, label="level set of J touching it"
            )
        if opts["paths"]:
            ax.plot(
                *path.T,
                color="C3",
                marker="o",
                markersize=3,
                linewidth=1.5,
                label=f"optimum as λ grows (0 → {lams[-1]:.3g})",
                gid="path",
                zorder=4,
            )
        ax.plot(
            *best,
            linestyle="none",
            marker="*",
            markersize=15,
            color="C3",
            markeredgecolor="black",
            label=f"optimum at λ = {lam:g}",
            gid="regularized_minimum",
            zorder=7,
        )
    if opts["trajectories"]:
        traj = gd_trajectory(
            obj, penalty, lam, opts["start"], opts["lr"], opts["steps"], opts["rule"]
        )
        ax.plot(
            *traj.T,
            color="C1",
            marker=".",
            markersize=3,
            linewidth=1.0,
            label=f"gradient descent (α = {opts['lr']:g}, {len(traj) - 1} steps)",
            gid="trajectory",
            zorder=5,
        )
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="w₁", ylabel="w₂", aspect="equal")
    ax.axhline(0.0, color="gray", linewidth=0.6, zorder=1)
    ax.axvline(0.0, color="gray", linewidth=0.6, zorder=1)
    ax.set_title(f"J(w){_SYMBOL[penalty]}", fontsize=11)


def landscape_figure(
    function: str | Objective = "quadratic",
    penalty: str = "both",
    lam: float | None = None,
    paths: bool = True,
    trajectories: bool = True,
    start: Sequence[float] | None = None,
    *,
    rule: str = "proximal",
    lr: float | None = None,
    steps: int = 200,
    grid: int = 200,
    **params: Any,
) -> Figure:
    """Seed 000's figure: filled contours of ``J``, ``J + λ‖w‖₁`` and ``J + λ‖w‖₂²``.

    One panel per penalty (``penalty="both"``: J alone, L1, L2; otherwise the one named).
    Each penalized panel draws the penalty's level set through the regularized optimum
    (a diamond for L1, a circle for L2) with the level set of ``J`` that touches it
    (dashed), the optimum's path as λ grows (:func:`regularized_path`), the unregularized
    and regularized minima (stars) and a gradient-descent trajectory
    (:func:`gd_trajectory`).  Contour levels are log-spaced for functions with a huge
    range (Rosenbrock, Beale, Himmelblau, Booth).

    Args:
        function: a name in :data:`OBJECTIVES` or an :class:`Objective`.
        penalty: ``"both"``, ``"l1"``, ``"l2"`` or ``"none"``.
        lam: λ ≥ 0; ``None`` takes the objective's default (e.g. 0.3 for ``quadratic``).
        paths, trajectories: draw the regularization path, the GD trajectory.
        start, lr, steps, rule: the GD trajectory (``None``: the objective's defaults).
        grid: contour resolution, points per axis.
        params: parameters of the named objective (see :func:`objective_params`).

    Example:
        >>> fig = landscape_figure("quadratic", grid=20, steps=5)
        >>> len(fig.axes)
        3
    """
    values = {
        "penalty": penalty,
        "lam": lam,
        "paths": paths,
        "trajectories": trajectories,
        "start": start,
        "rule": rule,
        "lr": lr,
        "steps": steps,
        "grid": grid,
    }
    check("landscape_figure", values, _TABLE)
    obj = resolve_objective("landscape_figure", function, params)
    lam = obj.lam if lam is None else float(lam)
    opts = {
        "paths": paths,
        "trajectories": trajectories,
        "rule": rule,
        "steps": steps,
        "start": obj.start if start is None else start,
        "lr": obj.lr if lr is None else lr,
    }
    panels = list(PENALTIES) if penalty == "both" else [penalty]
    # Tall enough that the square panels, not the height, limit the layout: constrained
    # layout otherwise lets the panel titles run into the suptitle.
    size = (4.6 * len(panels), 5.4) if len(panels) > 1 else (5.4, 7.0)
    fig = Figure(figsize=size, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)[0])
    for ax, pen in zip(axes, panels, strict=True):
        _panel(ax, obj, pen, lam, opts, grid)
    legend: dict[str, Any] = {}
    for ax in axes:
        legend.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    labels, handles = list(legend), list(legend.values())
    l1_rule = f"; L1 rule: {rule}" if "l1" in panels else ""
    fig.suptitle(f"{obj.name}: J = {obj.formula};  λ = {lam:g}{l1_rule}", fontsize=11)
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=3 if len(panels) > 1 else 1,
        fontsize=8,
        frameon=False,
    )
    return fig
