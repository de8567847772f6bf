"""Seed 000's missing figure: a two-parameter loss landscape with an L1 and an L2 penalty.

The penalties follow seed 000: ``J_L1(w) = J(w) + λ(|w₁| + |w₂|)`` (diamond level sets)
and ``J_L2(w) = J(w) + λ(w₁² + w₂²)`` — the ``"sum_sq"`` convention of
:mod:`weightlab.regularize.penalties`, gradient ``2λw``, no ½.  The L1 optimum sits where a
level set of ``J`` touches a diamond, often at a corner on an axis: one weight exactly 0.
The L2 optimum sits where it touches a circle, which has no corners: weights shrink
toward the origin but stay non-zero.

Objectives ``J(w₁, w₂)`` come from a registry (:data:`OBJECTIVES`, built by
:func:`objective`): a rotated quadratic bowl, the classic test functions and ``model``, a
two-weight least-squares regression on generated data.

Example:
    >>> J = objective("quadratic")
    >>> w_l1, w_l2 = regularized_path(J, "l1", [0.5])[0], regularized_path(J, "l2", [0.5])[0]
    >>> float(w_l1[1]), bool(w_l2[1] > 0)
    (0.0, True)

Tibshirani 1996 (the lasso, whose Fig. 2 is this picture); Hoerl & Kennard 1970 (ridge).
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import torch
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure

from weightlab._validate import (
    OPTIONAL,
    POSITIVE,
    STRENGTH,
    Described,
    Instance,
    Interval,
    OneOf,
    Satisfies,
    check,
    fail,
    is_real,
)
from weightlab.regularize.updates import L1_RULES, L1Rule, l1_step

__all__ = [
    "OBJECTIVES",
    "PENALTIES",
    "Objective",
    "gd_trajectory",
    "landscape_figure",
    "objective",
    "objective_params",
    "penalized",
    "regularized_path",
]

Array = npt.NDArray[Any]
Surface = Callable[[Any, Any], Any]

PENALTIES: tuple[str, ...] = ("none", "l1", "l2")
_SYMBOL = {"none": "", "l1": " + λ‖w‖₁", "l2": " + λ‖w‖₂²"}


@dataclass(frozen=True, eq=False)
class Objective:
    """A loss ``J(w₁, w₂)``, vectorized over numpy arrays, and how to draw it.

    ``quadratic = (H, g)`` when ``J = ½wᵀHw − gᵀw + const`` (exact solvers are used then);
    ``minima`` are the unregularized minimizers (the first starts regularized paths);
    ``lam``, ``lr`` and ``start`` are defaults that make a readable figure; ``data``
    holds ``(x [n, 2], y [n])`` for ``model``.
    """

    name: str
    formula: str
    value: Surface
    window: tuple[float, float, float, float]  # w1 low, w1 high, w2 low, w2 high
    minima: tuple[tuple[float, float], ...]
    lam: float
    lr: float
    start: tuple[float, float]
    log_levels: bool = False
    quadratic: tuple[Array, Array] | None = None
    data: tuple[Array, Array] | None = None

    def __call__(self, w1: Any, w2: Any) -> Any:
        return self.value(w1, w2)


# --- registry --------------------------------------------------------------------------------


def _pair(value: object) -> bool:
    return (
        isinstance(value, (tuple, list, np.ndarray))
        and len(value) == 2
        and all(is_real(v) or isinstance(v, np.floating) for v in value)
        and all(math.isfinite(float(v)) for v in value)
    )


PAIR = Satisfies(_pair, "a pair of finite floats (w1, w2)")
_BUILDERS: dict[str, tuple[Callable[..., Objective], Mapping[str, Any]]] = {}


def _register(
    name: str, table: Mapping[str, Any]
) -> Callable[[Callable[..., Objective]], Callable[..., Objective]]:
    def decorate(build: Callable[..., Objective]) -> Callable[..., Objective]:
        _BUILDERS[name] = (build, table)
        return build

    return decorate


def _quadratic_form(
    name: str, formula: str, H: Array, g: Array, const: float, **extra: Any
) -> Objective:
    """``J = ½wᵀHw − gᵀw + const``, drawn around its minimum and the origin."""

    def value(w1: Any, w2: Any) -> Any:
        quad = H[0, 0] * w1 * w1 + 2 * H[0, 1] * w1 * w2 + H[1, 1] * w2 * w2
        return 0.5 * quad - g[0] * w1 - g[1] * w2 + const

    low, high = np.linalg.eigvalsh(H)[[0, -1]]
    w_min = np.linalg.solve(H, g)
    defaults: dict[str, Any] = {
        "window": _window_around(w_min),
        "lam": _round(0.5 * float(np.abs(g).max())),
        "lr": _round(0.5 / float(high)),
        "log_levels": high / max(low, 1e-300) > 50,
    }
    defaults.update(extra)
    window = defaults["window"]
    start = (window[0] + 0.1 * (window[1] - window[0]), window[3] - 0.1 * (window[3] - window[2]))
    defaults.setdefault("start", start)
    defaults.setdefault("minima", ((float(w_min[0]), float(w_min[1])),))
    return Objective(name, formula, value, quadratic=(H, g), **defaults)


def _round(x: float) -> float:
    """Two significant digits, for defaults that read well in a title."""
    return float(f"{x:.2g}")


def _window_around(point: Array) -> tuple[float, float, float, float]:
    """A square window holding ``point`` and the origin with a margin."""
    low = np.minimum(point, 0.0) - 0.6 * max(1.0, float(np.abs(point).max()))
    high = np.maximum(point, 0.0) + 0.6 * max(1.0, float(np.abs(point).max()))
    half = float((high - low).max()) / 2
    mid = (low + high) / 2
    return (mid[0] - half, mid[0] + half, mid[1] - half, mid[1] + half)


@_register(
    "quadratic",
    {"center": PAIR, "condition": Interval(1.0, math.inf, "left"), "angle": Interval()},
)
def _quadratic(
    center: Sequence[float] = (1.5, 0.5), condition: float = 4.0, angle: float = -60.0
) -> Objective:
    """An elongated, rotated bowl ``½(w − c)ᵀH(w − c)``: curvatures 1 and 1/condition, the
    long axis turned ``angle`` degrees from w₁."""
    t = math.radians(angle)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    H = rot @ np.diag([1.0 / condition, 1.0]) @ rot.T
    c = np.array(center, dtype=float)
    formula = f"½(w − c)ᵀH(w − c), c = ({c[0]:g}, {c[1]:g}), κ = {condition:g}, θ = {angle:g}°"
    const = 0.5 * float(c @ H @ c)
    minima = ((float(c[0]), float(c[1])),)
    return _quadratic_form("quadratic", formula, H, H @ c, const, lam=0.5, minima=minima)


@_register("booth", {})
def _booth() -> Objective:
    """Booth: ``(w₁ + 2w₂ − 7)² + (2w₁ + w₂ − 5)²``, minimum 0 at (1, 3)."""
    A, b = np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([7.0, 5.0])
    formula = "(w₁ + 2w₂ − 7)² + (2w₁ + w₂ − 5)²"
    window = (-6.0, 6.0, -6.0, 6.0)
    return _quadratic_form(
        "booth", formula, 2 * A.T @ A, 2 * A.T @ b, float(b @ b), window=window, lam=12.0
    )


@_register("matyas", {})
def _matyas() -> Objective:
    """Matyas: ``0.26(w₁² + w₂²) − 0.48w₁w₂``, minimum 0 at the origin (penalties leave
    it where it is)."""
    H = np.array([[0.52, -0.48], [-0.48, 0.52]])
    formula = "0.26(w₁² + w₂²) − 0.48w₁w₂"
    window = (-10.0, 10.0, -10.0, 10.0)
    return _quadratic_form("matyas", formula, H, np.zeros(2), 0.0, window=window, lam=0.5)


@_register(
    "model",
    {
        "n_samples": Interval(2, math.inf, "left", integer=True),
        "rho": Interval(-1.0, 1.0, "neither"),
        "coef": PAIR,
        "noise": STRENGTH,
        "seed": Interval(0, math.inf, "left", integer=True),
    },
)
def _model(
    n_samples: int = 50,
    rho: float = 0.7,
    coef: Sequence[float] = (1.5, 0.5),
    noise: float = 0.5,
    seed: int = 0,
) -> Objective:
    """Least squares ``J = 1/(2n)‖y − w₁x₁ − w₂x₂‖²`` of a real fit: ``x ~ N(0, 1)`` with
    correlation ``rho``, ``y = x·coef + noise·ε`` (scikit-learn's Lasso objective)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_samples, 3))
    x = np.column_stack([z[:, 0], rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]])
    y = x @ np.asarray(coef, dtype=float) + noise * z[:, 2]
    n = float(n_samples)
    formula = "1/(2n)‖y − w₁x₁ − w₂x₂‖²"
    return _quadratic_form(
        "model", formula, x.T @ x / n, x.T @ y / n, float(y @ y) / (2 * n), data=(x, y)
    )


