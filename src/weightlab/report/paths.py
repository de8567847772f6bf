"""Regularization paths of a linear model: coefficients and sparsity against λ for the
lasso (L1), ridge (L2) and the elastic net.

All three minimize scikit-learn's elastic-net objective, without an intercept (center or
standardize ``x`` and ``y`` first)::

    1/(2n)‖y − Xw‖² + λ·r·‖w‖₁ + λ·(1 − r)/2·‖w‖²

with ``r = 1`` for the lasso (``sklearn.linear_model.Lasso(alpha=λ)``), ``r = l1_ratio``
for the elastic net (``ElasticNet(alpha=λ, l1_ratio=r)``) and ``r = 0`` for ridge, which is
``Ridge(alpha=n·λ)`` because Ridge's loss ``‖y − Xw‖² + α‖w‖²`` has no ``1/(2n)``.

Example:
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    >>> y = np.array([2.0, 0.5, -2.0, -0.5])
    >>> result = regularization_path(x, y, "lasso", [0.1, 1.0, 0.3])
    >>> result.lambdas.tolist(), result.coefs.round(6).tolist(), result.sparsity.tolist()
    ([1.0, 0.3, 0.1], [[0.0, 0.0], [1.4, 0.0], [1.8, 0.3]], [1.0, 0.5, 0.0])

Tibshirani 1996 (lasso); Hoerl & Kennard 1970 (ridge); Zou & Hastie 2005 (elastic net);
Friedman, Hastie & Tibshirani 2010, "Regularization paths for generalized linear models
via coordinate descent".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from matplotlib.figure import Figure

from weightlab._validate import (
    OPTIONAL,
    Described,
    Interval,
    OneOf,
    Satisfies,
    check,
    fail,
)

__all__ = [
    "KINDS",
    "PathResult",
    "path_figure",
    "regularization_path",
    "sign_changes",
    "zero_fraction_from",
    "zero_points",
]

Array = npt.NDArray[Any]

# Every accepted name and the kind it means (lasso is L1, ridge is L2).
_CANONICAL = {"l1": "l1", "lasso": "l1", "l2": "l2", "ridge": "l2", "elastic_net": "elastic_net"}
KINDS: tuple[str, ...] = tuple(_CANONICAL)
_OBJECTIVE = "1/(2n)‖y − Xw‖² + λ·r·‖w‖₁ + λ·(1 − r)/2·‖w‖²"
_TITLES = {"l1": "Lasso (L1)", "l2": "Ridge (L2)", "elastic_net": "Elastic net"}


@dataclass(frozen=True, eq=False, repr=False)
class PathResult:
    """Coefficients along a regularization path.

    ``lambdas [m]`` from largest to smallest, ``coefs [m, n_features]``, ``sparsity [m]``
    the fraction of coefficients exactly zero at each λ, ``kind`` one of ``"l1"``,
    ``"l2"``, ``"elastic_net"``, ``l1_ratio`` the ``r`` used (1, 0 or the one given) and
    ``convention`` the objective in words.
    """

    kind: str
    lambdas: Array
    coefs: Array
    sparsity: Array
    l1_ratio: float
    convention: str

    @property
    def n_features(self) -> int:
        """Number of coefficients (columns of ``coefs``)."""
        return int(self.coefs.shape[1])

    def __repr__(self) -> str:
        return (
            f"PathResult(kind={self.kind!r}, n_lambdas={len(self.lambdas)}, "
            f"n_features={self.n_features})"
        )


def _as_array(value: Any) -> Array:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=float)


def _data(owner: str, name: str, value: object, ndim: int) -> Array:
    """``value`` as a finite float array with ``ndim`` dimensions, or the standard error."""
    shape = "[n_samples, n_features]" if ndim == 2 else "[n_samples]"
    expected = f"a finite {ndim}-D array {shape} with at least one sample"
    try:
        arr = _as_array(value)
    except (TypeError, ValueError):
        raise fail(
            owner, name, expected, Described(type(value).__name__), wrong_type=True
        ) from None
    if arr.ndim != ndim or arr.shape[0] == 0 or (ndim == 2 and arr.shape[1] == 0):
        raise fail(owner, name, expected, Described(f"an array of shape {arr.shape}"))
    if not np.isfinite(arr).all():
        raise fail(owner, name, expected, Described("an array with NaN or inf"))
    return arr


def _positive_list(value: object) -> bool:
    if isinstance(value, (str, bytes)):
        return False
    try:
        arr = _as_array(value)
    except (TypeError, ValueError):
        return False
    return arr.ndim == 1 and arr.size > 0 and bool(np.isfinite(arr).all() and (arr > 0).all())


_TABLE: dict[str, Any] = {
    "kind": OneOf(KINDS),
    "lambdas": (
        Satisfies(_positive_list, "a non-empty 1-D sequence of finite floats > 0"),
        OPTIONAL,
    ),
    "l1_ratio": Interval(0.0, 1.0, "right"),
    "n_lambdas": Interval(1, math.inf, "left", integer=True),
}


def _soft(value: float, threshold: float) -> float:
    return math.copysign(max(abs(value) - threshold, 0.0), value)


def _polish(A: Array, b: Array, l1: float, l2: float, w: Array) -> Array | None:
    """The exact solution on ``w``'s support and signs, if it satisfies the optimality
    conditions (signs kept, ``|b_j − A_j·w| ≤ λr`` off the support); else ``None``."""
    on = w != 0
    signs = np.sign(w[on])
    exact = np.zeros_like(w)
    try:
        exact[on] = np.linalg.solve(
            A[np.ix_(on, on)] + l2 * np.eye(int(on.sum())), b[on] - l1 * signs
        )
    except np.linalg.LinAlgError:
        return None
    slack = np.abs(b[~on] - A[~on] @ exact)
    scale = l1 + 1e-12 * float(np.abs(b).max())
    if np.array_equal(np.sign(exact[on]), signs) and (slack <= scale * (1 + 1e-9)).all():
        return exact
    return None


def _coordinate_descent(A: Array, b: Array, l1: float, l2: float, w: Array) -> Array:
    """Minimize ``½wᵀAw − bᵀw + l1‖w‖₁ + (l2/2)‖w‖²`` from ``w`` (warm start).

    Cyclic coordinate descent, ``w_j ← S(b_j − Σ_{k≠j} A_jk w_k, l1) / (A_jj + l2)``, until
    a sweep moves no weight by more than ``tol·max|w|``; then the support and signs it
    found are solved exactly (:func:`_polish`).  If the optimality check fails, sweeps
    continue with a tighter tolerance.
    """
    w = w.copy()
    tol = 1e-6
    for _ in range(100_000):
        largest = 0.0
        for j in range(len(w)):
            if A[j, j] == 0.0:
                continue  # an all-zero feature keeps a zero weight
            new = _soft(float(b[j] - A[j] @ w + A[j, j] * w[j]), l1) / (A[j, j] + l2)
            largest = max(largest, abs(new - w[j]))
            w[j] = new
        if largest <= tol * max(float(np.abs(w).max()), 1e-300):
            exact = _polish(A, b, l1, l2, w)
            if exact is not None:
                return exact
            tol = max(tol / 100, 1e-15)
    return w


def _default_lambdas(A: Array, b: Array, r: float, count: int) -> Array:
    """Lasso / elastic net: from ``λ_max = max|Xᵀy|/(n·r)`` (the smallest λ with all
    weights zero) to ``λ_max·10⁻³``.  Ridge never reaches zero: from ``10³·s`` to
    ``10⁻³·s`` with ``s`` the largest eigenvalue of ``XᵀX/n``."""
    if r > 0:
        top = float(np.abs(b).max()) / r
        return np.geomspace(top or 1.0, (top or 1.0) * 1e-3, count)
    s = float(np.linalg.eigvalsh(A)[-1]) or 1.0
    return np.geomspace(1e3 * s, 1e-3 * s, count)


def regularization_path(
    x: Any,
    y: Any,
    kind: str,
    lambdas: Sequence[float] | Array | None = None,
    *,
    l1_ratio: float = 0.5,
    n_lambdas: int = 30,
) -> PathResult:
    """Coefficients of the penalized least-squares fit for each λ (see the module's
    objective; ``kind`` sets ``r``: 1 for ``"l1"``/``"lasso"``, 0 for ``"l2"``/``"ridge"``,
    ``l1_ratio`` for ``"elastic_net"``).

    L1 and elastic net: cyclic coordinate descent with warm starts from the largest λ,
    finished by an exact solve on the support found (optimality conditions checked).
    Ridge: the closed form ``w = (XᵀX/n + λI)⁻¹ Xᵀy/n``.

    Args:
        x: ``[n_samples, n_features]`` finite array or tensor.
        y: ``[n_samples]`` finite targets.
        kind: one of :data:`KINDS`.
        lambdas: λ > 0 values, any order (returned from largest to smallest); ``None``
            gives ``n_lambdas`` log-spaced values from ``λ_max = max|Xᵀy|/(n·r)``, the
            smallest λ with all coefficients zero, down to ``λ_max·10⁻³`` (ridge:
            ``10³·s`` to ``10⁻³·s``, ``s`` the largest eigenvalue of ``XᵀX/n``).
        l1_ratio: ``r`` for the elastic net, in (0, 1].
        n_lambdas: size of the default grid.

    Example:
        >>> import numpy as np
        >>> x = np.eye(3)
        >>> result = regularization_path(x, np.array([3.0, 0.3, -1.5]), "l1", n_lambdas=3)
        >>> result.lambdas.round(3).tolist(), result.sparsity.round(3).tolist()
        ([1.0, 0.032, 0.001], [1.0, 0.0, 0.0])
    """
    check(
        "regularization_path",
        {"kind": kind, "lambdas": lambdas, "l1_ratio": l1_ratio, "n_lambdas": n_lambdas},
        _TABLE,
    )
    X = _data("regularization_path", "x", x, 2)
    t = _data("regularization_path", "y", y, 1)
    if len(t) != len(X):
        expected = f"an array of {len(X)} targets (one per row of x)"
        raise fail("regularization_path", "y", expected, Described(f"{len(t)}"))
    canonical = _CANONICAL[kind]
    r = {"l1": 1.0, "l2": 0.0}.get(canonical, float(l1_ratio))
    n = len(X)
    A, b = X.T @ X / n, X.T @ t / n
    grid = _default_lambdas(A, b, r, n_lambdas) if lambdas is None else _as_array(lambdas)
    grid = np.sort(grid)[::-1].copy()
    coefs = np.zeros((len(grid), X.shape[1]))
    w = np.zeros(X.shape[1])
    for i, lam in enumerate(grid):
        if r == 0.0:
            w = np.linalg.solve(A + lam * np.eye(len(A)), b)
        else:
            w = _coordinate_descent(A, b, lam * r, lam * (1 - r), w)
        coefs[i] = w
    return PathResult(
        kind=canonical,
        lambdas=grid,
        coefs=coefs,
        sparsity=(coefs == 0).mean(axis=1),
        l1_ratio=r,
        convention=_convention(r),
    )


def _objective(r: float) -> str:
    if r == 1.0:
        return "1/(2n)‖y − Xw‖² + λ‖w‖₁"
    if r == 0.0:
        return "1/(2n)‖y − Xw‖² + (λ/2)‖w‖²"
    return f"1/(2n)‖y − Xw‖² + λ·{r:g}·‖w‖₁ + λ·{1 - r:g}/2·‖w‖²"


def _convention(r: float) -> str:
    if r == 1.0:
        same = "sklearn Lasso(alpha=λ)"
    elif r == 0.0:
        same = "sklearn Ridge(alpha=n·λ)"
    else:
        same = f"sklearn ElasticNet(alpha=λ, l1_ratio={r:g})"
    return f"{_objective(r)}  (= {same}; no intercept)"


def zero_points(result: PathResult) -> list[float | None]:
    """For each coefficient, the smallest λ of the grid from which it is exactly zero at
    every larger λ (where it "becomes zero" as λ grows); ``None`` if it is non-zero at
    the largest λ."""
    out: list[float | None] = []
    for column in result.coefs.T:
        nonzero = np.flatnonzero(column != 0)  # rows run from the largest λ down
        leading = len(column) if len(nonzero) == 0 else int(nonzero[0])  # zero rows on top
        out.append(float(result.lambdas[leading - 1]) if leading > 0 else None)
    return out


def zero_fraction_from(result: PathResult, fraction: float = 0.5) -> float | None:
    """The smallest λ of the path's grid from which at least ``fraction`` of the
    coefficients are exactly zero: at that λ and at every larger λ of the grid.
    ``None`` when even the largest λ has fewer.

    Walking the grid down from the largest λ, it is the last λ before the fraction of
    exactly-zero coefficients first falls below ``fraction``.  On an orthonormal design
    (``XᵀX/n = I``) the lasso is soft-thresholding of ``b = Xᵀy/n``,
    ``w_j = sign(b_j)·max(|b_j| − λ, 0)``, so ``k`` coefficients are zero exactly when
    ``λ ≥`` the ``k``-th smallest ``|b_j|``: the answer is the smallest grid λ at or
    above that value.

    Example:
        >>> x = np.eye(4) * 2.0  # XᵀX/n = I
        >>> y = x @ np.array([3.0, -0.5, 1.0, 0.25])  # b = (3, -0.5, 1, 0.25)
        >>> result = regularization_path(x, y, "l1", [4.0, 2.0, 0.7, 0.4, 0.1])
        >>> zero_fraction_from(result, 0.5)  # 2 zeros once λ ≥ 0.5: the grid's 0.7
        0.7
    """
    order = np.argsort(-result.lambdas, kind="stable")  # from the largest λ down
    enough = result.sparsity[order] >= fraction
    if not enough[0]:
        return None
    last = len(enough) - 1 if enough.all() else int(np.argmin(enough)) - 1
    return float(result.lambdas[order][last])


def sign_changes(result: PathResult) -> list[int]:
    """The coefficients that take both signs along the path: they pass through zero
    between two λ of the grid (or at one) instead of staying there.

    Ridge shrinks every coefficient toward zero but, on correlated features, some
    cross it: with ``XᵀX/n = [[1, ρ], [ρ, 1]]`` and ``b = Xᵀy/n``, coefficient 2 of
    ``(XᵀX/n + λI)⁻¹b`` is ``((1 + λ)b₂ − ρb₁)/det``, which changes sign at
    ``λ = ρb₁/b₂ − 1``.  On an orthonormal design ``w = b/(1 + λ)`` never does.

    Example:
        >>> x = np.sqrt(2) * np.array([[1.0, 0.9], [0.0, np.sqrt(0.19)]])  # ρ = 0.9
        >>> y = x @ np.array([1.0, -0.1])  # b = (0.91, 0.8): w₂ crosses 0 at λ = 0.02375
        >>> sign_changes(regularization_path(x, y, "ridge", [1.0, 0.01]))
        [1]
    """
    signs = np.sign(result.coefs)
    return [
        j
        for j in range(result.n_features)
        if bool(np.any(signs[:, j] > 0)) and bool(np.any(signs[:, j] < 0))
    ]


def _results(value: object) -> bool:
    items = [value] if isinstance(value, PathResult) else value
    if not isinstance(items, (list, tuple)) or not items:
        return False
    return all(isinstance(r, PathResult) for r in items) and (
        len({r.n_features for r in items}) == 1
    )


def path_figure(
    results: PathResult | Sequence[PathResult],
    feature_names: Sequence[str] | None = None,
    truth: Sequence[float] | Array | None = None,
) -> Figure:
    """Coefficient traces against λ (log scale), one column per result (e.g. lasso, ridge
    and elastic net side by side), with the fraction of exactly-zero coefficients in a
    second row; each row shares its y axis across the columns.  A dot marks where each
    coefficient becomes zero as λ grows (:func:`zero_points`); ``truth`` draws the true
    coefficients as dashed lines.

    Example:
        >>> import numpy as np
        >>> x = np.eye(3)
        >>> result = regularization_path(x, np.array([3.0, 0.3, -1.5]), "l1", n_lambdas=5)
        >>> len(path_figure(result).axes)
        2
    """
    check(
        "path_figure",
        {"results": results},
        {
            "results": Satisfies(
                _results, "a PathResult or a non-empty list of them with equal n_features"
            )
        },
    )
    items = [results] if isinstance(results, PathResult) else list(results)
    p = items[0].n_features
    names = [f"x{j}" for j in range(p)] if feature_names is None else list(feature_names)
    if isinstance(feature_names, str) or len(names) != p:
        raise fail("path_figure", "feature_names", f"None or {p} names", feature_names)
    true = None if truth is None else _as_array(truth)
    if true is not None and (true.shape != (p,) or not np.isfinite(true).all()):
        expected = f"None or {p} finite floats (one per feature)"
        raise fail("path_figure", "truth", expected, Described(f"an array of shape {true.shape}"))
    fig = Figure(figsize=(4.6 * len(items) + 1.6, 6.2), layout="constrained")
    # Columns share λ; rows share their metric's scale, so that the kinds compare.
    axes = fig.subplots(
        2, len(items), squeeze=False, sharex="col", sharey="row", height_ratios=[3, 1]
    )
    for col, result in enumerate(items):
        _draw(axes[0, col], axes[1, col], result, names, true)
    if p <= 20:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    if len(items) == 1:
        title = f"Regularization path\n{_objective(items[0].l1_ratio)}"
    else:
        title = f"Regularization paths\n{_OBJECTIVE}  (lasso r = 1, ridge r = 0)"
    fig.suptitle(title, fontsize=10)
    return fig


def _draw(top: Any, bottom: Any, result: PathResult, names: list[str], true: Array | None) -> None:
    lams = result.lambdas
    for j, (name, zero_at) in enumerate(zip(names, zero_points(result), strict=True)):
        color = f"C{j % 10}"
        top.plot(lams, result.coefs[:, j], color=color, linewidth=1.4, label=name, gid="coef")
        if zero_at is not None:
            top.plot(
                [zero_at],
                [0.0],
                marker="o",
                markersize=4,
                color=color,
                linestyle="none",
                gid="zero",
            )
        if true is not None:
            top.axhline(true[j], color=color, linestyle="--", linewidth=0.8, gid="truth")
    top.axhline(0.0, color="gray", linewidth=0.6, gid="axis")
    title = _TITLES[result.kind]
    if result.kind == "elastic_net":
        title += f" (l1_ratio = {result.l1_ratio:g})"
    top.set(xscale="log", ylabel="coefficient", title=title)
    bottom.step(lams, result.sparsity, where="mid", color="black", gid="sparsity")
    bottom.set(xscale="log", xlabel="λ (log scale)", ylabel="fraction zero", ylim=(-0.05, 1.05))
