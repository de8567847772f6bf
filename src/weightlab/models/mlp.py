"""Multi-layer perceptrons: Linear → activation (→ dropout) blocks and a linear head."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from weightlab._validate import PROBABILITY, Interval, OneOf, Satisfies, check
from weightlab.activations import ACTIVATION_MODULES
from weightlab.regularize import MODES, Dropout

__all__ = ["ACTIVATION_MODULES", "mlp"]

_WIDTHS = Satisfies(
    lambda v: (
        isinstance(v, Sequence)
        and all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in v)
    ),
    "a sequence of positive ints",
)
_TABLE = {
    "in_features": Interval(1, 1 << 20, integer=True),
    "hidden": _WIDTHS,
    "out_features": Interval(1, 1 << 20, integer=True),
    "activation": OneOf(tuple(ACTIVATION_MODULES)),
    "dropout": PROBABILITY,
    "dropout_mode": OneOf(MODES),
}


def mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    activation: str = "relu",
    *,
    dropout: float = 0.0,
    dropout_mode: str = "inverted",
) -> nn.Sequential:
    """``[Linear → activation → Dropout?] × len(hidden) → Linear`` as an ``nn.Sequential``.

    Layers keep torch's default initialization; apply a scheme with
    :func:`weightlab.init.init_module`.

    Example:
        >>> mlp(40, [100, 100], 10, "relu", dropout=0.2)[0]
        Linear(in_features=40, out_features=100, bias=True)
    """
    check(
        "mlp",
        {
            "in_features": in_features,
            "hidden": hidden,
            "out_features": out_features,
            "activation": activation,
            "dropout": dropout,
            "dropout_mode": dropout_mode,
        },
        _TABLE,
    )
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATION_MODULES[activation]()]
        if dropout > 0:
            layers.append(Dropout(dropout, mode=dropout_mode))  # type: ignore[arg-type]
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)
