"""Two-weight losses ``J(w₁, w₂)``: a registry of objectives with their drawing defaults.

Every objective is a decorated builder here: a rotated quadratic bowl, the classic test
functions (Himmelblau, Rosenbrock, Beale, Rastrigin, Booth, Matyas) and ``model``, a
two-weight least-squares regression on generated data.  :data:`OBJECTIVES` lists them in
the order the CLI and the lab show them; :func:`objective` builds one by name.

Example:
    >>> J = objective("quadratic", center=(2.0, -1.0))
    >>> J.minima, float(J(2.0, -1.0))
    (((2.0, -1.0),), 0.0)

Himmelblau 1972; Rosenbrock 1960; Beale 1958; Rastrigin 1974 (the test functions).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import (
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

__all__ = [
    "OBJECTIVES",
    "PAIR",
    "Objective",
    "objective",
    "objective_params",
    "resolve_objective",
]

Array = npt.NDArray[Any]
Surface = Callable[[Any, Any], Any]


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
"""The validation rule of a point ``(w₁, w₂)``: a start, a center, coefficients."""

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


# --- quadratic objectives (solved exactly) ---------------------------------------------------


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


# --- test functions (solved numerically) -----------------------------------------------------


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
"""Every registered objective, in the order the CLI and the lab list them."""

_FUNCTION = (OneOf(OBJECTIVES), Instance((Objective,), "an Objective"))


# --- building one ----------------------------------------------------------------------------


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
        >>> J = objective("rosenbrock")
        >>> J.minima, float(J(1.0, 1.0))
        (((1.0, 1.0),), 0.0)
    """
    return resolve_objective("objective", name, params)


def resolve_objective(
    owner: str, function: str | Objective, params: Mapping[str, Any]
) -> Objective:
    """``function`` as an :class:`Objective`: a name in :data:`OBJECTIVES` built with
    ``params``, or an Objective itself (then ``params`` must be empty).

    The boundary check of every function that accepts an objective: errors name
    ``owner`` ("The 'function' parameter of ``owner`` must be ...").

    Example:
        >>> resolve_objective("my_plot", "booth", {}).minima
        ((1.0, 3.0),)
    """
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
