"""Keras interop: exact agreement with weightlab's torch draws and penalties, statistics of
large draws, training trajectories against torch + RegularizedOptimizer, serialization,
and every bad-input path."""

from __future__ import annotations

import importlib
import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import weightlab._optional
from weightlab import regularize
from weightlab._optional import MissingExtraError
from weightlab.init import resolve, scheme_names
from weightlab.interop.trajectory import KERAS_BACKENDS, check_keras_backend
from weightlab.keras import (
    L1,
    L2,
    DecoupledDecay,
    Dropout,
    ElasticNet,
    Initializer,
    L1Step,
    Penalty,
    WeightRules,
    decoupled_decay,
    initializer_schemes,
    is_kernel,
    l1_step,
    to_keras_layout,
    to_torch_layout,
)
from weightlab.regularize import REGISTRY as TERMS
from weightlab.regularize import Term, make_term, parse_regularization

import keras  # isort: skip  (weightlab.keras chooses the backend first)
from keras import ops  # isort: skip

from doc_blocks import check_python_blocks  # isort: skip

DOC = Path(__file__).resolve().parents[2] / "docs" / "keras.md"

# Keras's torch backend converts its logs with np.array(tensor), which numpy 2 flags on
# every batch of fit; the warning is about that conversion, not about this package.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

W = [[1.0, -2.0], [3.0, 0.5]]


def msg(text: str) -> str:
    """An error message as a literal ``pytest.raises(match=...)`` pattern."""
    return re.escape(text)


def as_torch(x: Any) -> torch.Tensor:
    """A Keras tensor or variable, on any backend, as a torch tensor (a copy)."""
    return torch.from_numpy(np.array(ops.convert_to_numpy(x)))


def numpy(x: Any) -> np.ndarray:
    return as_torch(x).numpy()


def torch_draw(spec: str, torch_shape: tuple[int, ...], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return resolve(spec)(torch.empty(torch_shape), generator=generator)


# --- layout ------------------------------------------------------------------------------


def test_backend_is_the_one_asked_for() -> None:
    """The suite runs on torch unless KERAS_BACKEND names tensorflow or jax
    (tests/interop/test_keras_backends.py runs it on each)."""
    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
    assert keras.backend.backend() in KERAS_BACKENDS


@pytest.mark.parametrize(
    ("torch_shape", "keras_shape"),
    [((5,), (5,)), ((4, 3), (3, 4)), ((8, 4, 5), (5, 4, 8)), ((8, 4, 3, 2), (3, 2, 4, 8))],
)
def test_layouts_are_inverse(torch_shape: tuple[int, ...], keras_shape: tuple[int, ...]) -> None:
    weight = torch.arange(math.prod(torch_shape), dtype=torch.float32).reshape(torch_shape)
    kernel = to_keras_layout(weight)
    assert tuple(kernel.shape) == keras_shape
    assert torch.equal(to_torch_layout(kernel), weight)


def test_conv_layout_matches_keras_conv2d() -> None:
    """A torch Conv2d and a Keras Conv2D with the converted kernel compute the same map."""
    generator = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(2, 3, kernel_size=(3, 2), bias=False)
    nn.init.normal_(conv.weight, generator=generator)
    x = torch.randn(1, 2, 6, 5, generator=generator)
    layer = keras.layers.Conv2D(3, (3, 2), use_bias=False)
    layer.build((1, 6, 5, 2))
    layer.kernel.assign(numpy(to_keras_layout(conv.weight.detach())))
    keras_out = as_torch(layer(numpy(x.permute(0, 2, 3, 1)))).permute(0, 3, 1, 2)
    torch.testing.assert_close(keras_out, conv(x).detach(), rtol=1e-5, atol=1e-5)


# --- initializers: exact -----------------------------------------------------------------


@pytest.mark.parametrize("name", initializer_schemes())
@pytest.mark.parametrize("keras_shape", [(6, 4), (3, 3, 4, 5)], ids=["dense", "conv2d"])
def test_initializer_equals_torch_draw(name: str, keras_shape: tuple[int, ...]) -> None:
    torch_shape = (keras_shape[-1], keras_shape[-2], *keras_shape[:-2])
    kernel = Initializer(name, seed=7)(keras_shape)
    assert tuple(kernel.shape) == keras_shape
    assert keras.backend.standardize_dtype(kernel.dtype) == "float32"
    assert torch.equal(as_torch(kernel), to_keras_layout(torch_draw(name, torch_shape, 7)))


def test_initializer_with_parameters_equals_torch_draw() -> None:
    spec = "he_normal(nonlinearity='relu', mode='fan_out')"
    a = Initializer(spec, seed=3)((3, 3, 16, 32))
    b = Initializer("he_normal", seed=3, nonlinearity="relu", mode="fan_out")((3, 3, 16, 32))
    expected = to_keras_layout(torch_draw(spec, (32, 16, 3, 3), 3))
    assert torch.equal(as_torch(a), expected)
    assert torch.equal(as_torch(b), expected)


def test_initializer_inside_dense_layer() -> None:
    layer = keras.layers.Dense(7, kernel_initializer=Initializer("xavier_uniform", seed=11))
    layer.build((None, 5))
    expected = torch_draw("xavier_uniform", (7, 5), 11).T
    assert torch.equal(as_torch(layer.kernel), expected)


def test_initializer_is_reproducible_and_seeds_differ() -> None:
    init = Initializer("normal", seed=1)
    assert np.array_equal(numpy(init((4, 4))), numpy(init((4, 4))))
    assert not np.array_equal(numpy(init((4, 4))), numpy(Initializer("normal", seed=2)((4, 4))))


def test_unseeded_initializer_follows_python_random() -> None:
    """Without a seed, one is drawn from Python's random at construction, as Keras does
    (so keras.utils.set_random_seed fixes it); the test restores random's state."""
    state = random.getstate()
    try:
        random.seed(5)
        a = Initializer("normal")
        random.seed(5)
        b = Initializer("normal")
    finally:
        random.setstate(state)
    assert np.array_equal(numpy(a((3, 3))), numpy(b((3, 3))))
    assert np.array_equal(numpy(a((3, 3))), numpy(a((3, 3))))
    assert a.get_config() == {"scheme": "normal", "seed": None}


def test_initializer_accepts_a_scheme_object() -> None:
    scheme = resolve("uniform(low=-0.5, high=0.5)")
    kernel = Initializer(scheme, seed=2)((4, 3))
    assert torch.equal(as_torch(kernel), torch_draw("uniform(low=-0.5, high=0.5)", (3, 4), 2).T)


def test_initializer_bias_and_dtypes() -> None:
    assert np.array_equal(numpy(Initializer("zeros")((4,))), np.zeros(4, dtype=np.float32))
    draw = torch_draw("normal(std=0.1)", (3, 2), 4)
    as64 = Initializer("normal(std=0.1)", seed=4)((2, 3), dtype="float64")
    # JAX computes in float32 unless jax_enable_x64 is set (and warns), as for Keras' own.
    wide = "float32" if keras.backend.backend() == "jax" and not _jax_x64() else "float64"
    assert keras.backend.standardize_dtype(as64.dtype) == wide
    torch.testing.assert_close(as_torch(as64).float(), draw.T, rtol=1e-6, atol=1e-7)
    as16 = Initializer("normal(std=0.1)", seed=4)((2, 3), dtype="float16")
    assert keras.backend.standardize_dtype(as16.dtype) == "float16"
    assert torch.equal(as_torch(as16), draw.T.half())


def _jax_x64() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)


