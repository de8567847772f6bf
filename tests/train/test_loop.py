"""Training runs: what is recorded, reproducibility, divergence, and the stories the
seeds tell (L1 selects features, decay narrows the gap, zero init stays symmetric)."""

from __future__ import annotations

import statistics
from typing import Any

import pytest
import torch

from weightlab.data import load_dataset
from weightlab.sweep import expand, load_spec
from weightlab.train import RunConfig, train_run


def _configs(**overrides: Any) -> list[RunConfig]:
    spec: dict[str, Any] = {
        "name": "t",
        "dataset": {"name": "circle", "n_samples": 200},
        "model": {"arch": "mlp", "hidden": [16, 16], "activation": "tanh"},
        "init": "xavier_normal",
        "regularization": "none",
        "optimizer": {"name": "adam", "lr": 1e-2},
        "train": {"steps": 60, "batch_size": 20, "eval_every": 20, "histogram_steps": [40]},
        "seeds": 0,
    }
    spec.update(overrides)
    return expand(load_spec(spec))


def _final(out: Any, key: str) -> float:
    return float(out.final[key])


def test_records_metrics_histograms_and_diagnostics() -> None:
    (config,) = _configs(regularization="l2(1e-3)")
    data = load_dataset("circle", n_samples=200)
    out = train_run(config, data)
    steps = sorted({s for s, _, _ in out.metrics})
    assert steps == [0, 20, 40, 60]
    names = {n for _, n, _ in out.metrics}
    assert {
        "train_loss",
        "val_loss",
        "train_acc",
        "val_acc",
        "gap",
        "penalty",
        "sparsity_zero",
        "sparsity_small",
    } <= names
    assert {"norm/0.weight", "norm/2.weight", "norm/4.weight"} <= names
    penalty = next(v for s, n, v in out.metrics if n == "penalty" and s == 60)
    norms = [v for s, n, v in out.metrics if n.startswith("norm/") and s == 60]
    assert penalty == pytest.approx(
        0.5 * 1e-3 * sum(x * x for x in norms), rel=1e-5
    )  # (λ/2)Σw², apart from the data loss
    gap = next(v for s, n, v in out.metrics if n == "gap" and s == 60)
    assert gap == pytest.approx(_final(out, "val_loss") - _final(out, "train_loss"))
    weight_steps = sorted({h[0] for h in out.histograms if h[1] == "weight"})
    assert weight_steps == [0, 40, 60]
    assert [step for step, _ in out.diagnostics] == [0, 60]
    assert out.status == "done" and out.seconds > 0


def test_same_config_and_seed_give_identical_metrics() -> None:
    (config,) = _configs(regularization="dropout(0.2)+l1(1e-3)")
    data = load_dataset("circle", n_samples=200)
    assert train_run(config, data).metrics == train_run(config, data).metrics
    (other,) = _configs(regularization="dropout(0.2)+l1(1e-3)", seeds=1)
    assert train_run(other, data).metrics != train_run(config, data).metrics


def test_divergence_is_recorded_not_raised() -> None:
    (config,) = _configs(
        init="normal(std=30.0)",
        optimizer={"name": "sgd", "lr": 10.0},
        model={"arch": "mlp", "hidden": [64, 64, 64], "activation": "relu"},
    )
    out = train_run(config, load_dataset("circle", n_samples=200))
    assert out.status == "diverged" and out.diverged_step is not None and out.diverged_step >= 1
    assert out.final["diverged_step"] == out.diverged_step


def test_regression_records_mse(tmp_path: Any) -> None:
    (config,) = _configs(
        dataset={"name": "multicollinear"},
        model={"arch": "linear"},
        init="zeros",
        regularization="l2(1e-2)",
    )
    out = train_run(config, load_dataset("multicollinear"))
    assert "val_mse" in out.final and "val_acc" not in out.final
    assert out.final["val_mse"] < 1.0


