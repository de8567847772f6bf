"""Effective learning rates: relative update sizes and Adam's per-weight step sizes,
checked against hand computation and against the update torch.optim.Adam makes."""

from __future__ import annotations

import math

import pytest
import torch

from weightlab.train.effective import adam_step_sizes, step_size_summary, update_ratios


def test_update_ratio_is_the_relative_change() -> None:
    before = [torch.tensor([[3.0, 4.0]]), torch.zeros(2), torch.zeros(1)]
    after = [torch.tensor([[3.0, 4.5]]), torch.ones(2), torch.zeros(1)]
    ratios = update_ratios(["a", "b", "c"], before, after)
    assert ratios == {"update_ratio/a": 0.1, "update_ratio/b": math.inf, "update_ratio/c": 0.0}


def _adam(
    betas: tuple[float, float], steps: int
) -> tuple[torch.optim.Adam, torch.nn.Parameter, list[torch.Tensor]]:
    # float64, so that the update read back from the weights carries no float32 rounding
    gen = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.randn(5, 4, generator=gen, dtype=torch.float64))
    opt = torch.optim.Adam([w], lr=0.01, betas=betas, eps=1e-8)
    grads = []
    for _ in range(steps):
        scale = torch.logspace(-3, 1, 4, dtype=torch.float64)
        w.grad = torch.randn(5, 4, generator=gen, dtype=torch.float64) * scale
        grads.append(w.grad.clone())
        opt.step()
    return opt, w, grads


def test_step_sizes_are_lr_over_root_v_hat_plus_eps_from_the_state() -> None:
    opt, w, grads = _adam((0.9, 0.999), steps=7)
    v = torch.zeros(5, 4, dtype=torch.float64)
    for g in grads:  # Adam's second moment, by hand
        v = 0.999 * v + 0.001 * g * g
    v_hat = v / (1 - 0.999**7)
    want = (0.01 / (v_hat.sqrt() + 1e-8)).reshape(-1)
    torch.testing.assert_close(adam_step_sizes(opt, [w]).double(), want, rtol=1e-6, atol=0.0)


def test_without_momentum_the_step_size_times_the_gradient_is_the_update() -> None:
    opt, w, _ = _adam((0.0, 0.999), steps=3)
    before = w.detach().clone()
    w.grad = torch.randn(5, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    opt.step()
    sizes = adam_step_sizes(opt, [w]).reshape(5, 4).double()  # after the step: its own v̂
    # The step sizes are returned in float32: agreement to float32's relative precision.
    torch.testing.assert_close(before - w.detach(), sizes * w.grad, rtol=1e-6, atol=0.0)


def test_large_gradients_get_small_steps_and_the_spread_shows_it() -> None:
    opt, w, _ = _adam((0.9, 0.999), steps=20)
    sizes = adam_step_sizes(opt, [w]).reshape(5, 4)
    assert bool((sizes[:, 0] > 100 * sizes[:, 3]).all())  # gradients 1e-3 against 10
    summary = step_size_summary(sizes.reshape(-1))
    assert summary["adam_decay_spread"] > 100
    assert adam_step_sizes(torch.optim.SGD([w], lr=0.1), [w]).numel() == 0
    assert step_size_summary(torch.zeros(0)) == {}


def test_the_summary_of_equal_steps() -> None:
    assert step_size_summary(torch.full((10,), 0.5)) == pytest.approx(
        {"adam_step_median": 0.5, "adam_decay_spread": 1.0}
    )