def test_initializer_schemes_excludes_data_dependent() -> None:
    assert "lsuv" in scheme_names()
    assert "lsuv" not in initializer_schemes()
    assert {"he_normal", "xavier_uniform", "orthogonal"} <= set(initializer_schemes())


# --- initializers: statistical -----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "keras_shape", "std", "rel_tol"),
    [
        # 500 000 normal draws: the sample std's relative standard error is 1/√(2n) = 0.001.
        ("he_normal(nonlinearity='relu')", (1000, 500), math.sqrt(2 / 1000), 0.01),
        # Conv kernel [3, 3, 64, 128]: fan_in = 64·9 = 576, fan_out = 128·9 = 1152.
        ("xavier_uniform", (3, 3, 64, 128), math.sqrt(2 / (576 + 1152)), 0.02),
        ("lecun_normal", (3, 3, 64, 128), math.sqrt(1 / 576), 0.02),
        # Keras's GlorotNormal: a truncated normal with final std √(1/fan_avg).
        (
            "variance_scaling(mode='fan_avg', distribution='truncated_normal')",
            (1000, 500),
            math.sqrt(1 / 750),
            0.01,
        ),
    ],
)
def test_initializer_std(
    spec: str, keras_shape: tuple[int, ...], std: float, rel_tol: float
) -> None:
    values = numpy(Initializer(spec, seed=0)(keras_shape)).astype(np.float64)
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)
    assert values.std() == pytest.approx(std, rel=rel_tol)


def test_truncated_variance_scaling_matches_keras_glorot_normal() -> None:
    spec = "variance_scaling(mode='fan_avg', distribution='truncated_normal')"
    ours = np.abs(numpy(Initializer(spec, seed=0)((1000, 500))))
    theirs = np.abs(numpy(keras.initializers.GlorotNormal(seed=0)((1000, 500))))
    sigma = math.sqrt(1 / 750) / 0.87962566103423978
    # Ours is cut at exactly ±2σ_param.  Keras's torch backend keeps the first of four
    # candidate draws inside the cut, or the first one when none is (p = 0.0455⁴ ≈ 4e-6),
    # so a few of its 500 000 values lie outside.
    assert ours.max() <= 2 * sigma
    assert (theirs > 2 * sigma).mean() < 1e-4
    # Otherwise the same distribution: std √(1/fan_avg) and the same quantiles.
    assert ours.std() == pytest.approx(theirs.std(), rel=0.01)
    quantiles = [0.25, 0.5, 0.9, 0.99]
    np.testing.assert_allclose(
        np.quantile(ours, quantiles), np.quantile(theirs, quantiles), rtol=0.02
    )


# --- regularizers: exact -----------------------------------------------------------------


def test_l2_sum_sq_is_keras_l2() -> None:
    w = ops.array(W)
    ours = L2(0.01, convention="sum_sq")(w)
    assert float(ours) == pytest.approx(0.1425, rel=1e-6)
    assert float(ours) == float(keras.regularizers.L2(0.01)(w))
    assert float(L2(0.01, convention="half_sum_sq")(w)) == pytest.approx(0.07125, rel=1e-6)