def _himmelblau_value(w1: Any, w2: Any) -> Any:
    return (w1**2 + w2 - 11) ** 2 + (w1 + w2**2 - 7) ** 2


def _rosenbrock_value(w1: Any, w2: Any) -> Any:
    return (1 - w1) ** 2 + 100 * (w2 - w1**2) ** 2


def _beale_value(w1: Any, w2: Any) -> Any:
    return (
        (1.5 - w1 + w1 * w2) ** 2 + (2.25 - w1 + w1 * w2**2) ** 2 + (2.625 - w1 + w1 * w2**3) ** 2
    )


def _rastrigin_value(w1: Any, w2: Any) -> Any:
    return 20 + w1**2 - 10 * np.cos(2 * np.pi * w1) + w2**2 - 10 * np.cos(2 * np.pi * w2)


_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
)


@_register("himmelblau", {})
def _himmelblau() -> Objective:
    """Himmelblau: ``(w₁² + w₂ − 11)² + (w₁ + w₂² − 7)²``, four minima of value 0."""
    formula = "(w₁² + w₂ − 11)² + (w₁ + w₂² − 7)²"
    window = (-5.0, 5.0, -5.0, 5.0)
    return Objective(
        "himmelblau",
        formula,
        _himmelblau_value,
        window,
        _HIMMELBLAU_MINIMA,
        lam=20.0,
        lr=0.01,
        start=(-0.5, -0.5),
        log_levels=True,
    )


