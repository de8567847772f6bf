"""Effective learning rates: relative update sizes and Adam's per-weight step sizes,
checked against hand computation and against the update torch.optim.Adam makes, and
what a run with ``train.effective_lr`` records."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from weightlab.data import load_dataset
from weightlab.histogram import histogram
from weightlab.sweep import expand, load_spec
from weightlab.train import RunConfig, Trainer, loop, train_run
from weightlab.train.effective import (
    STEP_KIND,
    adam_step_sizes,
    log_step_histogram,
    step_size_summary,
    update_ratios,
)
from weightlab.train.stacked import bucket_key, stack_problem


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


def test_the_log_histogram_of_step_sizes() -> None:
    sizes = torch.tensor([1e-4, 1e-3, 1e-3, 1e-2])
    assert log_step_histogram(sizes, bins=3) == histogram(torch.log10(sizes), 3)
    assert log_step_histogram(torch.zeros(0)) is None


# ---------------------------------------------------------------------------
# A run with train.effective_lr.

DATA = load_dataset("circle", n_samples=120)


def _config(steps: int, eval_every: int, effective: bool, **overrides: Any) -> RunConfig:
    spec: dict[str, Any] = {
        "name": "t",
        "dataset": {"name": "circle", "n_samples": 120},
        "model": {"arch": "mlp", "hidden": [8], "activation": "tanh"},
        "init": "xavier_normal",
        "regularization": "l2(1e-2)",
        "optimizer": {"name": "adam", "lr": 1e-2},
        "train": {
            "steps": steps,
            "batch_size": 20,
            "eval_every": eval_every,
            "diagnose": False,
            "effective_lr": effective,
        },
        "seeds": 0,
    }
    spec.update(overrides)
    (config,) = expand(load_spec(spec))
    return config


def _metric(out: loop.RunOutput, name: str, step: int) -> float:
    return next(v for s, n, v in out.metrics if n == name and s == step)


def _weights(out: loop.RunOutput) -> dict[str, torch.Tensor]:
    return {k: v for k, v in out.parameters.items() if k.endswith("weight")}


@pytest.mark.parametrize("optimizer", [{"name": "adam", "lr": 1e-2}, {"name": "sgd", "lr": 0.5}])
def test_update_ratios_are_those_of_the_last_step_before_each_evaluation(
    optimizer: dict[str, Any],
) -> None:
    out = train_run(_config(20, 10, True, optimizer=optimizer), DATA)
    # Replays: the same run stopped one step before and at each evaluation (constant
    # schedule, evaluations do not touch the training state).
    for step in (10, 20):
        before = _weights(train_run(_config(step - 1, step - 1, False, optimizer=optimizer), DATA))
        after = _weights(train_run(_config(step, step, False, optimizer=optimizer), DATA))
        assert before.keys() == {"0.weight", "2.weight"}
        for name, old in before.items():
            want = float((after[name] - old).norm() / old.norm())
            assert want > 0
            assert _metric(out, f"update_ratio/{name}", step) == pytest.approx(want, rel=1e-6)
            if step == 20:
                assert out.final[f"update_ratio/{name}"] == pytest.approx(want, rel=1e-6)
    assert not any(n.startswith("update_ratio/") for s, n, _ in out.metrics if s == 0)


def test_the_option_changes_nothing_else_and_records_nothing_when_off() -> None:
    on = train_run(_config(20, 10, True), DATA)
    off = train_run(_config(20, 10, False), DATA)
    extra = ("update_ratio/", "adam_")
    assert [m for m in on.metrics if not m[1].startswith(extra)] == off.metrics
    assert [h for h in on.histograms if h.kind != STEP_KIND] == off.histograms
    assert not any(k.startswith(extra) for k in off.final)
    assert not any(n.startswith(extra) for _, n, _ in off.metrics)
    for name, value in off.parameters.items():
        assert torch.equal(value, on.parameters[name])


def test_adam_step_sizes_are_lr_over_root_v_hat_plus_eps_of_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trainers: list[Trainer] = []

    class Kept(Trainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            trainers.append(self)

    monkeypatch.setattr(loop, "Trainer", Kept)
    config = _config(20, 10, True, train={**_config(20, 10, True).train, "histogram_steps": [10]})
    out = train_run(config, DATA)
    (trainer,) = trainers
    # By hand from the optimizer's state after the last step: v̂ = v/(1 − β₂ᵗ).
    sizes = []
    for w in trainer.weights:
        state = trainer.optimizer.state[w]
        v_hat = state["exp_avg_sq"].double() / (1 - 0.999 ** float(state["step"]))
        sizes.append((1e-2 / (v_hat.sqrt() + 1e-8)).reshape(-1))
    want = torch.cat(sizes)
    assert float(state["step"]) == 20
    low, median, high = np.quantile(want.numpy(), [0.1, 0.5, 0.9])
    assert out.final["adam_step_median"] == pytest.approx(median, rel=1e-5)
    assert out.final["adam_decay_spread"] == pytest.approx(high / low, rel=1e-5)
    rows = [h for h in out.histograms if h.kind == STEP_KIND]
    assert [(h.step, h.layer) for h in rows] == [(10, "*"), (20, "*")]  # not at step 0
    final = rows[-1]
    assert sum(final.counts) == want.numel() == 8 * 2 + 8 * 2
    assert final.low == pytest.approx(float(want.log10().min()), abs=1e-5)
    assert final.high == pytest.approx(float(want.log10().max()), abs=1e-5)
    counts, _ = np.histogram(want.log10().numpy(), len(final.counts), (final.low, final.high))
    # float64 values at the float32 range's ends may fall outside numpy's bins
    assert np.abs(counts - np.array(final.counts)).sum() <= 2


def test_sgd_runs_record_no_step_sizes() -> None:
    out = train_run(_config(20, 10, True, optimizer={"name": "sgd", "lr": 0.5}), DATA)
    assert not [h for h in out.histograms if h.kind == STEP_KIND]
    assert "adam_decay_spread" not in out.final and "update_ratio/0.weight" in out.final


def test_runs_recording_effective_lr_train_alone_with_the_reason() -> None:
    config = _config(20, 10, True)
    assert stack_problem(config) == "effective_lr is recorded by the sequential engine"
    assert bucket_key(config) is None
    assert bucket_key(_config(20, 10, False)) is not None