def test_penalties_equal_keras_builtins() -> None:
    w = ops.array(np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32))
    assert float(L1(0.03)(w)) == float(keras.regularizers.L1(0.03)(w))
    enet = ElasticNet(0.03, 0.3, convention="sum_sq")(w)
    l1l2 = keras.regularizers.L1L2(l1=0.03 * 0.3, l2=0.03 * 0.7)(w)
    assert float(enet) == pytest.approx(float(l1l2), rel=1e-6)


def test_presets_are_penalties_of_their_terms() -> None:
    """L1, L2 and ElasticNet keep their signatures, configs and reprs, and are the
    generic Penalty of one registered term."""
    presets = [
        (L1(0.01), make_term("l1", strength=0.01, rule="penalty"), "L1(0.01)"),
        (
            L2(0.01, convention="sum_sq"),
            make_term("l2", strength=0.01, convention="sum_sq"),
            "L2(0.01, convention='sum_sq')",
        ),
        (
            ElasticNet(0.01, 0.25, convention="half_sum_sq"),
            make_term("elastic_net", strength=0.01, l1_ratio=0.25, convention="half_sum_sq"),
            "ElasticNet(0.01, 0.25, convention='half_sum_sq')",
        ),
    ]
    for preset, term, text in presets:
        assert isinstance(preset, Penalty) and isinstance(preset, ElasticNet)
        assert preset.term == term
        assert repr(preset) == text
    assert L1(0.01).get_config() == {"strength": 0.01}
    assert repr(Penalty("l2(1e-4)")) == "Penalty('l2(0.0001)')"


def test_regularizer_in_layer_losses() -> None:
    layer = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.Constant(np.array(W)),
        kernel_regularizer=L2(0.01, convention="sum_sq"),
    )
    layer(ops.ones((1, 2)))
    assert as_torch(ops.sum(layer.losses)).item() == pytest.approx(0.1425, rel=1e-6)


# --- dropout -----------------------------------------------------------------------------


def test_dropout_in_a_model_follows_training_flag() -> None:
    model = keras.Sequential([keras.Input((100,)), Dropout(0.5, mode="classic", seed=1)])
    x = np.ones((2, 100), np.float32)
    assert np.allclose(numpy(model(x, training=False)), 0.5)
    assert set(np.unique(numpy(model(x, training=True)))) == {0.0, 1.0}


# --- update rules: reference comparison with torch ---------------------------------------

LR = 0.1
STEPS = 20


def _keras_model(constraint: Any = None) -> Any:
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                4,
                activation="tanh",
                kernel_initializer=Initializer("xavier_normal", seed=1),
                bias_initializer=Initializer("normal(std=0.1)", seed=2),
                kernel_constraint=constraint,
            ),
            keras.layers.Dense(
                1,
                kernel_initializer=Initializer("xavier_normal", seed=3),
                bias_initializer=Initializer("normal(std=0.1)", seed=4),
                kernel_constraint=constraint,
            ),
        ]
    )


def _torch_copy(model: Any) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    with torch.no_grad():
        for linear, layer in zip((net[0], net[2]), model.layers, strict=True):
            linear.weight.copy_(to_torch_layout(as_torch(layer.kernel)))
            linear.bias.copy_(as_torch(layer.bias))
    return net


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4 * STEPS, 3, generator=generator)
    y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(4 * STEPS, 1, generator=generator)
    return x, y


