"""The MLP builder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from weightlab.models import mlp
from weightlab.regularize import Dropout


def test_mlp_structure_and_shapes() -> None:
    net = mlp(40, [100, 50], 10, "tanh", dropout=0.2)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.Tanh, Dropout, nn.Linear, nn.Tanh, Dropout, nn.Linear]
    assert net(torch.randn(3, 40)).shape == (3, 10)


def test_no_dropout_layers_when_p_is_zero() -> None:
    assert not any(isinstance(m, Dropout) for m in mlp(4, [8], 2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"hidden": [8, 0]},
            r"The 'hidden' parameter of mlp must be a sequence of positive ints\. Got \[8, 0\]\.",
        ),
        (
            {"activation": "relu6"},
            r"The 'activation' parameter of mlp must be one of 'linear', .*Got 'relu6'\.",
        ),
        (
            {"dropout": 1.0},
            r"The 'dropout' parameter of mlp must be a float in \[0, 1\)\. Got 1\.0\.",
        ),
        (
            {"dropout_mode": "gaussian"},
            r"The 'dropout_mode' parameter of mlp must be one of 'inverted', 'classic'\. Got 'gaussian'\.",
        ),
    ],
)
def test_mlp_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"in_features": 4, "hidden": [8], "out_features": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        mlp(**args)  # type: ignore[arg-type]
