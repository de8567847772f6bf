"""Real networks at the mean-field setting: a stack of ``Linear(width, width) → φ`` built
by :func:`weightlab.models.mlp` and drawn with ``W ~ N(0, σ_w²/width)`` (or ``√σ_w²``
times a Haar-orthogonal matrix) and ``b ~ N(0, σ_b²)``, through the registry's own
``normal`` and ``orthogonal`` schemes, and inputs with an exact length and correlation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from weightlab._validate import GENERATOR, OPTIONAL, Constraint, Interval, OneOf, check
from weightlab.activations import ACTIVATION_FNS
from weightlab.init import normal_, orthogonal_
from weightlab.models import mlp

__all__ = ["NETWORK_TABLE", "WEIGHTS", "input_pair", "pre_activations", "random_mlp"]

WEIGHTS: tuple[str, ...] = ("gaussian", "orthogonal")

NETWORK_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "activation": OneOf(tuple(ACTIVATION_FNS)),
    "sigma_w2": Interval(0.0, 1e6),
    "sigma_b2": Interval(0.0, 1e6),
    "depth": Interval(1, 1000, integer=True),
    "width": Interval(1, 4096, integer=True),
    "weights": OneOf(WEIGHTS),
    "slope": (Interval(0.0, 1.0), OPTIONAL),
    "generator": GENERATOR,
}


def random_mlp(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    *,
    weights: str = "gaussian",
    slope: float | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> nn.Sequential:
    """``depth`` blocks ``Linear(width, width) → φ`` (``mlp(width, [width] * depth, ·)``
    without its head), drawn for mean-field theory:

    - ``weights="gaussian"``: ``W ~ N(0, σ_w² / width)``;
    - ``weights="orthogonal"``: ``W = √σ_w² · Q``, ``Q`` Haar-orthogonal (Saxe et al. 2014);
    - biases ``b ~ N(0, σ_b²)`` (zero when ``σ_b² = 0``).

    float64 by default, so that Jacobian spectra keep singular values 1e-12 below the
    largest (float32 stops near 1e-6).

    Example:
        >>> net = random_mlp("tanh", 1.0, 0.0, 3, 8, generator=torch.Generator().manual_seed(0))
        >>> len(net), net[0].weight.dtype
        (6, torch.float64)
    """
    values = {"activation": activation, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
    values |= {"depth": depth, "width": width, "weights": weights, "slope": slope}
    check("random_mlp", {**values, "generator": generator}, NETWORK_TABLE)
    net = nn.Sequential(*list(mlp(width, [width] * depth, width, activation))[:-1])
    net.to(dtype)
    for module in net:
        if isinstance(module, nn.Linear):
            if weights == "orthogonal" and sigma_w2 > 0:
                orthogonal_(module.weight, gain=math.sqrt(sigma_w2), generator=generator)
            else:  # Gaussian, or σ_w² = 0 (zero weights) under either
                normal_(module.weight, std=math.sqrt(sigma_w2 / width), generator=generator)
            normal_(module.bias, std=math.sqrt(sigma_b2), generator=generator)
        elif isinstance(module, nn.LeakyReLU) and slope is not None:
            module.negative_slope = slope
    return net


def input_pair(
    width: int,
    corr: float,
    *,
    mean_square: float = 1.0,
    pairs: int = 1,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """``[2 · pairs, width]`` inputs: rows ``2k`` and ``2k+1`` have ``‖x‖²/width =
    mean_square`` each and cosine similarity exactly ``corr`` (random directions,
    Gram–Schmidt).

    Example:
        >>> x = input_pair(16, 0.3, generator=torch.Generator().manual_seed(0))
        >>> round(float(torch.cosine_similarity(x[0], x[1], dim=0)), 12)
        0.3
    """
    g = torch.randn(pairs, 2, width, generator=generator, dtype=dtype)
    u = g[:, 0] / g[:, 0].norm(dim=-1, keepdim=True)
    v = g[:, 1] - (g[:, 1] * u).sum(-1, keepdim=True) * u
    v = v / v.norm(dim=-1, keepdim=True)
    scale = math.sqrt(mean_square * width)
    a = scale * u
    b = scale * (corr * u + math.sqrt(max(1.0 - corr * corr, 0.0)) * v)
    return torch.stack([a, b], 1).reshape(2 * pairs, width)


@torch.no_grad()
def pre_activations(net: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every ``Linear`` of ``net`` on ``x``, in order."""
    found = []
    for module in net:
        x = module(x)
        if isinstance(module, nn.Linear):
            found.append(x)
    return found