class _Recorder(keras.callbacks.Callback):
    """Weights after each step, in torch layout."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.history.append([to_torch_layout(as_torch(v)) for v in self.model.trainable_variables])


def _keras_run(
    callbacks: list[Any], optimizer: Any = None, constraint: Any = None
) -> tuple[Any, list[list[torch.Tensor]]]:
    model = _keras_model(constraint)
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate=LR), loss="mse")
    recorder = _Recorder()
    x, y = _data()
    model.fit(
        x.numpy(),
        y.numpy(),
        batch_size=4,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[*callbacks, recorder],
    )
    assert len(recorder.history) == STEPS
    return model, recorder.history


def _torch_run(
    model: Any, rule: regularize.WeightRule, schedule: float | None = None
) -> list[list[torch.Tensor]]:
    net = _torch_copy(model)
    opt = regularize.RegularizedOptimizer(
        torch.optim.SGD(net.parameters(), lr=LR), rule, [net[0].weight, net[2].weight]
    )
    scheduler = (
        torch.optim.lr_scheduler.LambdaLR(opt.optimizer, lambda step: schedule**step)
        if schedule is not None
        else None
    )
    x, y = _data()
    history = []
    for xb, yb in zip(x.split(4), y.split(4), strict=True):
        opt.zero_grad()
        nn.functional.mse_loss(net(xb), yb).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        history.append([p.detach().clone() for p in net.parameters()])
    return history


def _assert_same_trajectory(
    a: list[list[torch.Tensor]], b: list[list[torch.Tensor]], atol: float = 1e-5
) -> None:
    assert len(a) == len(b) == STEPS
    for step, (left, right) in enumerate(zip(a, b, strict=True)):
        for p, q in zip(left, right, strict=True):
            assert p.shape == q.shape
            assert (p - q).abs().max().item() <= atol, f"step {step}"


@pytest.mark.parametrize("rule", ["subgradient", "clip", "proximal"])
def test_l1_step_matches_torch(rule: str) -> None:
    _, keras_history = _keras_run([L1Step(0.3, rule)])
    torch_history = _torch_run(_keras_model(), regularize.l1_step(0.3, rule))
    _assert_same_trajectory(keras_history, torch_history)
    zeros = sum(int((w == 0).sum()) for w in keras_history[-1][::2])
    if rule == "subgradient":
        assert zeros == 0
    else:  # the test is only meaningful if weights were set to exactly zero
        assert zeros > 0


@pytest.mark.parametrize("lr_scaled", [True, False])
def test_decoupled_decay_matches_torch(lr_scaled: bool) -> None:
    _, keras_history = _keras_run([DecoupledDecay(0.5, lr_scaled=lr_scaled)])
    torch_history = _torch_run(_keras_model(), regularize.decoupled_decay(0.5, lr_scaled=lr_scaled))
    _assert_same_trajectory(keras_history, torch_history)


def test_chained_rules_match_torch() -> None:
    callback = WeightRules(decoupled_decay(0.1), l1_step(0.2, "clip"))
    _, keras_history = _keras_run([callback])
    rule = regularize.chain(regularize.decoupled_decay(0.1), regularize.l1_clip(0.2))
    _assert_same_trajectory(keras_history, _torch_run(_keras_model(), rule))


@pytest.mark.parametrize(
    "spec", ["max_norm(0.5)", "l1(0.2, rule=clip)+decoupled_decay(0.1)+max_norm(0.8)"]
)
def test_rules_from_a_spec_match_torch(spec: str) -> None:
    """WeightRules.from_spec runs the registered rules, in stage order, as torch does."""
    _, keras_history = _keras_run([WeightRules.from_spec(spec)])
    reference = parse_regularization(spec).rule()
    assert reference is not None
    _assert_same_trajectory(keras_history, _torch_run(_keras_model(), reference))


def test_max_norm_matches_keras_max_norm_constraint() -> None:
    """max_norm(c) after each step is Keras's kernel_constraint=MaxNorm(c, axis=0) but for
    Keras's ε = 1e-7 in c/(ε + ‖w‖): a relative 2e-7 a step at ‖w‖ = 0.5, so about 4e-6
    after 20 steps."""
    _, ours = _keras_run([WeightRules.from_spec("max_norm(0.5)")])
    _, theirs = _keras_run([], constraint=keras.constraints.MaxNorm(0.5, axis=0))
    _assert_same_trajectory(ours, theirs, atol=5e-6)
    norms = torch.linalg.vector_norm(ours[0][0], dim=1)  # torch layout [out, in]: a unit a row
    assert (norms <= 0.5 * (1 + 1e-6)).all()
    assert (norms >= 0.5 * (1 - 1e-6)).any()  # the bound did bind


def test_decay_under_a_schedule_matches_torch_and_keras_weight_decay() -> None:
    """The rule uses the learning rate of the step it follows, also under a schedule."""

    def schedule() -> Any:
        return keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=1, decay_rate=0.9)

    _, ours = _keras_run([DecoupledDecay(0.5)], keras.optimizers.SGD(learning_rate=schedule()))
    _assert_same_trajectory(ours, _torch_run(_keras_model(), regularize.decoupled_decay(0.5), 0.9))
    builtin = keras.optimizers.SGD(learning_rate=schedule(), weight_decay=0.5)
    builtin.exclude_from_weight_decay(var_names=["bias"])
    _, theirs = _keras_run([], builtin)
    _assert_same_trajectory(ours, theirs, atol=1e-6)


def test_default_selection_is_kernels() -> None:
    model = _keras_model()
    callback = L1Step(0.1)
    model.compile(optimizer=keras.optimizers.SGD(LR), loss="mse")
    x, y = _data()
    model.fit(
        x.numpy(),
        y.numpy(),
        batch_size=4,
        epochs=1,
        steps_per_epoch=1,
        verbose=0,
        callbacks=[callback],
    )
    assert [v.path for v in callback.variables] == [
        v.path for v in model.trainable_variables if v.name == "kernel"
    ]
    assert all(is_kernel(v) == (v.name == "kernel") for v in model.trainable_variables)


def test_custom_selection() -> None:
    model = _keras_model()
    first = model.layers[0].kernel.path
    before = [numpy(v).copy() for v in model.trainable_variables]
    callback = DecoupledDecay(1e3, lr_scaled=False, select=lambda v: v.path == first)
    # A huge decay on one kernel only, no gradient step: only that kernel changes.
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x, y = _data()
    model.fit(
        x.numpy(),
        y.numpy(),
        batch_size=4,
        epochs=1,
        steps_per_epoch=1,
        verbose=0,
        callbacks=[callback],
    )
    after = [numpy(v) for v in model.trainable_variables]
    assert [v.path for v in callback.variables] == [first]
    assert np.allclose(after[0], before[0] * (1 - 1e3))
    for b, a in zip(before[1:], after[1:], strict=True):
        assert np.array_equal(a, b)


def test_rules_reject_gradient_accumulation() -> None:
    model = _keras_model()
    model.compile(optimizer=keras.optimizers.SGD(LR, gradient_accumulation_steps=2), loss="mse")
    x, y = _data()
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'model' parameter of L1Step must be a model whose optimizer steps on every batch. Got gradient_accumulation_steps=2."
        ),
    ):
        model.fit(x.numpy(), y.numpy(), batch_size=4, verbose=0, callbacks=[L1Step(0.1)])


# --- serialization -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        Initializer("he_normal(nonlinearity='relu')", seed=3),
        Initializer("orthogonal", seed=None),
        L1(0.01),
        L2(0.02, convention="half_sum_sq"),
        ElasticNet(0.1, 0.25, convention="sum_sq"),
        Penalty("elastic_net(0.1, l1_ratio=0.25, convention=sum_sq)"),
        Dropout(0.25, mode="classic", seed=4),
    ],
    ids=repr,
)
def test_config_round_trip(obj: Any) -> None:
    config = keras.saving.serialize_keras_object(obj)
    assert config["registered_name"] == f"weightlab>{type(obj).__name__}"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(obj)
    assert clone.get_config() == obj.get_config()


def test_model_save_and_load(tmp_path: Path) -> None:
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                5,
                activation="relu",
                kernel_initializer=Initializer("he_normal(nonlinearity='relu')", seed=0),
                kernel_regularizer=L2(0.01, convention="sum_sq"),
                bias_regularizer=L1(0.001),
            ),
            Dropout(0.2, seed=1),
            keras.layers.Dense(
                2,
                kernel_initializer=Initializer("xavier_uniform", seed=1),
                kernel_regularizer=ElasticNet(0.01, 0.5, convention="half_sum_sq"),
                bias_regularizer=Penalty("l1(0.001, rule=penalty)"),
            ),
            Dropout(0.5, mode="classic", seed=2),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for original, restored in zip(model.layers, loaded.layers, strict=True):
        assert type(restored) is type(original)
        assert restored.get_config() == original.get_config()
    dense = loaded.layers[0]
    assert isinstance(dense.kernel_initializer, Initializer)
    assert isinstance(dense.kernel_regularizer, L2)
    assert isinstance(loaded.layers[2].kernel_regularizer, ElasticNet)
    assert repr(loaded.layers[2].bias_regularizer) == "Penalty(\"l1(0.001, rule='penalty')\")"
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    assert np.allclose(numpy(loaded(x, training=False)), numpy(model(x, training=False)))
    assert np.allclose(numpy(ops.sum(loaded.losses)), numpy(ops.sum(model.losses)))


# --- every object: builds, trains a step, serializes and deserializes -------------------


def _at_start(kind: str) -> list[Term]:
    """Each registered term of ``kind`` with its parameters at ``Param.start``, and l1 as a
    penalty (``rule=penalty``) or with each of its step rules."""
    found = []
    for entry in TERMS.values():
        start = {p.name: p.start for p in entry.params}
        if entry.name == "l1":
            rules = ["penalty"] if kind == "penalty" else ["subgradient", "clip", "proximal"]
            found += [make_term("l1", **{**start, "rule": r}) for r in rules]
        else:
            term = make_term(entry.name, **start)
            found += [term] if term.kind == kind else []
    return found


def _tiny_model(**dense: Any) -> Any:
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="tanh", **dense),
            keras.layers.Dense(2, kernel_initializer=Initializer("lecun_normal", seed=9)),
        ]
    )


def _one_step(model: Any, callbacks: list[Any] | None = None) -> list[np.ndarray]:
    """One SGD step on four rows (the loss includes the layers' regularizers)."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    before = [numpy(v).copy() for v in model.trainable_variables]
    model.fit(x, x[:, :2] ** 2, batch_size=4, epochs=1, verbose=0, callbacks=callbacks)
    after = [numpy(v) for v in model.trainable_variables]
    assert all(np.isfinite(a).all() for a in after)
    assert any(not np.array_equal(a, b) for a, b in zip(after, before, strict=True))
    return after


def _save_and_load(model: Any, path: Path) -> Any:
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-6, atol=1e-7)
    return loaded


