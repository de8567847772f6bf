"""2-D toy sets: two-class ``circle``, ``xor``, ``gauss``, ``spiral`` and ``moons``, and the
regression sets ``plane`` and ``multigauss``.

All but ``moons`` follow TensorFlow Playground's generators (``dataset.ts``): points in
about ``[-6, 6]²`` and a ``noise`` in ``[0, 0.5]`` for its 0–50 % slider.  ``moons`` is
scikit-learn's ``make_moons`` shape moved into the same square.  Class labels are
``{0, 1}`` with 1 the Playground's positive class; the classes are balanced (``n // 2`` of
class 1).  Regression targets are floats in about ``[-1, 1]``, the Playground's range.

=======  =================================================================================
name     points (``r = 5``) and how ``noise`` enters
=======  =================================================================================
circle   class 1 at radius ``U(0, r/2)``, class 0 at ``U(0.7r, r)``; the label is read at
         the point shifted by ``U(−r, r)² · noise``, so noise flips labels near the border
xor      ``U(−5, 5)²`` pushed 0.3 away from the axes; label ``x₁x₂ ≥ 0`` read at the
         point shifted by ``U(−5, 5)² · noise``
gauss    ``N((2, 2), v·I)`` (class 1) and ``N((−2, −2), v·I)``, ``v = 0.5 + 7·noise``
spiral   two arms ``r = 5i/m``, ``θ = 3.5πi/m (+π)``, plus ``U(−1, 1)² · noise``
moons    upper moon (class 0) and lower moon (class 1) of radius 1, plus
         ``N(0, noise²)`` per coordinate, then shifted and scaled by 2.5
plane    ``U(−6, 6)²``; target ``(x₁ + x₂)/10`` read at the point shifted by
         ``U(−6, 6)² · noise``
multi-   ``U(−6, 6)²``; six bumps at ``(±4 or 0, ±2.5)`` with alternating signs ``s``:
gauss    target ``s·max(0, 1 − d/2)`` of the bump whose value is largest in magnitude
         (``d`` the distance to its centre), read at the shifted point as for ``plane``
=======  =================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import Interval
from weightlab.data.base import Arrays, register

__all__ = ["CLASSIFICATION_KINDS", "REGRESSION_KINDS", "TOY_KINDS", "toy2d"]

Array = npt.NDArray[Any]
Shape = Callable[[np.random.Generator, int, float], tuple[Array, Array]]

_RADIUS = 5.0
_TABLE = {
    "n_samples": Interval(2, math.inf, "left", integer=True),
    "noise": Interval(0.0, math.inf, "left"),
}


def _ring(rng: np.random.Generator, count: int, low: float, high: float) -> Array:
    r = rng.uniform(low, high, count)
    angle = rng.uniform(0.0, 2 * math.pi, count)
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    inner = n // 2
    points = np.concatenate(
        [_ring(rng, inner, 0.0, _RADIUS / 2), _ring(rng, n - inner, 0.7 * _RADIUS, _RADIUS)]
    )
    shifted = points + rng.uniform(-_RADIUS, _RADIUS, points.shape) * noise
    return points, np.linalg.norm(shifted, axis=1) < _RADIUS / 2


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    shifted = points + rng.uniform(-5.0, 5.0, points.shape) * noise
    return points, shifted[:, 0] * shifted[:, 1] >= 0


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    std = math.sqrt(0.5 + 7.0 * noise)
    pos = n // 2
    centers = np.where(np.arange(n)[:, None] < pos, 2.0, -2.0)
    return centers + std * rng.standard_normal((n, 2)), np.arange(n) < pos


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    pos = n // 2
    arms = []
    for count, delta in ((pos, 0.0), (n - pos, math.pi)):
        i = np.arange(count) / max(count, 1)
        r, theta = 5.0 * i, 1.75 * 2 * math.pi * i + delta
        arm = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
        arms.append(arm + rng.uniform(-1.0, 1.0, arm.shape) * noise)
    return np.concatenate(arms), np.arange(n) < pos


def _moons(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    upper = n - n // 2
    t = rng.uniform(0.0, math.pi, n)
    lower = np.arange(n) >= upper
    x = np.where(lower, 1.0 - np.cos(t), np.cos(t))
    y = np.where(lower, 0.5 - np.sin(t), np.sin(t))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return 2.5 * (points - [0.5, 0.25]), lower


_REGRESSION_RADIUS = 6.0
# The Playground's six bumps: centre and sign.
_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0), (-4.0, -2.5, -1.0),
          (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))  # fmt: skip


def _regression_points(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """Uniform points of the square and the points their targets are read at."""
    r = _REGRESSION_RADIUS
    points = rng.uniform(-r, r, (n, 2))
    return points, points + rng.uniform(-r, r, (n, 2)) * noise


def _plane(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    points, read = _regression_points(rng, n, noise)
    return points, (read[:, 0] + read[:, 1]) / 10.0


def _multigauss(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    points, read = _regression_points(rng, n, noise)
    target = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        distance = np.hypot(read[:, 0] - cx, read[:, 1] - cy)
        value = sign * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
        target = np.where(np.abs(value) > np.abs(target), value, target)
    return points, target


_SHAPES: dict[str, Shape] = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "plane": _plane,
    "multigauss": _multigauss,
}
REGRESSION_KINDS: tuple[str, ...] = ("plane", "multigauss")
CLASSIFICATION_KINDS: tuple[str, ...] = tuple(k for k in _SHAPES if k not in REGRESSION_KINDS)
TOY_KINDS: tuple[str, ...] = tuple(_SHAPES)


def toy2d(kind: str, n_samples: int, noise: float, rng: np.random.Generator) -> Arrays:
    """Draw ``n_samples`` points of toy set ``kind`` (one of :data:`TOY_KINDS`): class
    labels for the classification kinds, float targets for :data:`REGRESSION_KINDS`.

    Example:
        >>> toy2d("xor", 10, 0.0, np.random.default_rng(0)).x.shape
        (10, 2)
        >>> toy2d("plane", 3, 0.0, np.random.default_rng(0)).task
        'regression'
    """
    points, labels = _SHAPES[kind](rng, n_samples, noise)
    info = {
        "feature_names": ["x1", "x2"],
        "source": "TensorFlow Playground (dataset.ts)"
        if kind != "moons"
        else "scikit-learn make_moons shape",
    }
    if kind in REGRESSION_KINDS:
        return Arrays(points, labels.astype(np.float64), "regression", None, info)
    return Arrays(points, labels.astype(np.int64), "classification", 2, info)


def _preset(kind: str) -> Callable[..., Arrays]:
    def build(rng: np.random.Generator, n_samples: int = 400, noise: float = 0.1) -> Arrays:
        return toy2d(kind, n_samples, noise, rng)

    task = "regression" if kind in REGRESSION_KINDS else "two-class"
    build.__doc__ = f"2-D {task} toy set {kind!r} (see weightlab.data.toy2d)."
    return build


for _kind in TOY_KINDS:
    register(_kind, _TABLE, val_fraction=0.5)(_preset(_kind))
