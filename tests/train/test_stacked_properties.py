"""The stacked engine equals the sequential one for any mix of the registry's terms.

Property tests over random buckets: every term (L1 as a penalty or with each rule, L2 in
either convention, elastic net, decoupled decay, max-norm, dropout), SGD with and without
momentum and Nesterov, Adam and AdamW, random learning rates, 1 to 8 models.  Rules that
branch on the sign of a weight are compared over the first 3 steps (after that a weight
within rounding of zero may step either way in either engine); the others over 20.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightlab.data import Dataset
from weightlab.regularize import REGISTRY, make_term, parse_regularization
from weightlab.sweep import load_spec
from weightlab.sweep.runner import prepare
from weightlab.train import RunConfig, RunOutput, train_run
from weightlab.train.stacked import bucket_key, stack_problem, train_stacked

TOLERANCE = 1e-5


def _base(optimizer: dict[str, Any], steps: int) -> tuple[RunConfig, Dataset]:
    spec = {
        "name": "props",
        "dataset": {"name": "moons", "n_samples": 96, "noise": 0.2},
        "model": {"arch": "mlp", "hidden": [12, 8], "activation": "tanh"},
        "init": "xavier_normal",
        "optimizer": optimizer,
        "train": {"steps": steps, "batch_size": 16, "eval_every": steps, "diagnose": False},
        "seeds": 0,
    }
    configs, datasets = prepare(load_spec(spec))
    return configs[0], next(iter(datasets.values()))


def _max_difference(a: RunOutput, b: RunOutput) -> float:
    return max(float((a.parameters[k] - b.parameters[k]).abs().max()) for k in a.parameters)


# What each term's numeric parameters are drawn from (strengths small enough that 20
# steps stay finite); the other parameters are drawn from their options.
_RANGES = {"strength": (0.0, 0.05), "rate": (0.0, 0.5), "p": (0.0, 0.5), "max_value": (0.3, 3.0)}


@st.composite
def _term(draw: st.DrawFn, name: str) -> str:
    params: dict[str, Any] = {}
    for param in REGISTRY[name].params:
        if param.numeric:
            low, high = _RANGES.get(param.name, (0.0, 1.0))
            value = draw(st.floats(low, high, allow_nan=False) | st.just(low))
            params[param.name] = value
        elif hasattr(param.rule, "options"):
            params[param.name] = draw(st.sampled_from(param.rule.options))  # type: ignore[attr-defined]
        else:
            params[param.name] = draw(st.booleans())
    return str(make_term(name, **params))


@st.composite
def _regularization(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(list(REGISTRY)), max_size=3, unique=True))
    return "+".join(draw(_term(n)) for n in names) or "none"


_OPTIMIZERS = st.sampled_from(
    [
        {"name": "sgd"},
        {"name": "sgd", "momentum": 0.9},
        {"name": "sgd", "momentum": 0.8, "nesterov": True},
        {"name": "adam"},
        {"name": "adamw"},
    ]
)


@st.composite
def _bucket(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, float, float, int]]]:
    optimizer = draw(_OPTIMIZERS)
    k = draw(st.integers(1, 8))
    adam = optimizer["name"] != "sgd"
    lrs = st.floats(1e-3, 2e-2) if adam else st.floats(0.01, 0.3)
    models = [
        (
            draw(_regularization()),
            draw(lrs),
            draw(st.sampled_from([0.0, 1e-3, 1e-2])),
            draw(st.integers(0, 3)),
        )
        for _ in range(k)
    ]
    return optimizer, models


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_bucket())
def test_stacked_equals_sequential_for_any_mix_of_terms(
    bucket: tuple[dict[str, Any], list[tuple[str, float, float, int]]],
) -> None:
    optimizer, models = bucket
    branches = any(parse_regularization(reg).branches_on_sign for reg, *_ in models)
    steps = 3 if branches else 20
    base, data = _base({**optimizer, "lr": 0.1}, steps)
    configs = [
        dataclasses.replace(
            base,
            regularization=str(parse_regularization(reg)),
            optimizer={**base.optimizer, "lr": lr, "weight_decay": wd},
            seed=seed,
        )
        for reg, lr, wd, seed in models
    ]
    assert len({bucket_key(c) for c in configs}) == 1
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        assert got.status == want.status, config.label()
        assert _max_difference(want, got) <= TOLERANCE, config.label()
        assert [m[:2] for m in got.metrics] == [m[:2] for m in want.metrics], config.label()


def test_two_penalties_train_to_the_same_weights_in_both_engines() -> None:
    """The reproduction that showed the stacked engine dropping a second penalty."""
    base, data = _base({"name": "sgd", "lr": 0.1}, 30)
    base = dataclasses.replace(
        base,
        model={**base.model, "hidden": [16]},
        regularization="l1(0.05, rule='penalty')+l2(0.5)",
    )
    configs = [
        dataclasses.replace(base, optimizer={**base.optimizer, "lr": lr}) for lr in (0.1, 0.2)
    ]
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        assert _max_difference(want, got) <= TOLERANCE
        final = {name: v for step, name, v in got.metrics if step == 30}
        assert final["penalty"] == pytest.approx(want.final["penalty"], rel=1e-5)
        # Both penalties act: the total is more than either alone would give.
        weights = [p for k, p in want.parameters.items() if k.endswith("weight")]
        alone = [
            float(make_term("l1", strength=0.05, rule="penalty").penalty(weights)),
            float(make_term("l2", strength=0.5).penalty(weights)),
        ]
        assert want.final["penalty"] == pytest.approx(sum(alone), rel=1e-5)


def test_dropout_masks_are_each_models_own_and_match_its_sequential_run() -> None:
    base, data = _base({"name": "adam", "lr": 1e-2}, 20)
    configs = [
        dataclasses.replace(base, regularization=reg, seed=seed)
        for reg, seed in [("dropout(0.3)", 0), ("dropout(0.5, mode='classic')", 1), ("none", 2)]
    ]
    for config, got in zip(configs, train_stacked(configs, data), strict=True):
        want = train_run(config, data)
        assert _max_difference(want, got) <= TOLERANCE, config.label()
    plain = train_run(dataclasses.replace(configs[0], regularization="none"), data)
    dropped = train_run(configs[0], data)
    moved = [  # dropout did act: the same layers (named apart by the dropout modules) differ
        float((a - b).abs().max())
        for a, b in zip(plain.parameters.values(), dropped.parameters.values(), strict=True)
    ]
    assert max(moved) > 1e-3


def test_a_term_that_cannot_stack_trains_alone_with_its_reason() -> None:
    base, _ = _base({"name": "sgd", "lr": 0.1}, 5)
    entry = REGISTRY["max_norm"]
    REGISTRY["max_norm"] = dataclasses.replace(
        entry, stack_problem=lambda params: "per-unit norms need the layer's own layout"
    )
    try:
        config = dataclasses.replace(base, regularization="max_norm(2)")
        assert bucket_key(config) is None
        assert stack_problem(config) == "max_norm: per-unit norms need the layer's own layout"
        assert bucket_key(dataclasses.replace(base, regularization="none")) is not None
    finally:
        REGISTRY["max_norm"] = entry