@pytest.mark.parametrize("name", initializer_schemes())
def test_every_initializer_trains_and_saves(name: str, tmp_path: Path) -> None:
    init = Initializer(name, seed=5)
    model = _tiny_model(kernel_initializer=init)
    expected = to_keras_layout(torch_draw(name, (4, 3), 5))
    assert np.array_equal(numpy(model.layers[0].kernel), expected.numpy())
    _one_step(model)
    loaded = _save_and_load(model, tmp_path / "model.keras")
    restored = loaded.layers[0].kernel_initializer
    assert type(restored) is Initializer and restored.get_config() == init.get_config()
    assert np.array_equal(numpy(restored((3, 4))), numpy(init((3, 4))))


PENALTIES = [
    *[pytest.param(lambda t=t: Penalty(str(t)), id=f"Penalty({t})") for t in _at_start("penalty")],
    pytest.param(lambda: L1(0.01), id="L1"),
    pytest.param(lambda: L2(0.01, convention="sum_sq"), id="L2-sum_sq"),
    pytest.param(lambda: L2(0.01, convention="half_sum_sq"), id="L2-half_sum_sq"),
    pytest.param(lambda: ElasticNet(0.01, 0.3, convention="sum_sq"), id="ElasticNet"),
]


@pytest.mark.parametrize("make", PENALTIES)
def test_every_regularizer_trains_and_saves(make: Callable[[], Any], tmp_path: Path) -> None:
    penalty = make()
    model = _tiny_model(kernel_regularizer=penalty, bias_regularizer=make())
    x = np.ones((1, 3), np.float32)
    model(x)
    kernel = model.layers[0].kernel
    assert float(numpy(ops.sum(model.losses))) == pytest.approx(
        float(numpy(penalty(kernel))) + float(numpy(penalty(model.layers[0].bias))), rel=1e-6
    )
    plain = _tiny_model()
    for v, w in zip(plain.trainable_variables, model.trainable_variables, strict=True):
        v.assign(numpy(w))
    assert not np.allclose(_one_step(model)[0], _one_step(plain)[0])  # the penalty acted
    loaded = _save_and_load(model, tmp_path / "model.keras")
    restored = loaded.layers[0].kernel_regularizer
    assert type(restored) is type(penalty) and restored.get_config() == penalty.get_config()
    assert float(numpy(restored(kernel))) == float(numpy(penalty(kernel)))


