"""How values are written: in a setting the parser reads back, and in code."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from weightlab.interop.translate.meanings import LR


def _literal(value: Any) -> str:
    """A value as the spec parser reads it back (full float precision)."""
    return LR if value == LR else repr(value)


def _kwargs(values: Mapping[str, Any], skip: Sequence[str] = ()) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in values.items() if k not in skip)


def _show(value: Any) -> str:
    """A value as code shows it: ``0.02``, ``1/3``, ``math.sqrt(2)``, ``lr``."""
    if value == LR:
        return LR
    if isinstance(value, float):
        return _pretty(value)
    if isinstance(value, tuple):
        inner = ", ".join(_show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _pretty(x: float) -> str:
    text = repr(_clean(x))
    if len(text.lstrip("-")) <= 10 or x == 0.0:
        return text
    for value, form in ((x, "{}"), (x * x, "math.sqrt({})")):
        ratio = Fraction(value).limit_denominator(64)
        if ratio and math.isclose(float(ratio), value, rel_tol=1e-12):
            return form.format(str(ratio))
    return text


def _clean(x: float) -> float:
    """``x`` rounded to 12 significant digits: ``0.020000000000000004`` reads ``0.02``."""
    return float(f"{x:.12g}")
