"""The few array operations a regularization term's arithmetic is written with.

A term's penalty, update rule or dropout arithmetic is written once, against the
:class:`ArrayOps` protocol, and runs unchanged on

- one torch model (:data:`TORCH`: weights ``[out, in, *kernel]``, plain numbers as
  strengths),
- K torch models trained as one stack (:data:`STACKED`: weights ``[K, in, out]``,
  strengths as ``[K, 1, 1]`` tensors),
- Keras kernels (``weightlab.keras``) and MLX arrays (``weightlab.mlx``), which supply
  their own implementations of the protocol.

Python's arithmetic operators (``+ - * /``, comparisons) work on every array type and on
plain numbers, so term code uses them directly; the protocol holds what has no common
spelling: the elementwise functions, the two reductions a term needs (a model's total
and each unit's incoming-weight norm, which depend on the layout) and the rounding of a
coefficient to the weights' dtype.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor

__all__ = ["STACKED", "TORCH", "ArrayOps", "TorchOps"]


class ArrayOps(Protocol):
    """What term arithmetic may call besides Python's operators.

    ``x`` is a weight (or activation) array; ``value`` may be a Python number or, when
    models are stacked, an array that broadcasts against ``x`` (``[K, 1, 1]``).
    """

    name: str

    def abs(self, x: Any) -> Any: ...
    def sign(self, x: Any) -> Any: ...
    def square(self, x: Any) -> Any: ...
    def sqrt(self, x: Any) -> Any: ...
    def maximum(self, x: Any, value: Any) -> Any: ...
    def minimum(self, x: Any, value: Any) -> Any: ...
    def where(self, condition: Any, x: Any, y: Any) -> Any: ...

    def coef(self, value: Any, like: Any) -> Any:
        """``value`` rounded once to ``like``'s dtype (a no-op for Python numbers, which
        every framework already applies in the array's dtype)."""
        ...

    def wide(self, x: Any) -> Any:
        """``x`` in float32 when it is float16 or bfloat16 (their sums overflow:
        a million weights of 0.3 give Σw² = 90 000 > 65 504), else ``x``."""
        ...

    def total(self, x: Any) -> Any:
        """The sum of each model's entries: a 0-dim value, or ``[K, 1, ..., 1]`` when
        stacked."""
        ...

    def unit_norm(self, x: Any) -> Any:
        """The Euclidean norm of each unit's incoming weights, shaped to broadcast
        against ``x`` (in torch's layout, the rows of a Linear weight ``[out, in]``)."""
        ...


class TorchOps:
    """:class:`ArrayOps` on torch tensors, for one model (``stacked=False``: weights
    ``[out, in, *kernel]``, a unit's incoming weights are everything but dimension 0)
    or for K stacked models (weights ``[K, in, out]``: dimension 0 indexes models,
    a unit's incoming weights are dimension 1)."""

    def __init__(self, *, stacked: bool) -> None:
        self.stacked = stacked
        self.name = "torch-stacked" if stacked else "torch"

    def abs(self, x: Tensor) -> Tensor:
        return x.abs()

    def sign(self, x: Tensor) -> Tensor:
        return x.sign()

    def square(self, x: Tensor) -> Tensor:
        return x.square()

    def sqrt(self, x: Tensor) -> Tensor:
        return x.sqrt()

    def maximum(self, x: Tensor, value: Any) -> Tensor:
        return torch.maximum(x, value) if isinstance(value, Tensor) else x.clamp_min(value)

    def minimum(self, x: Tensor, value: Any) -> Tensor:
        return torch.minimum(x, value) if isinstance(value, Tensor) else x.clamp_max(value)

    def where(self, condition: Tensor, x: Any, y: Any) -> Tensor:
        return torch.where(condition, x, y)

    def coef(self, value: Any, like: Tensor) -> Any:
        return value.to(like.dtype) if isinstance(value, Tensor) else value

    def wide(self, x: Tensor) -> Tensor:
        return x.to(torch.promote_types(x.dtype, torch.float32))

    def total(self, x: Tensor) -> Tensor:
        if not self.stacked:
            return x.sum()
        return x.sum(dim=tuple(range(1, x.dim())), keepdim=True)

    def unit_norm(self, x: Tensor) -> Tensor:
        norm: Tensor
        if self.stacked:
            norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
        elif x.dim() < 2:
            norm = torch.linalg.vector_norm(x)
        else:
            norm = torch.linalg.vector_norm(x, dim=tuple(range(1, x.dim())), keepdim=True)
        return norm

    def __repr__(self) -> str:
        return f"TorchOps(stacked={self.stacked})"


TORCH = TorchOps(stacked=False)
"""Term arithmetic on one torch model."""
STACKED = TorchOps(stacked=True)
"""Term arithmetic on K models stacked as ``[K, in, out]`` weights."""
