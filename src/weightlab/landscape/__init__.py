"""Two-weight loss landscapes: objectives ``J(w₁, w₂)``, their L1 and L2 penalties, the
regularized optimum as λ grows, and gradient-descent trajectories.

The maths behind seed 000's picture, which the report draws and the browser lab serves.
The penalties follow seed 000:
``J_L1(w) = J(w) + λ(|w₁| + |w₂|)`` (diamond level sets) and
``J_L2(w) = J(w) + λ(w₁² + w₂²)`` — the ``"sum_sq"`` convention of
:mod:`weightlab.regularize`, gradient ``2λw``, no ½.  Penalties and the L1 steps of
gradient descent are terms of the regularization registry.

===============  ===========================================================================
module           holds
===============  ===========================================================================
``objectives``   :class:`Objective`, the registry :data:`OBJECTIVES`, :func:`objective`
``derivatives``  :func:`gradient` and :func:`hessian` (exact or central differences)
``arrays``       :data:`~weightlab.landscape.arrays.POINTS`: term arithmetic on numpy points
``penalties``    :data:`PENALTIES`, :func:`penalized`, :func:`penalty_value`, :func:`penalty_term`
``paths``        :func:`regularized_path` (exact for quadratics, proximal Newton),
                 :func:`l1_first_axis`, :func:`l2_zero_crossings` (closed forms)
``descent``      :func:`gd_trajectory` (with the registry's L1 rules)
===============  ===========================================================================

Example:
    >>> J = objective("quadratic")
    >>> w_l1, w_l2 = regularized_path(J, "l1", [0.5])[0], regularized_path(J, "l2", [0.5])[0]
    >>> float(w_l1[1]), bool(w_l2[1] > 0)
    (0.0, True)

Tibshirani 1996 (the lasso, whose Fig. 2 is this picture); Hoerl & Kennard 1970 (ridge).
"""

from weightlab.landscape.derivatives import gradient, hessian
from weightlab.landscape.descent import gd_trajectory
from weightlab.landscape.objectives import (
    OBJECTIVES,
    PAIR,
    Objective,
    objective,
    objective_params,
    resolve_objective,
)
from weightlab.landscape.paths import l1_first_axis, l2_zero_crossings, regularized_path
from weightlab.landscape.penalties import PENALTIES, penalized, penalty_term, penalty_value

__all__ = [
    "OBJECTIVES",
    "PAIR",
    "PENALTIES",
    "Objective",
    "gd_trajectory",
    "gradient",
    "hessian",
    "l1_first_axis",
    "l2_zero_crossings",
    "objective",
    "objective_params",
    "penalized",
    "penalty_term",
    "penalty_value",
    "regularized_path",
    "resolve_objective",
]
