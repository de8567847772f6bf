"""Strict JSON for every outer layer (the CLI's ``--json``, the lab's API): JSON has no
infinities or NaN, so they are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"``."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["finite_json", "to_json"]


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``"inf"``, ``"-inf"`` or
    ``"nan"``, tuples as lists.

    Example:
        >>> finite_json({"a": [1.0, float("inf")], "b": (float("nan"),)})
        {'a': [1.0, 'inf'], 'b': ['nan']}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def to_json(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON text of ``value`` (see :func:`finite_json`); other objects by ``str``."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(
        finite_json(value), indent=indent, allow_nan=False, default=str, separators=separators
    )