def test_zero_init_mlp_stays_symmetric_and_fails_to_learn() -> None:
    data = load_dataset("digits")
    outs = {
        init: train_run(cfg, data)
        for cfg in _configs(
            dataset={"name": "digits"},
            model={"arch": "mlp", "hidden": [32, 32], "activation": "tanh"},
            init=["zeros", "xavier_normal"],
            optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9},
            train={"steps": 200, "batch_size": 64, "eval_every": 100},
        )
        for init in [cfg.init]
    }
    zeros, xavier = outs["zeros"], outs["xavier_normal"]
    # Hidden units start identical and get identical updates: one distinct unit per layer.
    assert zeros.final["min_distinct_units_fraction"] == pytest.approx(1 / 32)
    assert xavier.final["min_distinct_units_fraction"] == 1.0
    assert zeros.final["val_acc"] < 0.5 < 0.9 < xavier.final["val_acc"]


def test_l1_proximal_recovers_the_informative_features_and_l2_zeroes_none() -> None:
    data = load_dataset("sparse_features")
    runs = _configs(
        dataset={"name": "sparse_features"},
        model={"arch": "logistic"},
        init="zeros",
        regularization=["l1(5e-2)", "l2(1e-2)"],
        optimizer={"name": "sgd", "lr": 0.5},
        train={"steps": 1500, "batch_size": 300, "eval_every": 500, "diagnose": False},
    )
    l1, l2 = (train_run(c, data) for c in runs)
    assert l1.final["selection_recall"] == 1.0
    assert l1.final["selection_precision"] >= 0.8
    assert l2.final["sparsity_zero"] == 0.0 and l2.final["selected_features"] == 200


@pytest.mark.slow
def test_decay_narrows_the_gap_beyond_the_seed_spread() -> None:
    data = load_dataset("digits", val_fraction=0.8)  # 359 training images: easy to overfit
    runs = _configs(
        dataset={"name": "digits", "val_fraction": 0.8},
        model={"arch": "mlp", "hidden": [256, 256], "activation": "relu"},
        init="he_normal",
        regularization=["none", "decoupled_decay(1.0)"],
        optimizer={"name": "adam", "lr": 1e-3},
        train={"steps": 1500, "batch_size": 64, "eval_every": 500, "diagnose": False},
        seeds=[0, 1, 2],
    )
    gaps: dict[str, list[float]] = {}
    for config in runs:
        gaps.setdefault(config.regularization, []).append(train_run(config, data).final["gap"])
    plain, decayed = gaps["none"], gaps["decoupled_decay(1)"]
    spread = max(max(plain) - min(plain), max(decayed) - min(decayed))
    assert statistics.mean(plain) - statistics.mean(decayed) > 2 * spread
    assert max(decayed) < min(plain)


def test_lsuv_init_uses_training_data() -> None:
    (config,) = _configs(init="lsuv")
    out = train_run(config, load_dataset("circle", n_samples=200))
    first = out.diagnostics[0][1]["layers"][0]
    assert first["pre_var"] == pytest.approx(
        1.0, abs=0.35
    )  # unit variance on training data; diagnostics use validation data


def test_cosine_schedule_decays_the_learning_rate() -> None:
    (config,) = _configs(
        train={"steps": 60, "batch_size": 20, "eval_every": 30, "schedule": "cosine"}
    )
    out = train_run(config, load_dataset("circle", n_samples=200))
    lrs = [v for _, n, v in out.metrics if n == "lr"]
    assert (
        lrs[0] == pytest.approx(1e-2)
        and lrs[1] == pytest.approx(5e-3)
        and lrs[2] == pytest.approx(0.0, abs=1e-12)
    )


def test_cuda_run_matches_cpu_statistically() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no GPU")
    (config,) = _configs()
    data = load_dataset("circle", n_samples=200)
    cpu, gpu = train_run(config, data), train_run(config, data, device="cuda")
    assert gpu.final["val_acc"] == pytest.approx(cpu.final["val_acc"], abs=0.1)