@_register("rosenbrock", {})
def _rosenbrock() -> Objective:
    """Rosenbrock: ``(1 − w₁)² + 100(w₂ − w₁²)²``, minimum 0 at (1, 1) in a curved valley."""
    formula = "(1 − w₁)² + 100(w₂ − w₁²)²"
    return Objective(
        "rosenbrock",
        formula,
        _rosenbrock_value,
        (-2.0, 2.0, -1.0, 3.0),
        ((1.0, 1.0),),
        lam=1.0,
        lr=1e-3,
        start=(-1.2, 1.0),
        log_levels=True,
    )


@_register("beale", {})
def _beale() -> Objective:
    """Beale: ``Σᵢ (cᵢ − w₁ + w₁w₂ⁱ)²`` with c = (1.5, 2.25, 2.625), minimum 0 at (3, 0.5)."""
    formula = "Σᵢ (cᵢ − w₁ + w₁w₂ⁱ)²"
    return Objective(
        "beale",
        formula,
        _beale_value,
        (-4.5, 4.5, -4.5, 4.5),
        ((3.0, 0.5),),
        lam=0.5,
        lr=1e-2,
        start=(-1.0, -1.0),
        log_levels=True,
    )


@_register("rastrigin", {})
def _rastrigin() -> Objective:
    """Rastrigin: ``20 + Σ (wᵢ² − 10 cos 2πwᵢ)``, many local minima, global 0 at the origin."""
    formula = "20 + Σ (wᵢ² − 10cos 2πwᵢ)"
    return Objective(
        "rastrigin",
        formula,
        _rastrigin_value,
        (-5.12, 5.12, -5.12, 5.12),
        ((0.0, 0.0),),
        lam=2.0,
        lr=4e-3,
        start=(2.2, 3.3),
    )


