"""Build the model a run describes, sized for its dataset."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import nn

from weightlab._validate import fail
from weightlab.models.cnn import cnn
from weightlab.models.load import load_model
from weightlab.models.mlp import mlp

__all__ = ["ARCHS", "build_model", "linear"]

ARCHS: tuple[str, ...] = ("mlp", "cnn", "linear", "logistic", "module")


def linear(in_features: int, out_features: int) -> nn.Sequential:
    """``Flatten → Linear``: linear regression with an MSE loss, (multinomial) logistic
    regression with cross-entropy, where the L1 and L2 stories are cleanest."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, out_features))


def build_model(
    spec: Mapping[str, Any],
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    dropout: float = 0.0,
    dropout_mode: str = "inverted",
) -> nn.Module:
    """The module for ``spec`` (``arch`` and its settings), with ``dropout`` after every
    hidden activation where the architecture has hidden layers."""
    arch = spec["arch"]
    flat = math.prod(input_shape)
    if arch in ("linear", "logistic"):
        if dropout > 0:
            raise fail("model", "arch", "a model with hidden layers when dropout is used", arch)
        return linear(flat, n_outputs)
    if arch == "mlp":
        net = mlp(
            flat,
            list(spec["hidden"]),
            n_outputs,
            spec["activation"],
            dropout=dropout,
            dropout_mode=dropout_mode,
        )
        return nn.Sequential(nn.Flatten(), *net) if len(input_shape) > 1 else net
    if arch == "cnn":
        if len(input_shape) not in (2, 3):
            expected = (
                "a dataset with [channels, length] or [channels, height, width] inputs for cnn"
            )
            raise fail("model", "arch", expected, f"cnn on inputs of shape {list(input_shape)}")
        return cnn(
            input_shape[0],
            list(spec["channels"]),
            n_outputs,
            spec["activation"],
            kernel_size=int(spec["kernel_size"]),
            dim=len(input_shape) - 1,
            dropout=dropout,
            dropout_mode=dropout_mode,
        )
    if dropout > 0:
        raise fail("model", "arch", "a built-in architecture when dropout is used", arch)
    return load_model(str(spec["path"]))