CALLBACKS = [
    *[
        pytest.param(lambda t=t: WeightRules.from_spec(str(t)), id=f"from_spec({t})")
        for t in _at_start("rule")
    ],
    pytest.param(
        lambda: WeightRules.from_spec("decoupled_decay(0.1)+l1(0.01, rule=clip)+max_norm(0.5)"),
        id="from_spec(chain)",
    ),
    *[
        pytest.param(lambda r=r: L1Step(0.05, r), id=f"L1Step-{r}")
        for r in ("subgradient", "clip", "proximal")
    ],
    pytest.param(lambda: DecoupledDecay(0.5), id="DecoupledDecay"),
    pytest.param(lambda: DecoupledDecay(0.5, lr_scaled=False), id="DecoupledDecay-unscaled"),
]


@pytest.mark.parametrize("make", CALLBACKS)
def test_every_callback_trains_and_serializes(make: Callable[[], Any]) -> None:
    callback = make()
    config = keras.saving.serialize_keras_object(callback)
    assert config["registered_name"] == f"weightlab>{type(callback).__name__}"
    clone = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert type(clone) is type(callback) and repr(clone) == repr(callback)
    assert clone.get_config() == callback.get_config()
    # The original and the rebuilt callback take the same step from the same start.
    first, second = _tiny_model(), _tiny_model()
    for v, w in zip(second.trainable_variables, first.trainable_variables, strict=True):
        v.assign(numpy(w))
    ours, theirs = _one_step(first, [callback]), _one_step(second, [clone])
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert [v.path for v in callback.variables] == [
        first.layers[0].kernel.path,
        first.layers[1].kernel.path,
    ]


def test_a_callback_of_functions_trains_but_does_not_serialize() -> None:
    callback = WeightRules(decoupled_decay(0.5), l1_step(0.05, "clip"))
    _one_step(_tiny_model(), [callback])
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'rules' parameter of WeightRules.get_config must be rule terms from a spec (WeightRules.from_spec) to be saved. Got 2 functions."
        ),
    ):
        keras.saving.serialize_keras_object(callback)
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'select' parameter of L1Step.get_config must be the default selection (is_kernel) to be saved: a function cannot be."
        ),
    ):
        L1Step(0.1, select=lambda v: True).get_config()


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_every_dropout_layer_trains_and_saves(mode: str, tmp_path: Path) -> None:
    layer = Dropout(0.5, mode=mode, seed=3)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), layer, keras.layers.Dense(2)]
    )
    _one_step(model)
    loaded = _save_and_load(model, tmp_path / "model.keras")  # inference: no mask drawn
    assert loaded.layers[1].get_config() == layer.get_config()
    ones = ops.ones((4, 100))
    kept = numpy(loaded.layers[1](ones, training=True))
    assert set(np.unique(kept).tolist()) == ({0.0, 2.0} if mode == "inverted" else {0.0, 1.0})


# --- the backend ---------------------------------------------------------------------------


def test_an_unknown_or_missing_backend_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'KERAS_BACKEND' parameter of weightlab.keras must be one of 'tensorflow', 'jax', 'torch'. Got 'numpy'."
        ),
    ):
        check_keras_backend("numpy", "weightlab.keras", "KERAS_BACKEND")
    monkeypatch.setitem(sys.modules, "jax", None)  # as if jax were not installed
    with pytest.raises(
        MissingExtraError,
        match=msg(
            "Keras' jax backend needs the package 'jax', which is not installed. Install it with: pip install jax"
        ),
    ):
        check_keras_backend("jax", "weightlab.keras", "KERAS_BACKEND")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "hide", "message"),
    [
        (
            "theano",
            "",
            "ParameterError: The 'KERAS_BACKEND' parameter of weightlab.keras must be one of 'tensorflow', 'jax', 'torch'. Got 'theano'.",
        ),
        (
            "tensorflow",
            "tensorflow",
            "MissingExtraError: Keras' tensorflow backend needs the package 'tensorflow', which is not installed. Install it with: pip install tensorflow",
        ),
    ],
)
def test_importing_weightlab_keras_checks_the_backend_before_keras(
    backend: str, hide: str, message: str
) -> None:
    code = "import sys\n"
    code += f"sys.modules[{hide!r}] = None  # as if it were not installed\n" if hide else ""
    code += "try:\n    import weightlab.keras\nexcept Exception as error:\n"
    code += "    print(f'{type(error).__name__}: {error}', 'keras' in sys.modules)\n"
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"{message} False"  # one line, and Keras never imported