OBJECTIVES: tuple[str, ...] = (
    "quadratic",
    "himmelblau",
    "rosenbrock",
    "beale",
    "rastrigin",
    "booth",
    "matyas",
    "model",
)


def objective_params(name: str) -> dict[str, Any]:
    """The parameters objective ``name`` accepts, with their defaults.

    Example:
        >>> objective_params("quadratic")
        {'center': (1.5, 0.5), 'condition': 4.0, 'angle': -60.0}
    """
    check("objective_params", {"function": name}, {"function": OneOf(OBJECTIVES)})
    build = _BUILDERS[name][0]
    return {p.name: p.default for p in inspect.signature(build).parameters.values()}


def objective(name: str, **params: Any) -> Objective:
    """Build registered objective ``name`` (one of :data:`OBJECTIVES`) with ``params``.

    Example:
        >>> J = objective("quadratic", center=(2.0, -1.0))
        >>> J.minima, float(J(2.0, -1.0))
        (((2.0, -1.0),), 0.0)
    """
    return _resolve("objective", name, params)


def _resolve(owner: str, function: str | Objective, params: Mapping[str, Any]) -> Objective:
    check(owner, {"function": function}, {"function": _FUNCTION})
    if isinstance(function, Objective):
        if params:
            given = Described(", ".join(params))
            raise fail(owner, "params", "empty when function is an Objective", given)
        return function
    build, table = _BUILDERS[function]
    accepted = objective_params(function)
    unknown = [k for k in params if k not in accepted]
    if unknown:
        allowed = ", ".join(accepted) or "none"
        given = Described(", ".join(f"{k}={params[k]!r}" for k in unknown))
        expected = f"keyword arguments accepted by {function!r} ({allowed})"
        raise fail(owner, "params", expected, given)
    check(owner, params, table)
    return build(**params)


_FUNCTION = (OneOf(OBJECTIVES), Instance((Objective,), "an Objective"))


# --- penalties and solvers -------------------------------------------------------------------


def _penalty(penalty: str, w1: Any, w2: Any) -> Any:
    if penalty == "l1":
        return np.abs(w1) + np.abs(w2)
    if penalty == "l2":
        return w1 * w1 + w2 * w2
    return 0.0 * w1


def penalized(J: Surface, penalty: str, lam: float) -> Surface:
    """``J + λ·P`` as a function of ``(w₁, w₂)``, vectorized like ``J``.

    ``P = |w₁| + |w₂|`` for ``"l1"``, ``w₁² + w₂²`` for ``"l2"`` (seed 000's ``λΣw²``, the
    ``"sum_sq"`` convention: gradient ``2λw``), ``0`` for ``"none"`` (then ``J`` itself).

    Example:
        >>> f = penalized(lambda a, b: a + b, "l1", 0.5)
        >>> float(f(1.0, -2.0))
        0.5
    """
    check("penalized", {"penalty": penalty, "lam": lam, "J": J}, _TABLE)
    if penalty == "none":
        return J

    def value(w1: Any, w2: Any) -> Any:
        return J(w1, w2) + lam * _penalty(penalty, w1, w2)

    return value


def _grad(obj: Objective, w: Array) -> Array:
    if obj.quadratic is not None:
        H, g = obj.quadratic
        return H @ w - g
    # Central differences: error O(h²) from the third derivative plus rounding O(ε/h).
    h = 1e-6 * max(1.0, float(np.abs(w).max()))
    points = w + h * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    f = np.asarray(obj.value(points[:, 0], points[:, 1]), dtype=float)
    return np.asarray((f[:2] - f[2:]) / (2 * h), dtype=float)


