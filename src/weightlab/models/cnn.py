"""Small convolutional networks: [Conv → activation (→ dropout)] × depth, global average
pooling and a linear head.  1-D for sequences such as MNIST-1D, 2-D for images."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from weightlab._validate import PROBABILITY, Interval, OneOf, check
from weightlab.activations import ACTIVATION_MODULES
from weightlab.models.mlp import _WIDTHS
from weightlab.regularize import MODES, Dropout

__all__ = ["cnn"]

_TABLE = {
    "in_channels": Interval(1, 1 << 16, integer=True),
    "channels": _WIDTHS,
    "out_features": Interval(1, 1 << 20, integer=True),
    "activation": OneOf(tuple(ACTIVATION_MODULES)),
    "kernel_size": Interval(1, 63, integer=True),
    "dim": Interval(1, 2, integer=True),
    "dropout": PROBABILITY,
    "dropout_mode": OneOf(MODES),
}


def cnn(
    in_channels: int,
    channels: Sequence[int],
    out_features: int,
    activation: str = "relu",
    *,
    kernel_size: int = 3,
    dim: int = 2,
    dropout: float = 0.0,
    dropout_mode: str = "inverted",
) -> nn.Sequential:
    """``[ConvNd(k, 'same' padding) → activation → Dropout?] × len(channels) →
    global average pool → Linear``.

    Example:
        >>> import torch
        >>> net = cnn(1, [16, 16], 10, dim=1)
        >>> net(torch.randn(4, 1, 40)).shape
        torch.Size([4, 10])
    """
    check(
        "cnn",
        {
            "in_channels": in_channels,
            "channels": channels,
            "out_features": out_features,
            "activation": activation,
            "kernel_size": kernel_size,
            "dim": dim,
            "dropout": dropout,
            "dropout_mode": dropout_mode,
        },
        _TABLE,
    )
    conv = nn.Conv1d if dim == 1 else nn.Conv2d
    pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
    layers: list[nn.Module] = []
    width = in_channels
    for c in channels:
        layers += [
            conv(width, c, kernel_size, padding=kernel_size // 2),
            ACTIVATION_MODULES[activation](),
        ]
        if dropout > 0:
            layers.append(Dropout(dropout, mode=dropout_mode))  # type: ignore[arg-type]
        width = c
    layers += [pool, nn.Flatten(), nn.Linear(width, out_features)]
    return nn.Sequential(*layers)
