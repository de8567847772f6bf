"""Fans and gains: exact agreement with torch, quadrature checked by sampling."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.init import _calculate_fan_in_and_fan_out

from weightlab.init import calculate_gain, fan, fans, second_moment_gain


@given(st.lists(st.integers(1, 7), min_size=2, max_size=5))
def test_fans_match_torch_for_any_shape(shape: list[int]) -> None:
    tensor = torch.empty(shape)
    assert fans(tensor) == _calculate_fan_in_and_fan_out(tensor)


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (torch.nn.Linear(20, 30), (20, 30)),
        (torch.nn.Conv1d(4, 8, 5), (20, 40)),
        (torch.nn.Conv2d(3, 64, (5, 3)), (45, 960)),
        (torch.nn.Conv3d(2, 6, 3), (54, 162)),
        (torch.nn.Conv2d(8, 8, 3, groups=4), (18, 72)),
    ],
)
def test_fans_count_receptive_field(layer: torch.nn.Module, expected: tuple[int, int]) -> None:
    assert fans(layer.weight) == expected


def test_fan_avg_is_the_mean() -> None:
    w = torch.empty(30, 20)
    assert fan(w, "fan_avg") == 25.0
    assert fan(w, "fan_out") == 30


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_reject_tensors_without_fans(shape: tuple[int, ...]) -> None:
    msg = rf"The 'tensor' parameter of fans must be a torch.Tensor with at least 2 dimensions\. Got a tensor of shape \({','.join(map(str, shape))}"
    with pytest.raises(ValueError, match=msg):
        fans(torch.empty(shape))


def test_fan_rejects_unknown_mode() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'mode' parameter of fan must be one of 'fan_in', 'fan_out', 'fan_avg'\. Got 'fan_inn'\.",
    ):
        fan(torch.empty(2, 2), "fan_inn")


@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "relu", "selu", "conv2d"])
def test_gains_match_torch(name: str) -> None:
    assert calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-12)


@pytest.mark.parametrize("slope", [None, 0.0, 0.1, 0.2, 1.0])
def test_leaky_relu_gain_matches_torch(slope: float | None) -> None:
    expected = torch.nn.init.calculate_gain("leaky_relu", slope)
    assert calculate_gain("leaky_relu", slope) == pytest.approx(expected, rel=1e-12)


def test_second_moment_gain_reproduces_he_for_relu() -> None:
    assert second_moment_gain("relu") == pytest.approx(math.sqrt(2.0), abs=1e-6)


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_second_moment_gain_keeps_unit_second_moment(name: str, gen: torch.Generator) -> None:
    # gain² · E[φ(z)²] = 1 for z ~ N(0, 1); 4M samples give a relative SE near 0.1%.
    z = torch.randn(4_000_000, generator=gen, dtype=torch.float64)
    phi = getattr(torch.nn.functional, name)(z)
    second = (phi**2).mean().item()
    se = (phi**2).std().item() / math.sqrt(z.numel())
    assert calculate_gain(name) ** 2 * second == pytest.approx(
        1.0, abs=5 * se * calculate_gain(name) ** 2
    )


def test_unknown_activation_lists_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'activation' parameter of calculate_gain must be one of 'linear'.*'silu'.*Got 'relu6'\.",
    ):
        calculate_gain("relu6")


def test_bad_leaky_slope_is_rejected() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'param' parameter of calculate_gain must be a float \(finite\) or None\. Got nan\.",
    ):
        calculate_gain("leaky_relu", float("nan"))
