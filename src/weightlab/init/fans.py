"""Fans and gains: the two numbers every variance-scaling scheme is built from.

A weight of shape ``[out, in, *kernel]`` (Linear: ``[out, in]``; ConvNd:
``[out, in/groups, k1, ..., kN]``) connects each output unit to ``fan_in = in · Πk``
inputs and each input unit to ``fan_out = out · Πk`` outputs.  The receptive field
``Πk`` counts because every kernel tap is one more incoming connection.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from weightlab._validate import OPTIONAL, Interval, OneOf, Tensor, check
from weightlab.activations import second_moment

__all__ = ["ACTIVATIONS", "FanMode", "calculate_gain", "fan", "fans", "second_moment_gain"]

FanMode = Literal["fan_in", "fan_out", "fan_avg"]
FAN_MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg")


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight tensor.

    ``fan_in = shape[1] · receptive``, ``fan_out = shape[0] · receptive`` with
    ``receptive = prod(shape[2:])`` (1 for Linear).  Same convention as
    ``torch.nn.init._calculate_fan_in_and_fan_out``.

    Args:
        tensor: a weight with at least 2 dimensions, ``[out, in, *kernel]``.

    Example:
        >>> fans(torch.empty(64, 3, 5, 5))
        (75, 1600)
    """
    check("fans", {"tensor": tensor}, {"tensor": Tensor(min_dim=2)})
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def fan(tensor: torch.Tensor, mode: str = "fan_in") -> float:
    """Return the fan selected by ``mode``: ``fan_in``, ``fan_out`` or ``fan_avg``
    (``(fan_in + fan_out) / 2``, Glorot & Bengio 2010)."""
    check("fan", {"mode": mode}, {"mode": OneOf(FAN_MODES)})
    fan_in, fan_out = fans(tensor)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


_MOMENT_NAMES = OneOf(("relu", "gelu", "silu"))

ACTIVATIONS: tuple[str, ...] = (
    "linear",
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
    "gelu",
    "silu",
    "conv1d",
    "conv2d",
    "conv3d",
)


def second_moment_gain(activation: str) -> float:
    """Gain ``1 / sqrt(E[φ(z)²])`` for ``z ~ N(0, 1)``.

    This is the factor He et al. (2015) derive for ReLU (``E[relu(z)²] = 1/2`` gives
    ``√2``): it keeps ``E[a²]`` equal to ``Var(z)`` from layer to layer.  weightlab uses
    it for activations torch gives no gain for (``gelu``, ``silu``).
    """
    check("second_moment_gain", {"activation": activation}, {"activation": _MOMENT_NAMES})
    return 1.0 / math.sqrt(second_moment(activation, 1.0))


def calculate_gain(activation: str, param: float | None = None) -> float:
    """Recommended gain for weights followed by ``activation``.

    ================  ====================================
    activation        gain
    ================  ====================================
    linear, conv*     1
    sigmoid           1
    tanh              5/3
    relu              √2
    leaky_relu        √(2 / (1 + a²)), ``a = param`` (0.01)
    selu              3/4
    gelu, silu        1/√E[φ(z)²], z ~ N(0, 1) (≈1.534, ≈1.677)
    ================  ====================================

    The first six equal ``torch.nn.init.calculate_gain``.  torch has no value for GELU or
    SiLU; weightlab uses the second-moment gain, the rule behind He's √2 for ReLU
    (He et al. 2015, "Delving Deep into Rectifiers").

    Example:
        >>> round(calculate_gain("tanh"), 4)
        1.6667
    """
    check(
        "calculate_gain",
        {"activation": activation, "param": param},
        {"activation": OneOf(ACTIVATIONS), "param": (Interval(), OPTIONAL)},
    )
    if activation == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if activation in ("gelu", "silu"):
        return second_moment_gain(activation)
    return {"tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75}.get(activation, 1.0)