def _hessian(obj: Objective, w: Array) -> Array:
    if obj.quadratic is not None:
        return obj.quadratic[0]
    h = 1e-4 * max(1.0, float(np.abs(w).max()))
    cols = [(_grad(obj, w + h * e) - _grad(obj, w - h * e)) / (2 * h) for e in np.eye(2)]
    H = np.column_stack(cols)
    return np.asarray((H + H.T) / 2, dtype=float)


def _convexified(H: Array) -> Array:
    """``H`` shifted to be positive definite (modified Newton) where J is not convex."""
    eig = np.linalg.eigvalsh(H)
    floor = 1e-6 * max(1.0, float(np.abs(eig).max()))
    return H + max(0.0, floor - float(eig[0])) * np.eye(2)


def _solve_quadratic(H: Array, b: Array, penalty: str, lam: float) -> Array:
    """Exact minimizer of ``½vᵀHv − bᵀv + λP(v)`` for positive definite ``H``.

    L2: ``(H + 2λI)v = b``.  L1: the minimizer has some support and sign pattern, and on
    it solves a linear system; in two dimensions all nine (support, signs) candidates are
    solved and the one with the lowest objective wins (ties to the sparsest), which gives
    exact zeros.
    """
    if penalty == "none":
        return np.linalg.solve(H, b)
    if penalty == "l2":
        return np.linalg.solve(H + 2 * lam * np.eye(2), b)
    tol = 1e-12 * abs(float(b @ np.linalg.solve(H, b)))  # the scale of the objective
    best, best_f = np.zeros(2), 0.0
    for support in ([0], [1], [0, 1]):
        idx = np.array(support)
        for signs in itertools.product([-1.0, 1.0], repeat=len(support)):
            v = np.zeros(2)
            v[idx] = np.linalg.solve(H[np.ix_(idx, idx)], b[idx] - lam * np.array(signs))
            f = float(0.5 * v @ H @ v - b @ v + lam * np.abs(v).sum())
            if f < best_f - tol:
                best, best_f = v, f
    return best


def _minimize(obj: Objective, penalty: str, lam: float, w0: Array) -> Array:
    """Proximal Newton: minimize the penalized second-order model exactly, then
    backtrack until ``J + λP`` decreases (Lee, Sun & Saunders 2014)."""
    if obj.quadratic is not None:
        return _solve_quadratic(*obj.quadratic, penalty, lam)

    def total(w: Array) -> float:
        return float(obj.value(w[0], w[1]) + lam * _penalty(penalty, w[0], w[1]))

    w: Array = w0.copy()
    for _ in range(200):
        H = _convexified(_hessian(obj, w))
        v = _solve_quadratic(H, H @ w - _grad(obj, w), penalty, lam)
        if np.abs(v - w).max() <= 1e-11 * (1.0 + np.abs(w).max()):
            return v  # the model's minimizer, with its exact zeros
        step, f_w = 1.0, total(w)
        while total(w + step * (v - w)) > f_w and step > 1e-12:
            step /= 2
        w = np.asarray(w + step * (v - w), dtype=float)
    return w


def regularized_path(
    function: str | Objective, penalty: str, lams: Sequence[float] | Array, **params: Any
) -> Array:
    """Minimizers of ``J + λP`` for each ``λ`` in ``lams``: an array ``[len(lams), 2]``.

    Quadratic objectives (``quadratic``, ``model``, ``booth``, ``matyas``) are solved
    exactly: a linear system for L2, enumeration of supports and signs for L1 (so the L1
    path reaches an axis — one weight exactly 0 — at a finite λ, while the L2 path only
    shrinks toward the origin).  Other objectives use proximal Newton with numerical
    derivatives, starting at the first unregularized minimum and following the path in
    increasing ``λ`` (warm starts), so a non-convex ``J`` gives the local branch of that
    minimum.

    Args:
        function: a name in :data:`OBJECTIVES` (built with ``params``) or an Objective.
        penalty: ``"none"``, ``"l1"`` or ``"l2"`` (see :func:`penalized`).
        lams: non-empty sequence of finite λ ≥ 0, in any order; rows follow it.

    Example:
        >>> regularized_path("quadratic", "l1", [0.0, 0.5, 2.0]).round(3).tolist()
        [[1.5, 0.5], [1.084, 0.0], [0.0, 0.0]]
        >>> regularized_path("quadratic", "l2", [0.0, 0.5, 2.0]).round(3).tolist()
        [[1.5, 0.5], [0.702, 0.332], [0.278, 0.139]]
    """
    check("regularized_path", {"penalty": penalty, "lams": lams}, _TABLE)
    obj = _resolve("regularized_path", function, params)
    values = np.asarray(lams, dtype=float)
    out = np.zeros((len(values), 2))
    w = np.array(obj.minima[0], dtype=float)
    for i in np.argsort(values, kind="stable"):
        w = out[i] = _minimize(obj, penalty, float(values[i]), w)
    return out