# --- bad input ---------------------------------------------------------------------------

SCHEMES = ", ".join(repr(n) for n in initializer_schemes())


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: Initializer("he_nromal"),
            ValueError,
            f"The 'scheme' parameter of Initializer must be one of {SCHEMES}. Got 'he_nromal'.",
        ),
        (
            lambda: Initializer("lsuv"),
            ValueError,
            f"The 'scheme' parameter of Initializer must be one of {SCHEMES} ('lsuv' is data-dependent",
        ),
        (
            lambda: Initializer(3),
            TypeError,
            "The 'scheme' parameter of Initializer must be a scheme spec string",
        ),
        (
            lambda: Initializer("normal(std=)"),
            ValueError,
            "The 'scheme' parameter of Initializer must be a name or a call with literal arguments",
        ),
        (
            lambda: Initializer("normal(std=-1.0)"),
            ValueError,
            "The 'std' parameter of normal must be a float >= 0. Got -1.0.",
        ),
        (
            lambda: Initializer("he_normal", nonlinearity="relux"),
            ValueError,
            "The 'nonlinearity' parameter of he_normal must be one of 'linear'",
        ),
        (
            lambda: Initializer("he_normal", gain=2.0),
            ValueError,
            "The 'params' parameter of Initializer must be a parameter of he_normal (a, mode, nonlinearity). Got gain=2.0.",
        ),
        (
            lambda: Initializer("normal", seed=-1),
            ValueError,
            "The 'seed' parameter of Initializer must be an int in [0, 2**64) or None. Got -1.",
        ),
        (
            lambda: Initializer("normal", seed=1.5),
            ValueError,
            "The 'seed' parameter of Initializer must be an int in [0, 2**64) or None. Got 1.5.",
        ),
        (
            lambda: Initializer("he_normal")((5,)),
            ValueError,
            "The 'shape' parameter of Initializer must be a shape with at least 2 dimensions for he_normal. Got (5,).",
        ),
        (
            lambda: Initializer("normal")((2, -1)),
            ValueError,
            "The 'shape' parameter of Initializer must be a tuple of non-negative ints. Got (2, -1).",
        ),
        (
            lambda: Initializer("normal")((2, 2), "int32"),
            ValueError,
            "The 'dtype' parameter of Initializer must be a floating-point dtype. Got 'int32'.",
        ),
        (
            lambda: L1(-0.1),
            ValueError,
            "The 'strength' parameter of L1 must be a float >= 0. Got -0.1.",
        ),
        (
            lambda: L1(math.inf),
            ValueError,
            "The 'strength' parameter of L1 must be a float >= 0. Got inf.",
        ),
        (
            lambda: L2(-1.0, convention="sum_sq"),
            ValueError,
            "The 'strength' parameter of L2 must be a float >= 0. Got -1.0.",
        ),
        (
            lambda: L2(0.1, convention="half"),
            ValueError,
            "The 'convention' parameter of L2 must be one of 'sum_sq', 'half_sum_sq'. Got 'half'.",
        ),
        (lambda: L2(0.1), TypeError, "convention"),
        (
            lambda: ElasticNet(0.1, 1.5, convention="sum_sq"),
            ValueError,
            "The 'l1_ratio' parameter of ElasticNet must be a float in [0, 1]. Got 1.5.",
        ),
        (
            lambda: ElasticNet(0.1, 0.5, convention="l2"),
            ValueError,
            "The 'convention' parameter of ElasticNet must be one of 'sum_sq', 'half_sum_sq'. Got 'l2'.",
        ),
        (
            lambda: Dropout(1.0),
            ValueError,
            "The 'rate' parameter of Dropout must be a float in [0, 1). Got 1.0.",
        ),
        (
            lambda: Dropout(-0.1),
            ValueError,
            "The 'rate' parameter of Dropout must be a float in [0, 1). Got -0.1.",
        ),
        (
            lambda: Dropout(0.5, mode="scaled"),
            ValueError,
            "The 'mode' parameter of Dropout must be one of 'inverted', 'classic'. Got 'scaled'.",
        ),
        (
            lambda: Dropout(0.5, seed="a"),
            ValueError,
            "The 'seed' parameter of Dropout must be an int in [0, 2**64) or None. Got 'a'.",
        ),
        (
            lambda: L1Step(-1.0),
            ValueError,
            "The 'strength' parameter of L1Step must be a float >= 0. Got -1.0.",
        ),
        (
            lambda: L1Step(0.1, "soft"),
            ValueError,
            "The 'rule' parameter of L1Step must be one of 'subgradient', 'clip', 'proximal'. Got 'soft'.",
        ),
        (
            lambda: L1Step(0.1, select="kernel"),
            ValueError,
            "The 'select' parameter of L1Step must be a callable variable -> bool or None. Got 'kernel'.",
        ),
        (
            lambda: DecoupledDecay(-0.5),
            ValueError,
            "The 'rate' parameter of DecoupledDecay must be a float >= 0. Got -0.5.",
        ),
        (
            lambda: DecoupledDecay(0.5, lr_scaled=1),
            TypeError,
            "The 'lr_scaled' parameter of DecoupledDecay must be a bool. Got 1.",
        ),
        (
            lambda: l1_step(0.1, "hard"),
            ValueError,
            "The 'rule' parameter of l1_step must be one of 'subgradient', 'clip', 'proximal'. Got 'hard'.",
        ),
        (
            lambda: decoupled_decay(math.nan),
            ValueError,
            "The 'rate' parameter of decoupled_decay must be a float >= 0. Got nan.",
        ),
        (
            lambda: WeightRules(),
            ValueError,
            "The 'rules' parameter of WeightRules must be at least one rule. Got none.",
        ),
        (
            lambda: WeightRules(0.1),
            ValueError,
            "The 'rules[0]' parameter of WeightRules must be a callable rule(prev, proposed, lr) -> new. Got 0.1.",
        ),
        (
            lambda: WeightRules.from_spec("l2(0.1)+max_norm(3)"),
            ValueError,
            "The 'spec' parameter of WeightRules.from_spec must be rule terms (l1, decoupled_decay, max_norm) joined by '+'. Got 'l2(0.1)', a penalty term.",
        ),
        (
            lambda: WeightRules.from_spec("dropout(0.5)"),
            ValueError,
            "The 'spec' parameter of WeightRules.from_spec must be rule terms (l1, decoupled_decay, max_norm) joined by '+'. Got 'dropout(0.5)', a layer term.",
        ),
        (
            lambda: WeightRules.from_spec("none"),
            ValueError,
            "The 'spec' parameter of WeightRules.from_spec must be rule terms (l1, decoupled_decay, max_norm) joined by '+'. Got 'none'.",
        ),
        (
            lambda: WeightRules.from_spec("max_norm(3)", select="kernel"),
            ValueError,
            "The 'select' parameter of WeightRules.from_spec must be a callable variable -> bool or None. Got 'kernel'.",
        ),
        (
            lambda: Penalty("max_norm(3)"),
            ValueError,
            "The 'term' parameter of Penalty must be a penalty term (l1, l2, elastic_net). Got 'max_norm(3)', a rule term.",
        ),
        (
            lambda: Penalty("l1(0.01)"),
            ValueError,
            "The 'term' parameter of Penalty must be a penalty term (l1, l2, elastic_net). Got 'l1(0.01)', a rule term.",
        ),
        (
            lambda: to_keras_layout(np.ones((2, 3))),
            TypeError,
            "The 'weight' parameter of to_keras_layout must be a torch.Tensor.",
        ),
    ],
)
def test_bad_input(make: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=msg(message)):
        make()


