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

__all__ = [
    "ACTIVATION_FNS",
    "ACTIVATION_MODULES",
    "activate",
    "crowded_nodes",
    "gaussian_nodes",
    "legendre",
    "second_moment",
]

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


GAUSS_RADIUS = 10.0  # the standard normal mass beyond ±10 is 1e-23
_GAUSS_NODES = 64  # Gauss–Legendre nodes per piece of a half-line


@cache
def legendre(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss–Legendre nodes and weights on [0, 1] (float64)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return torch.from_numpy((x + 1) / 2), torch.from_numpy(w / 2)


def crowded_nodes(q: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes ``r`` ``[P, 2n]`` on (0, R) and their interval weights, ``R`` =
    :data:`GAUSS_RADIUS`: ``n`` Gauss–Legendre nodes on each side of ``min(4/√q, R/2)``,
    so that they crowd where ``√q·r`` is about 1 (where an activation bends) however
    large ``q`` is."""
    x, w = legendre(n)
    cut = (4.0 / q.clamp_min(1e-300).sqrt()).clamp(max=GAUSS_RADIUS / 2).unsqueeze(-1)
    r = torch.cat([cut * x, cut + (GAUSS_RADIUS - cut) * x], -1)
    return r, torch.cat([cut * w, (GAUSS_RADIUS - cut) * w], -1)


def gaussian_nodes(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes ``z`` ``[P, 4n]`` and weights for ``E[g(√q·z)]``, ``z ~ N(0, 1)``, one row per
    entry of ``q`` (float64): a piecewise Gauss–Legendre rule on each half-line, cut at 0
    (where ReLU, leaky ReLU and SELU have their kink: exact for piecewise-linear
    activations) and at ``4/√q`` (where smooth ones bend), normalized so that
    ``E[1] = 1`` to the last bit.  Within 1e-10 of adaptive quadrature for every
    activation from ``q = 0.01`` to ``q = 20``, and it keeps its digits as ``q`` grows,
    where a Gauss–Hermite rule, whose nodes do not follow ``1/√q``, loses them (3% for
    tanh at ``q = 50`` with 101 nodes)."""
    r, w = crowded_nodes(q, _GAUSS_NODES)
    w = w * torch.exp(-r * r / 2)
    w = w / (2 * w.sum(-1, keepdim=True))
    return torch.cat([r, -r], -1), torch.cat([w, w], -1)


def second_moment(name: str, q: float = 1.0, slope: float | None = None) -> float:
    """``E[φ(z)²]`` for ``z ~ N(0, q)``: exact for linear, ReLU and leaky ReLU (the ReLU
    factor ½ of He et al. 2015), the quadrature of :func:`gaussian_nodes` otherwise.

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
    z, w = gaussian_nodes(torch.tensor([max(q, 0.0)], dtype=torch.float64))
    phi = activate(name, z * math.sqrt(max(q, 0.0)), slope)
    return float((w * phi.pow(2)).sum())
