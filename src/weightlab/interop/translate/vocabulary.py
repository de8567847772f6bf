"""The vocabulary: one row per setting each framework has."""

from __future__ import annotations

from weightlab.interop.translate.components import COMPONENTS
from weightlab.interop.translate.keras_terms import _KERAS
from weightlab.interop.translate.mlx_terms import _MLX
from weightlab.interop.translate.torch_terms import _TORCH
from weightlab.interop.translate.weightlab_terms import _WEIGHTLAB

__all__ = ["COMPONENTS", "supported"]


COMPONENTS.update(
    {
        "torch": _TORCH,
        "keras": _KERAS,
        "mlx": _MLX,
        "weightlab": _WEIGHTLAB,
    }
)


def supported() -> dict[str, list[str]]:
    """Names of the settings each framework offers the translator, by framework.

    Example:
        >>> supported()["keras"][:3]
        ['SGD', 'Adam', 'AdamW']
    """
    return {fw: list(table) for fw, table in COMPONENTS.items()}
