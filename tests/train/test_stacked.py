"""The stacked engine against the sequential one: the same runs, the same results."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from weightlab.data import Dataset
from weightlab.sweep import load_spec
from weightlab.sweep.runner import prepare
from weightlab.train import RunConfig, RunOutput, train_run
from weightlab.train.stacked import bucket_key, stack_problem, train_stacked


def _bucket(**overrides: Any) -> tuple[list[RunConfig], Dataset]:
    spec: dict[str, Any] = {
        "name": "stack",
        "dataset": {"name": "mnist1d", "n_train": 300},
        "model": {"arch": "mlp", "hidden": [32, 24], "activation": "relu"},
        "init": ["he_normal", "xavier_normal", "lsuv"],
        "regularization": "none",
        "optimizer": {"name": "sgd", "lr": [0.01, 0.02], "momentum": 0.9, "weight_decay": 1e-3},
        "train": {"steps": 60, "batch_size": 25, "eval_every": 20, "schedule": "cosine"},
        "seeds": [0, 1],
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            spec[section] = {**spec[section], field: value}
        else:
            spec[key] = value
    configs, datasets = prepare(load_spec(spec))
    return configs, next(iter(datasets.values()))


def _as_cnn(config: RunConfig) -> RunConfig:
    return dataclasses.replace(config, model={**config.model, "arch": "cnn", "channels": [4]})


def _max_weight_difference(a: RunOutput, b: RunOutput) -> float:
    assert a.parameters.keys() == b.parameters.keys()
    return max(float((a.parameters[k] - b.parameters[k]).abs().max()) for k in a.parameters)


def _assert_same_records(a: RunOutput, b: RunOutput) -> None:
    ma = {(step, name): v for step, name, v in a.metrics}
    mb = {(step, name): v for step, name, v in b.metrics}
    assert ma.keys() == mb.keys()
    for key, value in ma.items():
        assert mb[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert a.final.keys() == b.final.keys()
    assert [h[:3] for h in a.histograms] == [h[:3] for h in b.histograms]
    assert [sum(h[5]) for h in a.histograms] == [sum(h[5]) for h in b.histograms]
    assert [d[0] for d in a.diagnostics] == [d[0] for d in b.diagnostics]
    assert a.status == b.status


# Regularizers whose update is a continuous function of the weights.  Their stacked runs
# match the sequential runs after many steps.
CONTINUOUS = [
    "none",
    "l1(1e-3)",  # proximal: soft-thresholding is continuous
    "l2(1e-2)",
    "l2(1e-2, convention=sum_sq)",
    "decoupled_decay(0.05)+l1(1e-3)",
    "max_norm(0.5)+l2(1e-2)",
]
# Regularizers that branch on sign(w): a weight within rounding of zero (the engines sum
# matrix products in different orders, so they differ in the last bit) can step one way in
# one engine and the other way in the other.  Compared over the first steps, before any
# weight has been driven to zero.
DISCONTINUOUS = [
    "l1(1e-3, rule=clip)",
    "l1(1e-3, rule=subgradient)",
    "l1(1e-3, rule=penalty)",
    "elastic_net(1e-2, l1_ratio=0.3)",
]
OPTIMIZERS = {
    # SGD with momentum (and Nesterov) and coupled weight decay.
    "sgd": {},
    "nesterov": {"optimizer__nesterov": True},
    "adam": {"optimizer__name": "adam", "optimizer__lr": [1e-3, 3e-3]},
    "adamw": {"optimizer__name": "adamw", "optimizer__lr": [1e-3, 3e-3]},
    "shared-order": {"train__data_order": "shared", "train__order_seed": 7},
}


def _compare(configs: list[RunConfig], data: Dataset) -> None:
    assert len({bucket_key(c) for c in configs}) == 1
    stacked = train_stacked(configs, data)
    for config, got in zip(configs, stacked, strict=True):
        want = train_run(config, data)
        assert _max_weight_difference(want, got) <= 1e-5, config.label()
        _assert_same_records(want, got)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(OPTIMIZERS))
def test_stacked_runs_match_sequential_runs_without_dropout(case: str) -> None:
    regularizers = list(CONTINUOUS)
    if case == "adamw":  # adamw's own weight decay and decoupled_decay would decay twice
        regularizers = [r for r in regularizers if "decoupled_decay" not in r]
    configs, data = _bucket(**OPTIMIZERS[case], regularization=regularizers)
    _compare(configs, data)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["sgd", "adam"])
def test_sign_rules_match_over_the_first_steps(case: str) -> None:
    train = {"steps": 15, "batch_size": 25, "eval_every": 5, "schedule": "cosine"}
    configs, data = _bucket(**OPTIMIZERS[case], regularization=DISCONTINUOUS, train=train)
    _compare(configs, data)


@pytest.mark.slow
def test_a_regression_bucket_matches_too() -> None:
    configs, data = _bucket(
        dataset={"name": "diabetes"},
        model={"arch": "linear"},
        init=["xavier_normal", "zeros"],
        regularization=["none", "l1(1e-2)", "l2(1e-1)"],
        optimizer={"name": "sgd", "lr": 0.05},
    )
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        assert _max_weight_difference(want, got) <= 1e-5
        _assert_same_records(want, got)


@pytest.mark.slow
def test_with_dropout_the_engines_agree_exactly() -> None:
    # Each stacked model draws its masks from its own generator, seeded as its
    # sequential run seeds its dropout modules, in the same order.
    configs, data = _bucket(
        init="he_normal",
        regularization=["dropout(0.3)", "dropout(0.2, mode=classic)", "none"],
        optimizer={"name": "adam", "lr": 3e-3},
        train={"steps": 150, "batch_size": 25, "eval_every": 50},
        seeds=[0, 1],
    )
    _compare(configs, data)
    # Dropout did act: the dropout runs are not the dropout-free runs.
    finals = {
        c.regularization: o.final["val_loss"]
        for c, o in zip(configs, train_stacked(configs, data), strict=True)
    }
    assert len(set(finals.values())) == 3


def test_a_diverging_model_stops_alone_and_the_others_are_unaffected() -> None:
    configs, data = _bucket(
        init="he_normal",
        regularization="none",
        optimizer={"name": "sgd", "lr": [0.01, 1e6]},
        train={"steps": 30, "batch_size": 25, "eval_every": 10},
        seeds=[0],
    )
    calm, wild = train_stacked(configs, data)
    want_calm, want_wild = (train_run(c, data) for c in configs)
    assert calm.status == "done" and wild.status == "diverged"
    assert wild.diverged_step == want_wild.diverged_step
    assert wild.final["steps_done"] == want_wild.final["steps_done"]
    assert _max_weight_difference(want_calm, calm) <= 1e-5


def test_runs_group_by_everything_but_their_own_settings() -> None:
    configs, _ = _bucket()
    assert len({bucket_key(c) for c in configs}) == 1  # inits, penalties, lr, seeds vary
    other_batch, _ = _bucket(train={"steps": 60, "batch_size": 50, "eval_every": 20})
    assert bucket_key(other_batch[0]) != bucket_key(configs[0])
    cnn = _as_cnn(configs[0])
    assert bucket_key(cnn) is None
    assert stack_problem(cnn) == "arch 'cnn' is not one of mlp, linear, logistic"


def test_a_mixed_bucket_is_refused_with_the_reason() -> None:
    configs, data = _bucket(regularization="none", seeds=[0], init="he_normal")
    other, _ = _bucket(
        regularization="none",
        seeds=[0],
        init="he_normal",
        train={"steps": 10, "batch_size": 25, "eval_every": 5},
    )
    with pytest.raises(ValueError, match="cannot train as one stack"):
        train_stacked([configs[0], other[0]], data)
    with pytest.raises(ValueError, match="arch 'cnn' is not one of mlp, linear, logistic"):
        train_stacked([_as_cnn(configs[0]), _as_cnn(configs[0])], data)


def test_stop_request_interrupts_between_steps() -> None:
    configs, data = _bucket(regularization="none", init="he_normal", seeds=[0, 1])
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(KeyboardInterrupt):
        train_stacked(configs, data, should_stop=stop)
    assert len(calls) == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_stacked_runs_on_cuda_match_the_cpu_runs() -> None:
    configs, data = _bucket(regularization=["none", "l2(1e-2)"], init="he_normal", seeds=[0])
    for cpu, gpu in zip(
        train_stacked(configs, data), train_stacked(configs, data, device="cuda"), strict=True
    ):
        assert _max_weight_difference(cpu, gpu) <= 1e-4


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_relu_with_dropout_in_place_has_autograds_values_and_gradients(mode: str) -> None:
    # The fused step (ReLU, then dropout on its members' slices, in place) against
    # autograd through relu and the registry's dropout on the same slices.
    from weightlab.regularize import make_term
    from weightlab.regularize.arrays import STACKED
    from weightlab.train.stacked import _ReluScaled

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, 7, generator=gen)
    keep = torch.rand(3, 5, 7, generator=gen) >= 0.4
    term = make_term("dropout", p=0.4, mode=mode)
    grad = torch.randn(6, 5, 7, generator=gen)

    def scale(x: torch.Tensor) -> None:
        x[2:5].copy_(term.layer(STACKED, x[2:5], keep, True))

    mine = z.clone().requires_grad_()
    out = _ReluScaled.apply(mine.clone(), scale)
    out.backward(grad)
    theirs = z.clone().requires_grad_()
    h = torch.relu(theirs)
    want = torch.cat([h[:2], term.layer(STACKED, h[2:5], keep, True), h[5:]])
    want.backward(grad)
    assert torch.equal(out.detach(), want.detach())
    assert torch.equal(mine.grad, theirs.grad)  # type: ignore[arg-type]
    assert bool((mine.grad[2:5][~keep] == 0).all())  # type: ignore[index]


def test_dropout_after_relu_is_applied_in_place_and_otherwise_split() -> None:
    from weightlab.train.stacked import _scales_after_relu, _settings, _stack

    for activation, fused in (("relu", True), ("tanh", False)):
        configs, _ = _bucket(
            model={"arch": "mlp", "hidden": [8], "activation": activation},
            regularization=["dropout(0.3)", "none"],
        )
        settings = _settings(configs, torch.device("cpu"))
        models = [torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.Linear(8, 2))] * 2
        stack = _stack(models, activation, torch.device("cpu"))
        assert _scales_after_relu(stack, settings) is fused
    configs, _ = _bucket(regularization=["l2(0.1)", "none"])
    settings = _settings(configs, torch.device("cpu"))
    relu = _stack(models, "relu", torch.device("cpu"))
    assert not _scales_after_relu(relu, settings)  # no layer term at all
