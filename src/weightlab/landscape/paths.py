"""The regularized optimum ``argmin J + λP`` and its path as λ grows.

The L1 optimum sits where a level set of ``J`` touches a diamond ``|w₁| + |w₂| = r``,
often at a corner on an axis: one weight exactly 0.  The L2 optimum sits where it touches
a circle, which has no corners: weights shrink toward the origin but stay non-zero.

Example:
    >>> from weightlab.landscape.objectives import objective
    >>> J = objective("quadratic")
    >>> w_l1, w_l2 = regularized_path(J, "l1", [0.5])[0], regularized_path(J, "l2", [0.5])[0]
    >>> float(w_l1[1]), bool(w_l2[1] > 0)
    (0.0, True)

Tibshirani 1996 (the lasso, whose Fig. 2 is this picture); Hoerl & Kennard 1970 (ridge);
Lee, Sun & Saunders 2014 (proximal Newton).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import Described, OneOf, Satisfies, check, fail
from weightlab.landscape.arrays import POINTS
from weightlab.landscape.derivatives import gradient, hessian
from weightlab.landscape.objectives import OBJECTIVES, Objective, objective, resolve_objective
from weightlab.landscape.penalties import PENALTIES, penalty_term

__all__ = ["l1_first_axis", "l2_zero_crossings", "regularized_path"]

Array = npt.NDArray[Any]


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
    "lams": Satisfies(_lams, "a non-empty 1-D sequence of finite floats >= 0"),
}


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
    obj = resolve_objective("regularized_path", function, params)
    values = np.asarray(lams, dtype=float)
    out = np.zeros((len(values), 2))
    w = np.array(obj.minima[0], dtype=float)
    for i in np.argsort(values, kind="stable"):
        w = out[i] = _minimize(obj, penalty, float(values[i]), w)
    return out


def _minimize(obj: Objective, penalty: str, lam: float, w0: Array) -> Array:
    """Proximal Newton: minimize the penalized second-order model exactly, then
    backtrack until ``J + λP`` decreases (Lee, Sun & Saunders 2014)."""
    if obj.quadratic is not None:
        return _solve_quadratic(*obj.quadratic, penalty, lam)
    term = penalty_term(penalty, lam)

    def total(w: Array) -> float:
        extra = 0.0 if term is None else float(term.penalty([w], POINTS)[0])
        return float(obj.value(w[0], w[1])) + extra

    w: Array = w0.copy()
    for _ in range(200):
        H = _convexified(hessian(obj, w))
        v = _solve_quadratic(H, H @ w - gradient(obj, w), penalty, lam)
        if np.abs(v - w).max() <= 1e-11 * (1.0 + np.abs(w).max()):
            return v  # the model's minimizer, with its exact zeros
        step, f_w = 1.0, total(w)
        while total(w + step * (v - w)) > f_w and step > 1e-12:
            step /= 2
        w = np.asarray(w + step * (v - w), dtype=float)
    return w


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


def _quadratic(
    owner: str, function: str | Objective, params: dict[str, Any]
) -> tuple[Array, Array]:
    """``(H, g)`` of ``J = ½wᵀHw − gᵀw + const``, or the standard error for a J that is
    not quadratic."""
    obj = resolve_objective(owner, function, params)
    if obj.quadratic is None:
        names = [n for n in OBJECTIVES if objective(n).quadratic is not None]
        expected = "a quadratic objective (" + ", ".join(repr(n) for n in names) + ")"
        raise fail(owner, "function", expected, Described(repr(obj.name)))
    H, g = obj.quadratic
    return np.asarray(H, dtype=float), np.asarray(g, dtype=float)


def l1_first_axis(function: str | Objective, **params: Any) -> tuple[float, int]:
    """``(λ, j)``: the smallest λ ≥ 0 at which the minimizer of ``J + λ(|w₁| + |w₂|)``
    lies on an axis, and the weight ``j`` (0 for w₁, 1 for w₂) that is exactly 0 there.

    For a quadratic ``J = ½wᵀHw − gᵀw + const`` with minimum ``w* = H⁻¹g``: while both
    weights are non-zero with signs ``s = sign(w*)``, the optimum solves
    ``Hw = g − λs``, so it moves on the line ``w(λ) = w* − λH⁻¹s`` and weight ``j``
    reaches 0 at ``λ_j = w*_j / (H⁻¹s)_j``.  The answer is the smallest positive
    ``λ_j`` (λ = 0 when ``w*`` already has a zero weight).  For a diagonal ``H`` each
    weight is soft-thresholded, ``w_j = S(g_j, λ)/H_jj``, and the answer is
    ``min_j |g_j|``.

    Args:
        function: a quadratic objective's name (built with ``params``) or an Objective.

    Example:
        >>> lam, j = l1_first_axis("quadratic", center=(1.5, 0.5), angle=0.0)
        >>> round(lam, 12), j  # H = diag(1/4, 1), g = (0.375, 0.5): min |g_j|
        (0.375, 0)

    Tibshirani 1996; Efron, Hastie, Johnstone & Tibshirani 2004 (the piecewise-linear
    lasso path).
    """
    H, g = _quadratic("l1_first_axis", function, params)
    w = np.linalg.solve(H, g)
    if np.any(w == 0):
        return 0.0, int(np.flatnonzero(w == 0)[0])
    step = np.linalg.solve(H, np.sign(w))
    with np.errstate(divide="ignore"):
        lams = np.where(w * step > 0, w / step, np.inf)  # only weights moving toward 0
    j = int(np.argmin(lams))
    return float(lams[j]), j


def l2_zero_crossings(function: str | Objective, **params: Any) -> list[tuple[float, int]]:
    """Every ``(λ, j)`` with λ ≥ 0 at which weight ``j`` of the minimizer of
    ``J + λ(w₁² + w₂²)`` is exactly 0, sorted by λ.

    For a quadratic ``J = ½wᵀHw − gᵀw + const`` the minimizer is
    ``w(λ) = (H + 2λI)⁻¹g``; in two dimensions weight ``j`` is
    ``((H_kk + 2λ)g_j − H_jk g_k) / det`` (``k`` the other weight), which is 0 only at
    ``λ = (H_jk g_k / g_j − H_kk) / 2``: the weight passes through 0 and changes sign
    there instead of staying on the axis as under L1.  When ``g_j = 0`` and
    ``H_jk g_k = 0`` the weight is 0 at every λ and is listed once, at λ = 0.  For a
    diagonal ``H`` with ``g ≠ 0`` the list is empty.

    Args:
        function: a quadratic objective's name (built with ``params``) or an Objective.

    Example:
        >>> l2_zero_crossings("quadratic", center=(1.5, 0.5), angle=0.0)
        []
        >>> [(round(lam, 6), j) for lam, j in l2_zero_crossings(
        ...     "quadratic", center=(1.0, 0.1), condition=19.0, angle=45.0)]
        [(0.00625, 1)]

    Hoerl & Kennard 1970.
    """
    H, g = _quadratic("l2_zero_crossings", function, params)
    out: list[tuple[float, int]] = []
    for j, k in ((0, 1), (1, 0)):
        if g[j] != 0:
            lam = (H[j, k] * g[k] / g[j] - H[k, k]) / 2
            if lam >= 0:
                out.append((float(lam), j))
        elif H[j, k] * g[k] == 0:
            out.append((0.0, j))
    return sorted(out)
