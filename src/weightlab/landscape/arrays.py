"""The regularization terms' array operations on numpy points ``(w₁, w₂)``.

A point of a landscape is a model with two weights, and a grid of points is a stack of
such models: arrays ``[..., 2]`` whose last axis holds one model's weights.
:data:`POINTS` implements :class:`weightlab.regularize.ArrayOps` for that layout, so the
registry's penalty arithmetic, written once for torch, stacked, Keras and MLX weights,
gives ``λ·P(w)`` at every point of a grid in one call, in numpy (no tensor per point:
the solvers call it thousands of times on single points).

Example:
    >>> from weightlab.regularize import make_term
    >>> points = np.array([[1.0, -2.0], [0.5, 0.5]])
    >>> make_term("l1", strength=0.5, rule="penalty").penalty([points], POINTS).tolist()
    [[1.5], [0.5]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["POINTS", "PointOps"]

Array = npt.NDArray[Any]


class PointOps:
    """:class:`weightlab.regularize.ArrayOps` on numpy arrays ``[..., n]``: each entry of
    the leading axes is one model, the last axis its ``n`` weights (one unit)."""

    name = "numpy-points"

    def abs(self, x: Array) -> Array:
        return np.abs(x)

    def sign(self, x: Array) -> Array:
        return np.sign(x)

    def square(self, x: Array) -> Array:
        return np.square(x)

    def sqrt(self, x: Array) -> Array:
        return np.sqrt(x)

    def maximum(self, x: Array, value: Any) -> Any:
        return np.maximum(x, value)

    def minimum(self, x: Array, value: Any) -> Any:
        return np.minimum(x, value)

    def where(self, condition: Array, x: Any, y: Any) -> Any:
        return np.where(condition, x, y)

    def coef(self, value: Any, like: Array) -> Any:
        return np.asarray(value, dtype=like.dtype) if isinstance(value, np.ndarray) else value

    def wide(self, x: Array) -> Array:
        return x.astype(np.float32) if x.dtype == np.float16 else x

    def total(self, x: Array) -> Any:
        """Each model's sum, ``[..., 1]``."""
        return np.sum(x, axis=-1, keepdims=True)

    def unit_norm(self, x: Array) -> Any:
        """Each model's Euclidean norm, ``[..., 1]`` (its weights are one unit)."""
        return np.sqrt(np.sum(np.square(x), axis=-1, keepdims=True))

    def __repr__(self) -> str:
        return "PointOps()"


POINTS = PointOps()
"""Term arithmetic on numpy points: ``[..., 2]`` arrays, one two-weight model per point."""
