"""The one histogram function: ranges, exact zeros, non-finite values."""

from __future__ import annotations

import math

import torch

from weightlab.histogram import Histogram, HistogramRow, histogram


def test_non_finite_values_are_counted_apart_and_zeros_too() -> None:
    h = histogram(torch.tensor([float("nan"), float("inf"), 2.0, -1.0, 0.0]), 4, symmetric=True)
    assert (h.low, h.high, sum(h.counts), h.zeros, h.nonfinite) == (-2.0, 2.0, 3, 1, 2)
    assert h.counts == (0, 1, 1, 1)  # -1 in [-1, 0), 0 in [0, 1), 2 at the top edge


def test_the_three_ranges() -> None:
    x = torch.tensor([1.0, 2.0, 3.0, 5.0])
    assert (histogram(x, 4).low, histogram(x, 4).high) == (1.0, 5.0)
    assert (histogram(x, 4, symmetric=True).low, histogram(x, 4, symmetric=True).high) == (-5, 5)
    bounded = histogram(x, 2, bounds=(0.0, 2.0))
    assert bounded.counts == (0, 4)  # values beyond the bounds go to the end bins
    flat = histogram(torch.full((3,), 7.0), 2)
    assert (flat.low, flat.high, flat.counts) == (6.5, 7.5, (0, 3))
    zeros = histogram(torch.zeros(5), 2, symmetric=True)
    assert (zeros.low, zeros.high, zeros.counts, zeros.zeros) == (-1.0, 1.0, (0, 5), 5)


def test_empty_and_extreme_inputs() -> None:
    empty = histogram(torch.tensor([float("nan")]), 3)
    assert math.isnan(empty.low) and empty.counts == () and empty.nonfinite == 1
    huge = histogram(torch.tensor([-3e38, 3e38]), 2)  # the width overflows float32
    assert huge.counts == (1, 1)


def test_counts_match_numpy_on_random_values() -> None:
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(0))
    h = histogram(x, 30)
    import numpy as np

    want, _ = np.histogram(x.numpy(), bins=30, range=(h.low, h.high))
    # numpy closes the last bin on the right as this function does; float rounding at a
    # bin edge may move a value by one bin.
    assert sum(abs(a - b) for a, b in zip(h.counts, want.tolist(), strict=True)) <= 2
    assert sum(h.counts) == 10_000


def test_rows_and_json() -> None:
    h = Histogram(-1.0, 1.0, (1, 2), zeros=1)
    assert HistogramRow.of(3, "weight", "*", h) == (3, "weight", "*", -1.0, 1.0, [1, 2])
    assert h.to_json() == {"low": -1.0, "high": 1.0, "counts": [1, 2], "zeros": 1, "nonfinite": 0}


def test_exact_zeros_land_right_of_zero_in_a_symmetric_range() -> None:
    for m in (0.1, 0.3, 1.7, 123.456, 3e-7):
        x = torch.tensor([0.0, m, -m], dtype=torch.float32)
        h = histogram(x, 60, symmetric=True)
        assert h.counts[30] == 1 and h.counts[0] == 1 and h.counts[59] == 1, m
