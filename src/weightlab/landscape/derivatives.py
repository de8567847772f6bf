"""Derivatives of a two-weight objective: exact for quadratics, central differences
otherwise.

For ``J = ½wᵀHw − gᵀw + const`` the gradient is ``Hw − g`` and the Hessian ``H``.  For
other objectives ``∂J/∂wᵢ ≈ (J(w + heᵢ) − J(w − heᵢ)) / 2h`` with ``h = 10⁻⁶·max(1, |w|)``
(error ``O(h²)`` from the third derivative plus rounding ``O(ε/h)``), and the Hessian is
central differences of that gradient with ``h = 10⁻⁴·max(1, |w|)``, symmetrized.

Example:
    >>> from weightlab.landscape.objectives import objective
    >>> J, w = objective("rosenbrock"), np.array([0.0, 1.0])
    >>> gradient(J, w).round(4).tolist(), np.diag(hessian(J, w)).round(2).tolist()
    ([-2.0, 200.0], [-398.0, 200.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab.landscape.objectives import Objective

__all__ = ["gradient", "hessian"]

Array = npt.NDArray[Any]


_STEPS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])


def gradient(obj: Objective, w: Array) -> Array:
    """``∇J(w)`` for ``w`` of shape ``[2]``: ``Hw − g`` or central differences."""
    if obj.quadratic is not None:
        H, g = obj.quadratic
        return H @ w - g
    h = 1e-6 * max(1.0, float(np.abs(w).max()))
    points = w + h * _STEPS
    f = np.asarray(obj.value(points[:, 0], points[:, 1]), dtype=float)
    return np.asarray((f[:2] - f[2:]) / (2 * h), dtype=float)


def hessian(obj: Objective, w: Array) -> Array:
    """``∇²J(w)``, shape ``[2, 2]``: ``H`` or symmetrized differences of :func:`gradient`."""
    if obj.quadratic is not None:
        return obj.quadratic[0]
    h = 1e-4 * max(1.0, float(np.abs(w).max()))
    cols = [(gradient(obj, w + h * e) - gradient(obj, w - h * e)) / (2 * h) for e in np.eye(2)]
    H = np.column_stack(cols)
    return np.asarray((H + H.T) / 2, dtype=float)
