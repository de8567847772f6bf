"""Gradient descent on a penalized two-weight loss, with the L1 step as an update rule.

Each step is ``w' = w − α(∇J(w) + 2λw·[L2])``; with L1 the data step is followed by the
registry's rule ``l1(λ, rule=...)`` (:func:`weightlab.regularize.make_term`), the same
step the training engines apply after any optimizer, here on numpy points
(:data:`weightlab.landscape.arrays.POINTS`).

Example:
    >>> gd_trajectory("quadratic", "l1", 0.5, (0.0, 1.5), lr=0.5, steps=400)[-1].round(3)
    array([1.084, 0.   ])

Tibshirani 1996 (the lasso); Langford, Li & Zhang 2009 (truncated gradient); Daubechies,
Defrise & De Mol 2004 (ISTA, the proximal step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import POSITIVE, STRENGTH, Interval, OneOf, check
from weightlab.landscape.arrays import POINTS
from weightlab.landscape.derivatives import gradient
from weightlab.landscape.objectives import PAIR, Objective, resolve_objective
from weightlab.landscape.penalties import PENALTIES
from weightlab.regularize import L1_RULES, make_term
from weightlab.regularize.registry import WeightRule  # on any array type

__all__ = ["gd_trajectory"]

Array = npt.NDArray[Any]

_TABLE: dict[str, Any] = {
    "penalty": OneOf(PENALTIES),
    "lam": STRENGTH,
    "start": PAIR,
    "lr": POSITIVE,
    "steps": Interval(1, math.inf, "left", integer=True),
    "rule": OneOf(L1_RULES),
}


def _l1_step(strength: float, rule: str) -> WeightRule:
    """The registry's ``l1(strength, rule=rule)`` step ``(prev, proposed, lr) -> new``;
    the identity at strength 0 (nothing to threshold, and no crossing to clip)."""
    term = make_term("l1", strength=strength, rule=rule)
    return term.rule(POINTS) if term.active else _unchanged


def _unchanged(prev: Any, proposed: Any, lr: Any) -> Any:
    return proposed


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
    the registry's ``l1(λ, rule)`` step after each step — ``"subgradient"`` gives seed
    000's ``w − αλ·sign(w) − α∂J/∂w``, ``"proximal"`` soft-thresholds (exact zeros),
    ``"clip"`` sets weights whose step crossed zero to 0.  ``∇J`` is analytic for
    quadratic objectives and central differences otherwise.  Iteration stops early when
    the iterates stop being finite (``lr`` too large), so fewer rows come back then.

    Example:
        >>> gd_trajectory("quadratic", "l1", 0.3, (0.0, 0.0), lr=0.5, steps=2).shape
        (3, 2)
    """
    values = {"penalty": penalty, "lam": lam, "start": start, "lr": lr, "steps": steps}
    check("gd_trajectory", {**values, "rule": rule}, _TABLE)
    obj = resolve_objective("gd_trajectory", function, params)
    l1 = _l1_step(lam if penalty == "l1" else 0.0, rule)
    w = np.array(start, dtype=float)
    rows = [w]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            grad = gradient(obj, w) + (2 * lam * w if penalty == "l2" else 0.0)
            w = l1(w, w - lr * grad, lr)
            if not np.isfinite(w).all():
                break
            rows.append(w)
    return np.array(rows)
