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

import base64
import dataclasses
import functools
import threading
from dataclasses import dataclass
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

__all__ = ["defaults", "surface", "warm_up"]

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


_SOLVING = threading.Lock()


def _path(name: str, penalty: str) -> tuple[Array, Array]:
    """The λ values of the path (0 to the slider's end) and the optimum at each: solved
    once per function and penalty, by one thread while concurrent requests wait."""
    with _SOLVING:
        return _solved_path(name, penalty)


@functools.cache
def _solved_path(name: str, penalty: str) -> tuple[Array, Array]:
    obj = _objective(name)
    lams = np.linspace(0.0, lam_max(obj), PATH_POINTS)
    return lams, regularized_path(obj, penalty, lams)


@functools.lru_cache(maxsize=1024)
def _optimum(name: str, penalty: str, lam: float) -> Array:
    """The optimum at ``lam``, from the path's optimum at the nearest smaller λ (the
    path's warm start, so it stays on the path's branch)."""
    lams, ws = _path(name, penalty)
    exact = np.flatnonzero(lams == lam)
    if exact.size:
        return np.asarray(ws[exact[0]])
    below = max(int(np.searchsorted(lams, lam)) - 1, 0)
    start = dataclasses.replace(_objective(name), minima=(tuple(ws[below]),))
    return np.asarray(regularized_path(start, penalty, [lam])[0])


@dataclass(frozen=True)
class _Grid:
    """``J`` and the unit penalty ``P`` on a grid: ``J + λP`` for any λ is one sum."""

    w1: list[float]
    w2: list[float]
    loss: Array
    unit_penalty: Array | None


@functools.lru_cache(maxsize=64)
def _grid(name: str, penalty: str, points: int) -> _Grid:
    """The grid of one function and penalty, computed once (the λ slider only scales
    the penalty)."""
    obj = _objective(name)
    x0, x1, y0, y1 = obj.window
    w1, w2 = np.linspace(x0, x1, points), np.linspace(y0, y1, points)
    W1, W2 = np.meshgrid(w1, w2)
    loss = np.asarray(obj(W1, W2), dtype=float)
    unit = None
    if penalty != "none":
        unit = np.asarray(penalized(obj, penalty, 1.0)(W1, W2), dtype=float) - loss
    return _Grid(w1.tolist(), w2.tolist(), loss, unit)


@functools.lru_cache(maxsize=64)
def _shown_loss(name: str, penalty: str, points: int, lam: float, encoding: str) -> Any:
    grid = _grid(name, penalty, points)
    shown, _ = _scale(_objective(name), _total(grid, lam))
    return _encode(shown(grid.loss), encoding)


def _encode(values: Array, encoding: str) -> Any:
    """A grid as JSON lists (:func:`_round`) or as base64 of little-endian float32."""
    if encoding == "json":
        return _round(values)
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def _total(grid: _Grid, lam: float) -> Array:
    return grid.loss if grid.unit_penalty is None else grid.loss + lam * grid.unit_penalty


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


def _round(values: Array, digits: int = 5) -> list[Any]:
    """Five significant digits: what a contour plot can show, at a third of the bytes
    (vectorized: powers of ten are exact, so each value is the double nearest its
    rounded decimal)."""
    a = np.asarray(values, dtype=float)
    finite = np.isfinite(a) & (a != 0)
    exponent = np.zeros(a.shape)
    np.floor(np.log10(np.abs(a), where=finite, out=np.zeros(a.shape)), where=finite, out=exponent)
    shift = (digits - 1 - exponent).astype(int)
    up = np.where(shift >= 0, 10.0 ** np.clip(shift, 0, 300), 1.0)
    down = np.where(shift < 0, 10.0 ** np.clip(-shift, 0, 300), 1.0)
    rounded = np.where(finite, np.round(a * up / down) * down / up, a)
    out: list[Any] = rounded.tolist()
    if not np.isfinite(a).all():  # JSON has no inf or NaN: a gap in the contours
        out = [[v if np.isfinite(v) else None for v in row] for row in out]
    return out


def surface(q: LandscapeQuery) -> dict[str, Any]:
    """Everything the landscape plot draws for one query: ``J`` and ``P`` come from the
    grid cached per function and penalty, the path from the path cached per function and
    penalty, so a new λ costs one sum over the grid and one warm-started solve."""
    obj = _objective(q.function)
    lam = obj.lam if q.lam is None else q.lam
    grid = _grid(q.function, q.penalty, q.grid)
    total = _total(grid, lam)
    if q.penalty == "none":
        optimum = np.array(obj.minima[0], dtype=float)
        path = None
    else:
        lams, ws = _path(q.function, q.penalty)
        optimum = _optimum(q.function, q.penalty, float(lam))
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
        "w1": grid.w1,
        "w2": grid.w2,
        "total": _encode(shown(total), q.encoding),
        "loss": _shown_loss(
            q.function, q.penalty, q.grid, float(lam) if obj.log_levels else 0.0, q.encoding
        ),
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


def warm_up() -> None:
    """Solve every function's path for each penalty (a second or so each for the
    non-quadratic ones), so that no request waits for one."""
    for name in OBJECTIVES:
        for penalty in ("l1", "l2"):
            _path(name, penalty)