def gd_trajectory(
    function: str | Objective,
    penalty: str,
    lam: float,
    start: Sequence[float],
    lr: float,
    steps: int,
    rule: str = "proximal",
    **params: Any,
) -> Array:
    """Gradient-descent iterates on ``J + λP``: an array ``[steps + 1, 2]`` from ``start``.

    Each step is ``w' = w − α(∇J(w) + 2λw·[L2])``; with L1 the data step is followed by
    :func:`weightlab.regularize.l1_step` ``(λ, rule)`` — ``"subgradient"`` gives seed 000's
    ``w − αλ·sign(w) − α∂J/∂w``, ``"proximal"`` soft-thresholds (exact zeros), ``"clip"``
    sets weights whose step crossed zero to 0.  ``∇J`` is analytic for quadratic
    objectives and central differences otherwise.  Iteration stops early when the iterates
    stop being finite (``lr`` too large), so fewer rows come back then.

    Example:
        >>> gd_trajectory("quadratic", "l1", 0.3, (0.0, 0.0), lr=0.5, steps=2).shape
        (3, 2)
    """
    values = {"penalty": penalty, "lam": lam, "start": start, "lr": lr, "steps": steps}
    check("gd_trajectory", {**values, "rule": rule}, _TABLE)
    obj = _resolve("gd_trajectory", function, params)
    l1 = l1_step(lam if penalty == "l1" else 0.0, cast(L1Rule, rule))
    w = np.array(start, dtype=float)
    rows = [w]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            grad = _grad(obj, w) + (2 * lam * w if penalty == "l2" else 0.0)
            proposed = torch.from_numpy(w - lr * grad)
            w = l1(torch.from_numpy(w), proposed, lr).numpy()
            if not np.isfinite(w).all():
                break
            rows.append(w)
    return np.array(rows)


def _lams(value: object) -> bool:
    if isinstance(value, (str, bytes)):
        return False
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim == 1 and arr.size > 0 and bool(np.isfinite(arr).all() and (arr >= 0).all())


_TABLE: dict[str, Any] = {
    "penalty": OneOf(PENALTIES),
    "lam": STRENGTH,
    "lams": Satisfies(_lams, "a non-empty 1-D sequence of finite floats >= 0"),
    "start": PAIR,
    "lr": POSITIVE,
    "steps": Interval(1, math.inf, "left", integer=True),
    "rule": OneOf(L1_RULES),
    "J": Satisfies(callable, "a callable J(w1, w2)"),
}
_FLAG = Instance((bool,), "a bool")
_FIGURE_TABLE: dict[str, Any] = {
    **_TABLE,
    "penalty": OneOf(("both", *PENALTIES)),
    "lam": (STRENGTH, OPTIONAL),
    "paths": _FLAG,
    "trajectories": _FLAG,
    "start": (PAIR, OPTIONAL),
    "lr": (POSITIVE, OPTIONAL),
    "grid": Interval(10, 2000, integer=True),
}


# --- the figure ------------------------------------------------------------------------------


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
    Z = np.asarray(obj.value(W1, W2) + lam * _penalty(penalty, W1, W2), dtype=float)
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
        radius = float(_penalty(penalty, *best)) ** (0.5 if penalty == "l2" else 1.0)
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
    check("landscape_figure", values, _FIGURE_TABLE)
    obj = _resolve("landscape_figure", function, params)
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
