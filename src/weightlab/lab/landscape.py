"""The landscape section's numbers: a 2-D loss ``J``, the penalized loss ``J + λP`` on a
grid, the regularized optimum and its path as λ grows, the penalty's level set through
it, and a gradient-descent trajectory, all from :mod:`weightlab.landscape`.

Example:
    >>> from weightlab.lab.schemas import LandscapeQuery
    >>> out = surface(LandscapeQuery(function="quadratic", penalty="l1", lam=0.5, grid=20))
    >>> out["optimum"][1], len(out["total"]), out["scale"]
    (0.0, 20, 'linear')
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab.lab.schemas import LandscapeQuery
from weightlab.landscape import (
    OBJECTIVES,
    Objective,
    gd_trajectory,
    objective,
    penalized,
    regularized_path,
)

__all__ = ["defaults", "surface"]

Array = npt.NDArray[Any]
PATH_POINTS = 25


@functools.cache
def _objective(name: str) -> Objective:
    return objective(name)


def lam_max(obj: Objective) -> float:
    """The λ slider's end: three times the default, and for quadratic losses far enough
    that the L1 optimum reaches the origin."""
    end = 3 * obj.lam
    if obj.quadratic is not None:
        end = max(end, 1.05 * float(np.abs(obj.quadratic[1]).max()))
    return float(f"{end:.3g}")


def defaults() -> dict[str, dict[str, Any]]:
    """Each objective's formula, window and defaults, for the page's controls."""
    out = {}
    for name in OBJECTIVES:
        obj = _objective(name)
        out[name] = {
            "formula": obj.formula,
            "window": list(obj.window),
            "lam": obj.lam,
            "lam_max": lam_max(obj),
            "lr": obj.lr,
            "start": list(obj.start),
        }
    return out


@functools.lru_cache(maxsize=256)
def _path(name: str, penalty: str, lam: float) -> tuple[Array, Array]:
    """λ values from 0 to the slider's end (with ``lam``) and the optimum at each; cached,
    since the non-quadratic solvers take a moment."""
    obj = _objective(name)
    lams = np.unique(np.append(np.linspace(0.0, max(lam_max(obj), lam), PATH_POINTS), lam))
    return lams, regularized_path(obj, penalty, lams)


def _level_set(penalty: str, w: Array) -> dict[str, list[float]] | None:
    """The penalty's level set through ``w``: a diamond for L1, a circle for L2."""
    if penalty == "l1":
        r = float(np.abs(w).sum())
        t = np.arange(5) * np.pi / 2
    elif penalty == "l2":
        r = float(np.hypot(*w))
        t = np.linspace(0.0, 2 * np.pi, 73)
    else:
        return None
    if r == 0:
        return None
    return {"w1": (r * np.cos(t)).round(12).tolist(), "w2": (r * np.sin(t)).round(12).tolist()}


def _round(values: Array) -> list[Any]:
    """Five significant digits: what a contour plot can show, at a third of the bytes."""
    return [[float(f"{v:.5g}") for v in row] for row in values.tolist()]


def surface(q: LandscapeQuery) -> dict[str, Any]:
    """Everything the landscape plot draws for one query."""
    obj = _objective(q.function)
    lam = obj.lam if q.lam is None else q.lam
    x0, x1, y0, y1 = obj.window
    w1, w2 = np.linspace(x0, x1, q.grid), np.linspace(y0, y1, q.grid)
    W1, W2 = np.meshgrid(w1, w2)
    loss = np.asarray(obj(W1, W2), dtype=float)
    total = np.asarray(penalized(obj, q.penalty, lam)(W1, W2), dtype=float)
    if q.penalty == "none":
        optimum = np.array(obj.minima[0], dtype=float)
        path = None
    else:
        lams, ws = _path(q.function, q.penalty, lam)
        optimum = ws[int(np.searchsorted(lams, lam))]
        path = {"lam": lams.tolist(), "w": ws.tolist()}
    start = obj.start if q.start is None else tuple(q.start)
    lr = obj.lr if q.lr is None else q.lr
    traj = gd_trajectory(obj, q.penalty, lam, start, lr, q.steps, q.rule)
    shown, low = _scale(obj, total)
    level = float(obj(*optimum))
    return {
        "function": q.function,
        "formula": obj.formula,
        "penalty": q.penalty,
        "lam": lam,
        "lam_max": lam_max(obj),
        "window": list(obj.window),
        "scale": "log" if obj.log_levels else "linear",
        "w1": w1.tolist(),
        "w2": w2.tolist(),
        "total": _round(shown(total)),
        "loss": _round(shown(loss)),
        "loss_level": float(shown(np.array(level))) if q.penalty != "none" else None,
        "minima": [list(m) for m in obj.minima],
        "optimum": optimum.tolist(),
        "optimum_loss": level,
        "path": path,
        "level_set": _level_set(q.penalty, optimum),
        "trajectory": {"start": list(start), "lr": lr, "w": traj.tolist()},
        "lowest": low,
    }


def _scale(obj: Objective, total: Array) -> tuple[Any, float]:
    """The transform that makes contours readable: ``log10(1 + z − min)`` for functions
    with a huge range (Rosenbrock, Beale, Himmelblau), the identity otherwise."""
    low = float(total.min())
    if not obj.log_levels:
        return (lambda z: z), low
    return (lambda z: np.log10(1.0 + np.maximum(z - low, 0.0))), low
