"""Propagation statistics: hooks clean up, the model is untouched, the classic effects show."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from weightlab.diagnose import forward_backward_stats, recording
from weightlab.init import init_module
from weightlab.models import mlp


def _net(scheme: str, gen: torch.Generator, activation: str = "tanh", depth: int = 8) -> nn.Module:
    net = mlp(64, [64] * depth, 4, activation)
    init_module(net, scheme, generator=gen)
    return net


def test_hooks_grads_and_mode_are_left_as_they_were(gen: torch.Generator) -> None:
    net = _net("xavier_normal", gen).eval()
    before = [p.detach().clone() for p in net.parameters()]
    forward_backward_stats(net, torch.randn(32, 64, generator=gen))
    assert all(not m._forward_hooks for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    assert not any(m.training for m in net.modules())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_recording_removes_hooks_on_error() -> None:
    layer = nn.Linear(2, 2)
    with pytest.raises(RuntimeError), recording({"l": layer}):
        raise RuntimeError("boom")
    assert not layer._forward_hooks


def test_zero_init_collapses_every_layer_to_one_unit(gen: torch.Generator) -> None:
    stats = forward_backward_stats(_net("constant(0.1)", gen), torch.randn(32, 64, generator=gen))
    assert all(s.distinct_units == 1 for s in stats)


def test_tiny_init_vanishes_and_lecun_keeps_scale_in_tanh(gen: torch.Generator) -> None:
    x = torch.randn(256, 64, generator=gen)
    tiny = forward_backward_stats(_net("normal(std=0.01)", gen), x)
    good = forward_backward_stats(_net("xavier_fan_in", gen), x)
    # N(0, 0.01²) with fan_in 64 multiplies the std by about 0.08 per layer.
    assert tiny[7].activation_std < 1e-6
    assert good[7].activation_std > 0.15
    assert all(s.distinct_units == 64 for s in good[:-1])


def test_he_keeps_relu_signal_where_lecun_halves_it(gen: torch.Generator) -> None:
    x = torch.randn(1024, 64, generator=gen)
    he = forward_backward_stats(_net("he_normal", gen, "relu", depth=12), x)
    lecun = forward_backward_stats(_net("lecun_normal", gen, "relu", depth=12), x)
    ratio_he = he[11].activation_std / he[0].activation_std
    ratio_lecun = lecun[11].activation_std / lecun[0].activation_std
    assert 0.5 < ratio_he < 2.0
    # He et al. 2015: with Var(W) = 1/n the second moment halves per ReLU layer.
    assert ratio_lecun == pytest.approx(0.5 ** (11 / 2), rel=0.5)


def test_rejects_bad_input() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'x' parameter of forward_backward_stats must be a torch.Tensor with at least 2 dimensions\. Got a tensor of shape \(4,\)\.",
    ):
        forward_backward_stats(nn.Linear(4, 2), torch.randn(4))
