"""One histogram function and one histogram type for everything weightlab draws or
stores: activations and gradients (:mod:`weightlab.diagnose`), weights during training
(:mod:`weightlab.train`, the store) and the lab's live plots."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

__all__ = ["Histogram", "HistogramRow", "histogram"]


@dataclass(frozen=True)
class Histogram:
    """Counts of values in ``len(counts)`` equal bins between ``low`` and ``high``;
    ``zeros`` counts the values exactly 0 (they are in their bin too) and ``nonfinite``
    the NaN and infinite values (in no bin).  An empty or all-non-finite input gives
    ``low = high = nan`` and no bins."""

    low: float
    high: float
    counts: tuple[int, ...]
    zeros: int = 0
    nonfinite: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain types for JSON."""
        return {
            "low": self.low,
            "high": self.high,
            "counts": list(self.counts),
            "zeros": self.zeros,
            "nonfinite": self.nonfinite,
        }


class HistogramRow(NamedTuple):
    """A histogram as the store keeps it: at a training step, of a kind (``weight``,
    ``activation``) and a layer (``*`` for all selected weights together)."""

    step: int
    kind: str
    layer: str
    low: float
    high: float
    counts: list[int]

    @classmethod
    def of(cls, step: int, kind: str, layer: str, hist: Histogram) -> HistogramRow:
        return cls(step, kind, layer, hist.low, hist.high, list(hist.counts))


def histogram(
    values: torch.Tensor,
    bins: int = 40,
    *,
    bounds: tuple[float, float] | None = None,
    symmetric: bool = False,
) -> Histogram:
    """Counts of the finite entries of ``values`` in ``bins`` equal bins.

    The range is ``bounds`` when given; else ``[-m, m]`` with ``m`` the largest ``|value|``
    when ``symmetric`` (weights: zero sits in the middle, 1 when every value is 0);
    else ``[min, max]``, widened by ½ on each side when all values are equal.  Values
    outside ``bounds`` go to the end bins.

    Example:
        >>> h = histogram(torch.tensor([0.0, 0.0, 1.0, -1.0]), bins=4, symmetric=True)
        >>> h.counts, h.zeros, h.low, h.high
        ((1, 0, 2, 1), 2, -1.0, 1.0)
    """
    flat = values.detach().reshape(-1).float()
    total = flat.numel()
    finite = torch.isfinite(flat)
    if not bool(finite.all()):
        flat = flat[finite]
    nonfinite = total - flat.numel()
    if flat.numel() == 0:
        return Histogram(math.nan, math.nan, (), 0, nonfinite)
    low, high = bounds if bounds is not None else _range(flat, symmetric)
    # bincount over bucket indices (several times faster than histc on CPU), in float64
    # so that even float32's extreme values have a finite width.
    # Dividing before multiplying puts 0 of a symmetric range exactly at bins/2.
    index = ((flat.double() - low) / (high - low) * bins).long().clamp_(0, bins - 1)
    counts = torch.bincount(index, minlength=bins)
    zeros = int((flat == 0).sum())
    return Histogram(low, high, tuple(int(c) for c in counts.tolist()), zeros, nonfinite)


def _range(flat: torch.Tensor, symmetric: bool) -> tuple[float, float]:
    if symmetric:
        m = float(flat.abs().max())
        m = m if m > 0 and math.isfinite(m) else 1.0
        return -m, m
    lo, hi = torch.aminmax(flat)
    low, high = float(lo), float(hi)
    return (low - 0.5, high + 0.5) if high <= low else (low, high)
