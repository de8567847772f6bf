"""Helpers shared by the landscape tests: error patterns, numeric gradients and the L1
optimality conditions."""

from __future__ import annotations

import re

import numpy as np


def msg(text: str) -> str:
    """An error message as a literal ``pytest.raises(match=...)`` pattern."""
    return re.escape(text)


def numeric_grad(J, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``J`` at ``w``, written independently of the library's."""
    return np.array(
        [
            (J(w[0] + h, w[1]) - J(w[0] - h, w[1])) / (2 * h),
            (J(w[0], w[1] + h) - J(w[0], w[1] - h)) / (2 * h),
        ]
    )


def kkt_l1(grad: np.ndarray, w: np.ndarray, lam: float, tol: float) -> bool:
    """Subgradient optimality of J + λ‖w‖₁: ∇J + λ·sign(w) = 0 off zero, |∇J| ≤ λ at zero."""
    on = w != 0
    return bool(
        np.all(np.abs(grad[on] + lam * np.sign(w[on])) <= tol)
        and np.all(np.abs(grad[~on]) <= lam + tol)
    )
