"""The penalties of the landscape, ``J_L1 = J + λ(|w₁| + |w₂|)`` and
``J_L2 = J + λ(w₁² + w₂²)``, as regularization terms from the registry.

The L1 penalty is the term ``l1(λ, rule='penalty')`` and the L2 penalty the term
``l2(λ, convention='sum_sq')`` of :mod:`weightlab.regularize` (seed 000's ``λΣw²``,
gradient ``2λw``, no ½).  Each point of a grid is one two-weight model, so the terms'
arithmetic, the same code that trains one model or K stacked ones, runs on all of them
at once (:data:`weightlab.landscape.arrays.POINTS`).

Example:
    >>> float(penalty_value("l1", 1.0, -2.0)), float(penalty_value("l2", 1.0, -2.0, lam=0.5))
    (3.0, 2.5)

Tibshirani 1996 (the lasso); Hoerl & Kennard 1970 (ridge).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from weightlab._validate import STRENGTH, OneOf, Satisfies, check
from weightlab.landscape.arrays import POINTS
from weightlab.regularize import Term, make_term

__all__ = ["PENALTIES", "penalized", "penalty_term", "penalty_value"]

Surface = Callable[[Any, Any], Any]

PENALTIES: tuple[str, ...] = ("none", "l1", "l2")
"""The penalties a landscape takes: none, L1 (diamond level sets), L2 (circles)."""

_TERMS: dict[str, dict[str, Any]] = {
    "l1": {"rule": "penalty"},
    "l2": {"convention": "sum_sq"},
}
_TABLE: dict[str, Any] = {
    "penalty": OneOf(PENALTIES),
    "lam": STRENGTH,
    "J": Satisfies(callable, "a callable J(w1, w2)"),
}


def penalty_term(penalty: str, lam: float) -> Term | None:
    """The registered term of ``penalty`` at strength ``λ``: ``l1(λ, rule='penalty')``,
    ``l2(λ, convention='sum_sq')``, or ``None`` for ``"none"``.

    Example:
        >>> str(penalty_term("l2", 0.5))
        "l2(0.5, convention='sum_sq')"
    """
    check("penalty_term", {"penalty": penalty, "lam": lam}, _TABLE)
    return _term(penalty, lam)


def penalty_value(penalty: str, w1: Any, w2: Any, *, lam: float = 1.0) -> Any:
    """``λ·P(w₁, w₂)`` elementwise over broadcastable ``w₁``, ``w₂`` (numbers or arrays).

    ``P = |w₁| + |w₂|`` for ``"l1"``, ``w₁² + w₂²`` for ``"l2"``, ``0`` for ``"none"``;
    computed by the registry's penalty term, one two-weight model per point.

    Returns:
        An array of the broadcast shape (a numpy scalar for numbers).
    """
    check("penalty_value", {"penalty": penalty, "lam": lam}, _TABLE)
    return _stacked(_term(penalty, lam), w1, w2)


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
    term = _term(penalty, lam)
    if term is None:
        return J

    def value(w1: Any, w2: Any) -> Any:
        return J(w1, w2) + _stacked(term, w1, w2)

    return value


def _term(penalty: str, lam: float) -> Term | None:
    return None if penalty == "none" else make_term(penalty, strength=lam, **_TERMS[penalty])


def _stacked(term: Term | None, w1: Any, w2: Any) -> Any:
    """The term's penalty of each point ``(w₁, w₂)``, each point a two-weight model, in
    the broadcast shape of ``w₁`` and ``w₂``."""
    a, b = np.broadcast_arrays(np.asarray(w1), np.asarray(w2))
    if term is None:
        return np.zeros(a.shape)[()]
    return term.penalty([np.stack([a, b], axis=-1)], POINTS)[..., 0][()]
