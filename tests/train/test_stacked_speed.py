"""The stacked engine's shortcuts give the results of the plain ways: dropout masks drawn
for a whole step at once, fused optimizer kernels, models reordered by their settings,
end-of-training probes measured in batches, and the optional evaluation subset."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import torch

from weightlab.data import Dataset, load_dataset
from weightlab.init import init_module, resolve
from weightlab.models import build_model
from weightlab.regularize.dropout import keep_mask
from weightlab.sweep import load_spec
from weightlab.sweep.runner import prepare
from weightlab.train import RunConfig, RunOutput, train_run
from weightlab.train import stacked as engine
from weightlab.train.probes import fast_probe_metrics, probe_metrics
from weightlab.train.stacked import PHASES, optimizer_kernel, train_stacked


def _bucket(**overrides: Any) -> tuple[list[RunConfig], Dataset]:
    spec: dict[str, Any] = {
        "name": "speed",
        "dataset": {"name": "moons", "n_samples": 96, "noise": 0.2},
        "model": {"arch": "mlp", "hidden": [12, 8], "activation": "relu"},
        "init": "he_normal",
        "regularization": ["none", "dropout(0.3)", "l2(1e-2)", "l1(1e-3)"],
        "optimizer": {"name": "adam", "lr": [3e-3, 1e-2]},
        "train": {"steps": 20, "batch_size": 16, "eval_every": 5, "diagnose": False},
        "seeds": [0, 1],
        **overrides,
    }
    configs, datasets = prepare(load_spec(spec))
    return configs, next(iter(datasets.values()))


def _max_difference(a: RunOutput, b: RunOutput) -> float:
    return max(float((a.parameters[k] - b.parameters[k]).abs().max()) for k in a.parameters)


@pytest.mark.parametrize(("widths", "batch"), [([12, 8], 16), ([13, 7], 15)])
def test_a_steps_masks_drawn_at_once_are_the_masks_drawn_layer_by_layer(
    widths: list[int], batch: int
) -> None:
    # 13 × 15 values are not whole 64-bit words: each layer's draw is rounded up alone.
    configs, _ = _bucket()
    settings = engine._settings(configs, torch.device("cpu"))
    at_once = engine._Masks(settings, widths, torch.device("cpu"))
    settings_again = engine._settings(configs, torch.device("cpu"))
    by_layer = engine._Masks(settings_again, widths, torch.device("cpu"))
    by_layer.at_once = False  # as on a GPU: each layer's masks when the pass reaches it
    rows = at_once.rows
    assert rows  # the bucket has dropout models
    for _ in range(3):
        at_once.draw(batch)
        by_layer.draw(batch)
        for layer in range(len(widths)):
            for a in rows:
                assert torch.equal(at_once.layer(layer, a, a + 1), by_layer.layer(layer, a, a + 1))
    # And both are each model's own sequence of keep_mask draws.
    generator = torch.Generator().manual_seed(int(configs[rows[0]].seed) + 1)
    p = settings.drop_p_values[rows[0]]
    fresh = engine._Masks(
        engine._settings(configs, torch.device("cpu")), widths, torch.device("cpu")
    )
    fresh.draw(batch)
    for layer, width in enumerate(widths):
        want = keep_mask(torch.empty(batch, width), p, generator)
        assert torch.equal(fresh.layer(layer, rows[0], rows[0] + 1)[0], want)


def test_the_stack_orders_models_by_their_settings_and_answers_in_the_configs_order() -> None:
    configs, data = _bucket()
    order = engine._stack_order(configs)
    assert order != list(range(len(configs)))  # the grid order is not the stack's
    outputs = train_stacked(configs, data)
    for config, got in zip(configs, outputs, strict=True):
        want = train_run(config, data)
        assert _max_difference(want, got) <= 1e-5, config.label()
        assert [m[:2] for m in got.metrics] == [m[:2] for m in want.metrics]


def test_the_fused_optimizer_kernels_and_the_eager_arithmetic_agree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("sgd", "adam", "adamw"):
        assert optimizer_kernel(name) == "fused"
    for optimizer in (
        {"name": "sgd", "lr": [0.05, 0.1], "momentum": 0.9, "weight_decay": 1e-3},
        {"name": "sgd", "lr": [0.05, 0.1], "momentum": 0.8, "nesterov": True},
        {"name": "adamw", "lr": [3e-3, 1e-2], "weight_decay": 1e-2},
    ):
        configs, data = _bucket(optimizer=optimizer)
        fused = train_stacked(configs, data)
        monkeypatch.setattr(engine, "optimizer_kernel", lambda name, device="cpu": "eager")
        eager = train_stacked(configs, data)
        monkeypatch.undo()
        for config, a, b in zip(configs, fused, eager, strict=True):
            assert _max_difference(a, b) <= 1e-5, (optimizer["name"], config.label())
            assert _max_difference(train_run(config, data), a) <= 1e-5


def test_an_evaluation_subset_changes_only_the_evaluations_between_first_and_last() -> None:
    configs, data = _bucket(dataset={"name": "moons", "n_samples": 400, "noise": 0.2})
    full = train_stacked(configs, data)
    subset = train_stacked(configs, data, eval_limit=40)
    for a, b in zip(full, subset, strict=True):
        assert _max_difference(a, b) == 0.0  # training is untouched
        first_last = {0, 20}
        ma = {(s, n): v for s, n, v in a.metrics}
        mb = {(s, n): v for s, n, v in b.metrics}
        assert ma.keys() == mb.keys()
        for (step, name), value in ma.items():
            if step in first_last:
                assert mb[(step, name)] == value
        assert any(mb[(5, n)] != ma[(5, n)] for n in ("val_loss", "train_loss"))
        assert a.final == b.final


def test_the_phases_of_a_stacked_training_are_timed() -> None:
    configs, data = _bucket()
    outputs = train_stacked(configs, data)
    for out in outputs:
        assert set(out.timings) == set(PHASES)
        assert out.timings["train"] > 0
        assert sum(out.timings.values()) <= out.seconds * 1.01
    assert set(train_run(configs[0], data).timings) == set(PHASES)


@pytest.mark.parametrize(
    ("activation", "hidden"), [("relu", [32, 24, 16]), ("tanh", [32, 24, 16]), ("relu", [15, 9])]
)
@pytest.mark.parametrize(
    "dropout", [{}, {"dropout": 0.2}, {"dropout": 0.5, "dropout_mode": "classic"}]
)
def test_the_fast_probes_give_the_probes_values_exactly(
    activation: str, hidden: list[int], dropout: dict[str, Any]
) -> None:
    # Widths 15 and 9 make masks that are not whole 64-bit words of random bits.
    data = load_dataset("digits", seed=0)
    model = build_model(
        {"arch": "mlp", "hidden": hidden, "activation": activation},
        data.input_shape,
        data.n_outputs,
        **dropout,
    )
    init_module(model, resolve("he_normal"), generator=torch.Generator().manual_seed(1))
    want = probe_metrics(model, data, seed=7)
    got = fast_probe_metrics(model, data, seed=7)
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key] == value or (math.isnan(value) and math.isnan(got[key])), key


class _Wrapped(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.inner(x)
        return out


def test_probes_of_a_model_the_fast_path_does_not_know_come_from_the_plain_probes() -> None:
    data = load_dataset("digits", seed=0)
    inner = build_model(
        {"arch": "mlp", "hidden": [16], "activation": "relu"}, data.input_shape, data.n_outputs
    )
    model = _Wrapped(inner)
    assert fast_probe_metrics(model, data, 3) == probe_metrics(model, data, 3)


def test_stacked_runs_with_diagnostics_record_the_sequential_probes() -> None:
    configs, data = _bucket(
        train={"steps": 10, "batch_size": 16, "eval_every": 5, "diagnose": True},
        regularization=["none", "dropout(0.3)"],
        optimizer={"name": "adam", "lr": 1e-2},
    )
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        probes = [k for k in want.final if k.startswith(("mc_", "ablation", "unit_"))]
        assert probes
        for key in probes:
            assert got.final[key] == pytest.approx(want.final[key], rel=1e-5, abs=1e-6), key


def test_a_regression_model_keeps_its_coefficients_probe() -> None:
    configs, data = _bucket(
        dataset={"name": "diabetes"},
        model={"arch": "linear"},
        regularization=["none", "l1(1e-2)"],
        optimizer={"name": "sgd", "lr": 0.05},
        train={"steps": 10, "batch_size": 16, "eval_every": 5, "diagnose": True},
    )
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        coefficients = [k for k in want.final if k.startswith("coef/")]
        assert coefficients
        for key in coefficients:
            assert got.final[key] == pytest.approx(want.final[key], abs=1e-5)


def test_a_shared_data_order_bucket_with_every_term_matches() -> None:
    configs, data = _bucket(
        train={
            "steps": 20,
            "batch_size": 16,
            "eval_every": 10,
            "diagnose": False,
            "data_order": "shared",
            "order_seed": 3,
        }
    )
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        assert _max_difference(want, got) <= 1e-5, config.label()


def test_reordering_keeps_a_diverged_model_in_its_place() -> None:
    configs, data = _bucket(
        regularization=["none", "dropout(0.3)"],
        optimizer={"name": "sgd", "lr": [1e6, 0.01]},
    )
    outputs = train_stacked(configs, data)
    for config, got in zip(configs, outputs, strict=True):
        want = train_run(config, data)
        assert got.status == want.status, config.label()
        assert got.diverged_step == want.diverged_step
    assert {"diverged", "done"} <= {o.status for o in outputs}
    # Other seeds: each model's status is still its own sequential run's.
    replaced = [dataclasses.replace(c, seed=c.seed + 10) for c in configs]
    for config, got in zip(replaced, train_stacked(replaced, data), strict=True):
        want = train_run(config, data)
        assert (got.status, got.diverged_step) == (want.status, want.diverged_step)