def _hide_keras_by_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)


def _hide_keras_by_import_module(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, package: str | None = None) -> Any:
        if name.split(".")[0] == "keras":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, package)

    monkeypatch.setattr(weightlab._optional.importlib, "import_module", fake)


@pytest.mark.parametrize("hide", [_hide_keras_by_sys_modules, _hide_keras_by_import_module])
@pytest.mark.parametrize("module", ["weightlab.keras", "weightlab.interop.keras"])
def test_missing_keras_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, hide: Callable[[pytest.MonkeyPatch], None], module: str
) -> None:
    import_module = importlib.import_module
    for name in ("weightlab.keras", "weightlab.interop.keras"):
        monkeypatch.delitem(sys.modules, name)
    hide(monkeypatch)
    expected = (
        "Keras initializers and regularizers need the optional package 'keras', which is not "
        "installed. Install it with: pip install 'weightlab[keras]'"
    )
    with pytest.raises(MissingExtraError, match=msg(expected)):
        import_module(module)


@pytest.mark.slow
def test_torch_backend_is_the_default() -> None:
    """Without KERAS_BACKEND, importing weightlab.keras first puts Keras on torch (even where
    ~/.keras/keras.json names another backend)."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    code = "import weightlab.keras, keras; print(keras.backend.backend())"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "torch"


def test_weight_rules_from_a_spec_print_their_terms_in_stage_order() -> None:
    callback = WeightRules.from_spec("max_norm(3)+decoupled_decay(0.01)")
    assert repr(callback) == "WeightRules.from_spec('decoupled_decay(0.01)+max_norm(3)')"
    assert len(callback.rules) == 2
    # Inactive terms change nothing: the callback keeps one identity rule.
    assert len(WeightRules.from_spec("l1(0)").rules) == 1


@pytest.mark.slow
def test_guide_python_blocks_print_the_shown_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the guide saves model.keras in the working directory
    assert check_python_blocks(DOC) >= 6


README = Path(__file__).resolve().parents[2] / "README.md"


def _backend_table(text: str) -> str:
    """The text block that starts with the backends table's header."""
    (table,) = [b for b in re.findall(r"```text\n(.*?)```", text, re.S) if b.startswith("backend ")]
    return table


def test_readme_shows_the_guide_s_backend_table() -> None:
    # The guide's block runs the three backends (the slow test above checks its output).
    table = _backend_table(DOC.read_text(encoding="utf-8"))
    assert _backend_table(README.read_text(encoding="utf-8")) == table
    rows = [line.split() for line in table.splitlines()[1:]]
    assert [row[0] for row in rows] == ["tensorflow", "jax", "torch"]
    assert len({tuple(row[1:4]) for row in rows}) == 1  # weightlab's draw: the same
    assert len({tuple(row[4:7]) for row in rows}) == 3  # Keras' own: each backend's
    assert len({tuple(row[-3:]) for row in rows}) == 1  # training: the same to 5 decimals
