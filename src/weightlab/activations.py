"""Activations by name: their modules, their functions, and the second moment
``E[φ(z)²]`` of each under a Gaussian input, which every variance derivation uses.

One table serves the model builders, activation detection, gains and the theory, so the
names mean the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ACTIVATION_FNS", "ACTIVATION_MODULES", "activate", "second_moment"]

ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}

ACTIVATION_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda z: z,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": F.leaky_relu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
}


def activate(name: str, z: torch.Tensor, slope: float | None = None) -> torch.Tensor:
    """``φ(z)`` for an activation name; ``slope`` is a leaky ReLU's (default 0.01)."""
    if name == "leaky_relu":
        return F.leaky_relu(z, 0.01 if slope is None else slope)
    return ACTIVATION_FNS.get(name, ACTIVATION_FNS["linear"])(z)


@cache
def _hermite() -> tuple[torch.Tensor, torch.Tensor]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(101)
    return torch.from_numpy(nodes), torch.from_numpy(weights / math.sqrt(2 * math.pi))


def second_moment(name: str, q: float = 1.0, slope: float | None = None) -> float:
    """``E[φ(z)²]`` for ``z ~ N(0, q)``: exact for linear, ReLU and leaky ReLU (the ReLU
    factor ½ of He et al. 2015), 101-point Gauss–Hermite quadrature otherwise.

    Example:
        >>> second_moment("relu", 2.0)
        1.0
    """
    if not math.isfinite(q):
        return math.inf
    if name in ("linear", "identity"):
        return q
    if name == "relu":
        return q / 2
    if name == "leaky_relu":
        a = 0.01 if slope is None else slope
        return q * (1 + a * a) / 2
    x, w = _hermite()
    phi = activate(name, x * math.sqrt(max(q, 0.0)), slope)
    return float((w * phi.pow(2)).sum())
