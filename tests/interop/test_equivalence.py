"""Translations checked by running the frameworks: the REFERENCES facts re-measured on
the installed versions, every optimizer and penalty mapping trained in both frameworks
(same start, same batches, 20 steps), every registered weightlab regularization term
trained by weightlab and by its translation into each framework (and a user's group-lasso
penalty, registered here), and every initializer and dropout mapping drawn by both
frameworks' real initializers and layers.

Keras runs on the backend ``KERAS_BACKEND`` names (torch in the suite's own process);
``tests/interop/test_keras_backends.py`` runs this whole file again with tensorflow and
with jax, which is what the translator's "Checked on Keras' ... backends" states."""

from __future__ import annotations

import inspect
import math
import os
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
mx = pytest.importorskip("mlx.core")
mnn = pytest.importorskip("mlx.nn")
mopt = pytest.importorskip("mlx.optimizers")

from weightlab._validate import Instance, OneOf  # noqa: E402
from weightlab.interop.trajectory import (  # noqa: E402
    apply_dropout,
    draw_init,
    make_problem,
    max_difference,
    trajectory,
)
from weightlab.interop.translate import (  # noqa: E402
    COMPONENTS,
    EXACT_TOLERANCE,
    InitMeaning,
    meaning_of,
    parse_setting,
    translate,
)
from weightlab.regularize import REGISTRY as TERMS  # noqa: E402
from weightlab.regularize import STRENGTH, Canonical, Param, Term, make_term, register  # noqa: E402

# Keras' own conversions inside train_on_batch, under NumPy 2 on the torch backend.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

W0 = [1.0, -2.0]


def _np(x: object) -> np.ndarray:
    """Keras values as NumPy (torch tensors directly: Keras' conversion warns under NumPy 2)."""
    value = getattr(x, "value", x)
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(keras.ops.convert_to_numpy(x))


# ---------------------------------------------------------------------------
# The REFERENCES "Framework conventions" table, on the installed versions.


def test_torch_sgd_weight_decay_adds_lambda_w_to_the_gradient() -> None:
    for cls in (torch.optim.SGD, torch.optim.AdamW):
        p = torch.nn.Parameter(torch.tensor(W0))
        opt = cls([p], lr=0.1, weight_decay=0.5)
        p.grad = torch.zeros(2)
        opt.step()
        assert p.detach().tolist() == pytest.approx([0.95, -1.9], abs=1e-7)


def test_keras_weight_decay_is_decoupled_and_lr_scaled() -> None:
    for cls in (keras.optimizers.SGD, keras.optimizers.AdamW):
        v = keras.Variable(np.array(W0, np.float32))
        cls(learning_rate=0.1, weight_decay=0.5).apply([keras.ops.zeros(2)], [v])
        assert _np(v).tolist() == pytest.approx([0.95, -1.9], abs=1e-7)


def test_mlx_sgd_and_adamw_weight_decay() -> None:
    for opt in (mopt.SGD(learning_rate=0.1, weight_decay=0.5), mopt.AdamW(0.1, weight_decay=0.5)):
        new = opt.apply_gradients({"w": mx.zeros(2)}, {"w": mx.array(W0)})
        assert np.array(new["w"]).tolist() == pytest.approx([0.95, -1.9], abs=1e-7)


def test_keras_l2_adds_lambda_sum_of_squares_without_a_half() -> None:
    w = keras.ops.convert_to_tensor(np.array([[1, -2], [3, 0.5]], np.float32))
    assert float(keras.regularizers.L2(0.01)(w)) == pytest.approx(0.1425, rel=1e-6)
    assert float(keras.regularizers.L1(0.01)(w)) == pytest.approx(0.065, rel=1e-6)
    assert float(keras.regularizers.L1L2(l1=0.01, l2=0.01)(w)) == pytest.approx(0.2075, rel=1e-6)


def test_keras_glorot_normal_is_truncated_with_the_plain_glorot_std() -> None:
    w = _np(keras.initializers.GlorotNormal(seed=0)((1000, 1000)))
    assert float(w.std()) == pytest.approx(0.03163, rel=0.01)
    sigma = math.sqrt(2 / 2000) / 0.87962566103423978
    # Within ±2σ′ apart from the torch backend's rare misses (see the next test).
    assert np.mean(np.abs(w) > 2 * sigma) < 1e-4


def test_keras_truncation_is_exact_except_on_the_torch_backend() -> None:
    # keras/src/backend/torch/random.py takes the first of four draws inside (−2, 2) and
    # the first draw when none is: about 0.0455⁴ ≈ 4.3e-6 of the values are outside.
    # TensorFlow (stateless_truncated_normal) and JAX (random.truncated_normal) cut exactly.
    w = _np(keras.random.truncated_normal((2000, 2000), seed=1))
    outside = int(np.sum(np.abs(w) >= 2.0))
    if keras.backend.backend() == "torch":
        assert 0 < outside < 4e6 * 2e-5
    else:
        assert outside == 0


def test_keras_normal_distribution_means_truncated() -> None:
    assert (
        keras.initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    )


def test_mlx_he_normal_default_gain_is_one() -> None:
    w = np.array(mnn.init.he_normal()(mx.zeros((1000, 1000))))
    assert float(w.std()) == pytest.approx(1 / math.sqrt(1000), rel=0.01)  # LeCun's, not He's


def test_mlx_adam_and_adamw_default_to_no_bias_correction() -> None:
    for cls in (mopt.Adam, mopt.AdamW):
        assert inspect.signature(cls).parameters["bias_correction"].default is False


def test_torch_kaiming_default_gain_is_relu_and_linear_default_is_uniform() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.nn.init.kaiming_normal_(torch.empty(1000, 1000), generator=g)
    assert float(w.std()) == pytest.approx(math.sqrt(2 / 1000), rel=0.01)
    layer = torch.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.detach(), layer.bias.detach()):
        assert float(p.abs().max()) <= np.float32(bound)  # float32 draws may hit the bound
    assert float(layer.weight.detach().std()) == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_keras_dense_and_mlx_linear_defaults() -> None:
    dense = keras.layers.Dense(300)
    dense.build((None, 400))
    kernel = _np(dense.kernel)
    assert np.abs(kernel).max() <= math.sqrt(6 / 700)
    assert not np.any(_np(dense.bias))
    assert (
        inspect.signature(keras.layers.Dense).parameters["kernel_initializer"].default
        == "glorot_uniform"
    )
    layer = mnn.Linear(400, 300)
    for p in (layer.weight, layer.bias):
        # MLX draws in float32 and may return the bound itself, float32(0.05) > 0.05.
        assert float(mx.max(mx.abs(p))) <= np.float32(1 / math.sqrt(400))


@pytest.mark.parametrize("framework", ["torch", "keras", "mlx"])
def test_dropout_is_inverted_in_every_framework(framework: str) -> None:
    p = 0.5
    values = _dropout(framework, p, training=True)
    assert set(np.unique(values).tolist()) <= {0.0, 1 / (1 - p)}  # p = 0.5: exactly {0, 2}
    assert float(np.mean(values == 0)) == pytest.approx(p, abs=0.01)
    assert np.all(_dropout(framework, p, training=False) == 1.0)


def _dropout(framework: str, p: float, training: bool, n: int = 100_000) -> np.ndarray:
    if framework == "torch":
        layer = torch.nn.Dropout(p)
        layer.train(training)
        return layer(torch.ones(n)).numpy()
    if framework == "keras":
        out = keras.layers.Dropout(p)(keras.ops.ones(n), training=training)
        return _np(out)
    layer = mnn.Dropout(p)
    layer.train(training)
    return np.array(layer(mx.ones(n)))


_SIGNATURES = {
    "torch": {
        "SGD": torch.optim.SGD,
        "Adam": torch.optim.Adam,
        "AdamW": torch.optim.AdamW,
        "Dropout": torch.nn.Dropout,
    },
    "keras": {
        "SGD": keras.optimizers.SGD,
        "Adam": keras.optimizers.Adam,
        "AdamW": keras.optimizers.AdamW,
        "L1": keras.regularizers.L1,
        "L2": keras.regularizers.L2,
        "L1L2": keras.regularizers.L1L2,
        "VarianceScaling": keras.initializers.VarianceScaling,
    },
    "mlx": {"SGD": mopt.SGD, "Adam": mopt.Adam, "AdamW": mopt.AdamW, "Dropout": mnn.Dropout},
}


@pytest.mark.parametrize(
    ("framework", "name"), [(fw, name) for fw, table in _SIGNATURES.items() for name in table]
)
def test_translator_defaults_are_the_installed_frameworks_defaults(
    framework: str, name: str
) -> None:
    installed = inspect.signature(_SIGNATURES[framework][name]).parameters
    for param, default in COMPONENTS[framework][name].params:
        if param == "on":
            continue  # the translator's own: which weights a decay or penalty touches
        real = installed[param].default
        if real is inspect.Parameter.empty:
            continue  # required in the framework (MLX's learning_rate)
        assert default == (tuple(real) if isinstance(real, list) else real), (
            framework,
            name,
            param,
        )


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("xavier_normal_", torch.nn.init.xavier_normal_),
        ("kaiming_normal_", torch.nn.init.kaiming_normal_),
    ],
)
def test_torch_init_defaults(name: str, fn: object) -> None:
    installed = inspect.signature(fn).parameters  # type: ignore[arg-type]
    for param, default in COMPONENTS["torch"][name].params:
        assert installed[param].default == default


# ---------------------------------------------------------------------------
# Optimizers and penalties: the same 20 steps in both frameworks.

SGD_LR = 0.05
UPDATE_CASES = [
    # keras sources
    ("keras:L2(0.01)", "torch:sgd"),
    ("keras:L2(0.01)", "mlx:sgd"),
    ("keras:L1(0.01)", "torch"),
    ("keras:L1(0.01)", "mlx"),
    ("keras:L1L2(l1=0.005, l2=0.02)", "torch"),
    ("keras:L1L2(l1=0.005, l2=0.02)", "mlx"),
    ("keras:SGD(learning_rate=0.05, weight_decay=0.1)", "torch"),
    ("keras:SGD(learning_rate=0.05, weight_decay=0.1)", "mlx"),
    ("keras:SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.1)", "torch"),
    ("keras:SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.1)", "mlx"),
    ("keras:SGD(learning_rate=0.05, momentum=0.9) + L2(0.01)", "torch"),
    ("keras:SGD(learning_rate=0.05, momentum=0.9) + L2(0.01)", "mlx"),
    ("keras:Adam(learning_rate=0.01) + L2(0.01)", "torch"),
    ("keras:Adam(learning_rate=0.01) + L2(0.01)", "mlx"),
    ("keras:Adam(learning_rate=0.01, weight_decay=0.1) + L1(0.001)", "torch"),
    ("keras:AdamW(learning_rate=0.01, weight_decay=0.1)", "torch"),
    ("keras:AdamW(learning_rate=0.01, weight_decay=0.1)", "mlx"),
    ("keras:Adam(learning_rate=0.01, weight_decay=0.1)", "keras:adamw"),
    # torch sources
    ("torch:SGD(lr=0.05, weight_decay=0.02)", "keras"),
    ("torch:SGD(lr=0.05, weight_decay=0.02)", "mlx"),
    ("torch:SGD(lr=0.05, momentum=0.9, weight_decay=0.02)", "keras"),
    ("torch:SGD(lr=0.05, momentum=0.9, weight_decay=0.02)", "mlx"),
    ("torch:SGD(lr=0.05, weight_decay=0.02, on=kernels)", "keras"),
    ("torch:SGD(lr=0.05, weight_decay=0.02, on=kernels)", "mlx"),
    ("torch:Adam(lr=0.01, weight_decay=0.01)", "keras"),
    ("torch:Adam(lr=0.01, weight_decay=0.01)", "mlx"),
    ("torch:Adam(lr=0.01, weight_decay=0.01)", "torch:adamw"),
    ("torch:Adam(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)", "mlx"),
    ("torch:AdamW(lr=0.01, weight_decay=0.1)", "keras"),
    ("torch:AdamW(lr=0.01, weight_decay=0.1)", "mlx"),
    ("torch:AdamW(lr=0.01, weight_decay=0.1)", "torch:adam"),
    ("torch:AdamW(lr=0.01, weight_decay=0.1, on=kernels)", "keras"),
    ("torch:AdamW(lr=0.01, weight_decay=0.1, on=kernels)", "mlx"),
    # mlx sources
    ("mlx:SGD(learning_rate=0.05, momentum=0.5, weight_decay=0.05)", "torch"),
    ("mlx:SGD(learning_rate=0.05, momentum=0.5, weight_decay=0.05)", "keras"),
    ("mlx:Adam(learning_rate=0.01)", "torch"),
    ("mlx:Adam(learning_rate=0.01)", "keras"),
    ("mlx:Adam(learning_rate=0.01, bias_correction=True)", "torch"),
    ("mlx:Adam(learning_rate=0.01, bias_correction=True)", "keras"),
    ("mlx:AdamW(learning_rate=0.01, weight_decay=0.1)", "torch"),
    ("mlx:AdamW(learning_rate=0.01, weight_decay=0.1)", "keras"),
    ("mlx:AdamW(learning_rate=0.01, weight_decay=0.1, bias_correction=True)", "torch"),
    ("mlx:AdamW(learning_rate=0.01, weight_decay=0.1, bias_correction=True)", "keras"),
    ("mlx:AdamW(learning_rate=0.01, weight_decay=0.1)", "mlx:adam"),
    # the per-step recipes read back as sources
    (
        "torch:Adam(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True) + no_bias_correction()",
        "mlx",
    ),
    ("keras:AdamW(learning_rate=0.01, weight_decay=0.1) + no_bias_correction()", "mlx"),
    # weightlab's adapter steps read back as sources, and weightlab as a target
    ("torch:SGD(lr=0.05, momentum=0.9) + weightlab_rules(spec='max_norm(0.5)')", "keras"),
    ("torch:SGD(lr=0.05, momentum=0.9) + weightlab_rules(spec='max_norm(0.5)')", "mlx"),
    (
        "keras:SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.1)"
        " + weightlab_rules(spec=\"l1(0.01, rule='clip')+max_norm(0.8)\")",
        "mlx",
    ),
    (
        "mlx:Adam(learning_rate=0.01, bias_correction=True) + weightlab_rules(spec='l1(0.01)')",
        "torch",
    ),
    (
        "mlx:Adam(learning_rate=0.01, bias_correction=True) + weightlab_rules(spec='l1(0.01)')",
        "keras",
    ),
    ("keras:L2(0.01)", "weightlab"),
    ("keras:L1L2(l1=0.005, l2=0.02)", "weightlab"),
    (
        "torch:penalty_l2(0.01) + weightlab_rules(spec='max_norm(0.5)')",
        "weightlab",
    ),
    ("mlx:decoupled_decay(0.1, on=kernels) + penalty_l1(0.01)", "weightlab"),
    # a decay on biases beside steps: torch nests two RegularizedOptimizers
    (
        "keras:SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.1)"
        " + weightlab_rules(spec='max_norm(0.5)')",
        "torch",
    ),
    (
        "mlx:AdamW(learning_rate=0.01, weight_decay=0.1, bias_correction=True)"
        " + weightlab_rules(spec='max_norm(0.5)')",
        "torch:adam",
    ),
    (
        "torch:SGD(lr=0.05, momentum=0.9) + decoupled_decay(0.1) + weightlab_rules(spec='max_norm(0.5)')",
        "keras",
    ),
    (
        "torch:SGD(lr=0.05, momentum=0.9) + decoupled_decay(0.1) + weightlab_rules(spec='max_norm(0.5)')",
        "mlx",
    ),
]


@pytest.fixture(scope="module")
def problems() -> dict[str, object]:
    return {
        "mse": make_problem((4, 5, 3), steps=20, loss="mse", seed=1),
        "cross_entropy": make_problem((4, 5, 3), steps=20, loss="cross_entropy", seed=2),
    }


def test_keras_l2_is_torch_sgd_weight_decay_of_twice_the_strength_step_for_step(
    problems: dict[str, object],
) -> None:
    # On whichever backend Keras runs (this file runs on tensorflow, jax and torch).
    t = translate("keras:L2(0.01)", "torch:sgd")
    assert t.target_setting == "torch:SGD(lr=lr, weight_decay=0.02, on='kernels')"
    for problem in problems.values():
        keras_path = trajectory("keras:SGD(learning_rate=0.05) + L2(0.01)", problem)  # type: ignore[arg-type]
        torch_path = trajectory("torch:SGD(lr=0.05, weight_decay=0.02, on=kernels)", problem)  # type: ignore[arg-type]
        for step, (a, b) in enumerate(zip(keras_path, torch_path, strict=True)):
            assert max_difference([a], [b]) <= 1e-5, (keras.backend.backend(), step)
        assert max_difference(keras_path, [keras_path[0]] * 21) > 0.05


def test_keras_adamw_matches_torch_within_a_tolerance_a_dropped_decay_would_fail(
    problems: dict[str, object],
) -> None:
    # lr·d = 10⁻³ a step: the decay moves the weights about 2.6·10⁻² in 20 steps, 26
    # times the ε-placement tolerance (10⁻³), while Keras and torch AdamW differ by about
    # 1.4·10⁻⁵ on every backend.
    source = "keras:AdamW(learning_rate=0.01, weight_decay=0.1)"
    t = translate(source, "torch")
    assert t.target_setting == "torch:AdamW(lr=0.01, eps=1e-07, weight_decay=0.1)"
    dropped = "torch:AdamW(lr=0.01, eps=1e-07, weight_decay=0.0)"
    for problem in problems.values():
        keras_path = trajectory(source, problem)  # type: ignore[arg-type]
        assert max_difference(keras_path, trajectory(t.target_setting, problem)) <= t.tolerance  # type: ignore[arg-type]
        assert max_difference(keras_path, trajectory(dropped, problem)) > 10 * t.tolerance  # type: ignore[arg-type]


def test_a_per_step_weight_decay_needs_an_eager_step_on_traced_backends(
    problems: dict[str, object],
) -> None:
    # The recipe that turns Keras' AdamW into MLX's uncorrected AdamW changes
    # weight_decay between steps; a tf.function (tensorflow) or jax.jit keeps the first
    # value, so the translation compiles with run_eagerly=True (and says why).
    t = translate("mlx:AdamW(learning_rate=0.01, weight_decay=0.1)", "keras")
    assert "model.compile(optimizer=optimizer, loss=loss, run_eagerly=True)" in t.settings
    assert any("run_eagerly=True" in c and "tensorflow" in c for c in t.caveats)
    problem = problems["mse"]
    source = trajectory("mlx:AdamW(learning_rate=0.01, weight_decay=0.1)", problem)  # type: ignore[arg-type]
    eager = trajectory(t.target_setting, problem)  # type: ignore[arg-type]
    assert max_difference(source, eager) <= t.tolerance
    traced = _traced_recipe(t.target_setting, problem)
    if keras.backend.backend() == "torch":
        assert max_difference(source, traced) <= t.tolerance  # torch reads it every step
    else:
        assert max_difference(source, traced) > 100 * t.tolerance


def _traced_recipe(setting: str, problem: Any) -> Any:
    """The recipe trained with the backend's traced step (jit_compile=True: jax.jit on
    jax, XLA on tensorflow, ignored on torch), as a user who left out run_eagerly would."""
    original = keras.Model.compile

    def compile_traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.update(run_eagerly=False, jit_compile=keras.backend.backend() != "torch")
        return original(self, *args, **kwargs)

    keras.Model.compile = compile_traced
    try:
        return trajectory(setting, problem)
    finally:
        keras.Model.compile = original


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize(("source", "to"), UPDATE_CASES)
def test_translated_setting_trains_the_same_trajectory(
    source: str, to: str, loss: str, problems: dict[str, object]
) -> None:
    problem = problems[loss]
    t = translate(source, to)
    a = trajectory(source, problem, lr=SGD_LR)  # type: ignore[arg-type]
    b = trajectory(t.target_setting, problem, lr=SGD_LR)  # type: ignore[arg-type]
    assert len(a) == len(b) == 21
    assert max_difference(a, [a[0]] * len(a)) > 0.05  # the weights really moved
    assert max_difference(a, b) <= t.tolerance
    # 1e-5, unless a caveat says why not.
    assert t.tolerance == EXACT_TOLERANCE or t.caveats
    assert t.exact or t.caveats


# ---------------------------------------------------------------------------
# weightlab's regularization terms: every registered term, trained by weightlab (torch,
# through the registry) and by its translation into each framework.


def _options(param: Param) -> list[object]:
    """Each value a choice parameter offers besides its default."""
    rule = param.rule
    offered = rule.options if isinstance(rule, OneOf) else ()
    if isinstance(rule, Instance) and rule.types == (bool,):
        offered = (True, False)
    return [o for o in offered if o != param.default]


def _registered() -> list[Term]:
    """Each registered term with its parameters at ``Param.start``, and once more for each
    other option of each choice (l1 with each rule, l2 with each convention, ...)."""
    terms = []
    for entry in TERMS.values():
        start = {p.name: p.start for p in entry.params}
        terms.append(make_term(entry.name, **start))
        for param in entry.params:
            terms += [make_term(entry.name, **{**start, param.name: o}) for o in _options(param)]
    return terms


WEIGHTLAB_UPDATES = [str(t) for t in _registered() if t.kind != "layer"] + [
    "l2(0.01) + decoupled_decay(0.1)",
    "decoupled_decay(0.1) + l1(0.01, rule=clip) + max_norm(0.8)",
    "elastic_net(0.01, l1_ratio=0.2, convention=sum_sq)",
    "max_norm(0.5)",  # binds on this problem (max_norm(3) does not: see below)
]
WEIGHTLAB_DROPOUT = [str(t) for t in _registered() if t.kind == "layer"] + ["dropout(0.3)"]


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("to", ["torch", "keras", "mlx", "weightlab"])
@pytest.mark.parametrize("term", WEIGHTLAB_UPDATES)
def test_every_weightlab_term_trains_the_same_in_every_framework(
    term: str, to: str, loss: str, problems: dict[str, object]
) -> None:
    problem = problems[loss]
    source = f"weightlab:{term}"
    t = translate(source, to)
    a = trajectory(source, problem, lr=SGD_LR)  # type: ignore[arg-type]
    b = trajectory(t.target_setting, problem, lr=SGD_LR)  # type: ignore[arg-type]
    assert max_difference(a, [a[0]] * len(a)) > 0.05
    assert max_difference(a, b) <= t.tolerance == EXACT_TOLERANCE
    assert t.exact


@pytest.mark.parametrize("to", ["torch", "keras", "mlx"])
def test_max_norm_translation_is_not_a_no_op(to: str, problems: dict[str, object]) -> None:
    # Dropping the step from the target would fail the tolerance by far.
    problem = problems["mse"]
    t = translate("weightlab:max_norm(0.5)", to)
    calls = parse_setting(t.target_setting)
    dropped = f"{to}:" + " + ".join(c.spec() for c in calls if c.name != "weightlab_rules")
    assert len(calls) == 2 and dropped != t.target_setting
    a = trajectory("weightlab:max_norm(0.5)", problem, lr=SGD_LR)  # type: ignore[arg-type]
    b = trajectory(t.target_setting, problem, lr=SGD_LR)  # type: ignore[arg-type]
    c = trajectory(dropped, problem, lr=SGD_LR)  # type: ignore[arg-type]
    assert max_difference(a, b) <= t.tolerance
    assert max_difference(a, c) > 1000 * t.tolerance


def test_torch_s_nested_wrappers_apply_the_decay_and_the_steps() -> None:
    # Each of the two RegularizedOptimizers changes the path: dropping either is far off.
    problem = make_problem((4, 5, 3), steps=20, loss="mse", seed=1)
    both = "torch:SGD(lr=0.05, momentum=0.9) + decoupled_decay(0.1) + weightlab_rules(spec='max_norm(0.5)')"
    a = trajectory(both, problem)
    b = trajectory("torch:SGD(lr=0.05, momentum=0.9) + decoupled_decay(0.1)", problem)
    c = trajectory(
        "torch:SGD(lr=0.05, momentum=0.9) + weightlab_rules(spec='max_norm(0.5)')", problem
    )
    assert min(max_difference(a, b), max_difference(a, c)) > 1000 * EXACT_TOLERANCE


def group_lasso(ops: Any, weights: Any, *, strength: Any) -> Any:
    """Group lasso: λ·Σ_units ‖w_u‖₂, each unit's incoming weights one group, so whole
    units go to zero together (Yuan & Lin 2006)."""
    total: Any = 0.0
    for w in weights:
        total = total + ops.total(ops.unit_norm(ops.wide(w)))
    return ops.coef(strength, total) * total


@pytest.mark.parametrize("declared", [Canonical(step=True), Canonical()], ids=["step", "none"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_a_registered_group_lasso_trains_the_same_in_every_framework(
    declared: Canonical, loss: str, problems: dict[str, object]
) -> None:
    # A user's penalty no framework has: "step" (or no meaning at all) means weightlab's
    # penalty adapter in each framework, which must train exactly as weightlab does.
    problem = problems[loss]
    register("group_lasso", [Param("strength", STRENGTH, example=1e-3)], penalty=group_lasso,
             canonical=lambda params: declared, effect="sparsity")  # fmt: skip
    try:
        for source in (
            "weightlab:group_lasso(0.05)",
            "weightlab:group_lasso(0.05) + l2(0.01) + max_norm(0.5)",
        ):
            a = trajectory(source, problem, lr=SGD_LR)  # type: ignore[arg-type]
            assert max_difference(a, [a[0]] * len(a)) > 0.05
            for to in ("torch", "keras", "mlx", "weightlab"):
                t = translate(source, to)
                assert "group_lasso" in t.target_setting
                b = trajectory(t.target_setting, problem, lr=SGD_LR)  # type: ignore[arg-type]
                assert max_difference(a, b) <= t.tolerance == EXACT_TOLERANCE
                assert t.exact
        # The penalty is not a no-op: plain SGD is far from it.
        plain = trajectory("torch:SGD(lr=0.05)", problem, lr=SGD_LR)  # type: ignore[arg-type]
        lasso = trajectory("weightlab:group_lasso(0.05)", problem, lr=SGD_LR)  # type: ignore[arg-type]
        assert max_difference(lasso, plain) > 1000 * EXACT_TOLERANCE
    finally:
        del TERMS["group_lasso"]  # other tests iterate the registry


def test_max_norm_at_its_start_value_does_not_bind_on_this_problem() -> None:
    # Why the list above adds max_norm(0.5): every unit's norm stays below 3 here.
    problem = make_problem((4, 5, 3), steps=20, loss="mse", seed=1)
    a = trajectory("weightlab:max_norm(3)", problem, lr=SGD_LR)
    b = trajectory("torch:SGD(lr=0.05)", problem, lr=SGD_LR)
    assert max_difference(a, b) == 0.0


@pytest.mark.parametrize("to", ["torch", "keras", "mlx", "weightlab"])
@pytest.mark.parametrize("term", WEIGHTLAB_DROPOUT)
def test_weightlab_dropout_drops_and_scales_the_same(term: str, to: str) -> None:
    # Dropout is checked as the translator states it elsewhere: kept values, dropped
    # share and evaluation output of the source's and the target's own layers.
    source = f"weightlab:{term}"
    t = translate(source, to)
    p, mode = t.meaning.p, t.meaning.mode  # type: ignore[union-attr]
    kept_as, evaluated_as = (1 / (1 - p), 1.0) if mode == "inverted" else (1.0, 1 - p)
    ones = np.ones(100_000, np.float32)
    for setting in (source, t.target_setting):
        values = apply_dropout(setting, ones, training=True, seed=5)
        assert np.allclose(values[values != 0], kept_as, rtol=1e-6)
        assert float(np.mean(values == 0)) == pytest.approx(p, abs=0.01)
        assert np.allclose(apply_dropout(setting, ones, training=False), evaluated_as, rtol=1e-6)


def test_classic_and_inverted_dropout_are_told_apart() -> None:
    ones = np.ones(1000, np.float32)
    classic = apply_dropout("keras:weightlab_dropout(0.5, mode=classic)", ones, training=False)
    inverted = apply_dropout("keras:Dropout(0.5)", ones, training=False)
    assert np.all(classic == 0.5) and np.all(inverted == 1.0)


def test_penalty_without_optimizer_is_trained_with_plain_sgd() -> None:
    problem = make_problem((3, 2), steps=5)
    a = trajectory("keras:L2(0.01)", problem, lr=0.1)
    b = trajectory("keras:SGD(learning_rate=0.1) + L2(0.01)", problem, lr=0.1)
    assert max_difference(a, b) == 0.0


def test_a_wrong_translation_would_be_caught() -> None:
    # λ instead of 2λ: the test above is sensitive to the factor of two.
    problem = make_problem((4, 5, 3), steps=20, seed=1)
    a = trajectory("keras:L2(0.05)", problem, lr=0.1)
    b = trajectory("torch:SGD(lr=0.1, weight_decay=0.05, on=kernels)", problem, lr=0.1)
    assert max_difference(a, b) > 100 * EXACT_TOLERANCE


def test_bias_decay_matters_so_scopes_are_tested() -> None:
    problem = make_problem((4, 5, 3), steps=20, seed=1)
    a = trajectory("torch:SGD(lr=0.1, weight_decay=0.1)", problem)
    b = trajectory("torch:SGD(lr=0.1, weight_decay=0.1, on=kernels)", problem)
    assert max_difference(a, b) > 100 * EXACT_TOLERANCE


def test_eps_placement_alone_is_within_the_stated_tolerance_but_not_exact() -> None:
    problem = make_problem((4, 5, 3), steps=20, seed=1)
    t = translate("torch:Adam(lr=0.01, eps=1e-3)", "keras")
    assert not t.exact
    a = trajectory("torch:Adam(lr=0.01, eps=1e-3)", problem)
    b = trajectory(t.target_setting, problem)
    # A large ε makes the placement visible, which is why the match is not called exact.
    assert max_difference(a, b) > EXACT_TOLERANCE


def _adam_path(framework: str, eps: float, grads: np.ndarray, eps_at: object = None) -> np.ndarray:
    """Adam (lr 0.01, bias-corrected) on fixed gradients; ``eps_at(t)`` sets ε per step."""
    w0 = np.ones(grads.shape[1], np.float32)
    out = []
    if framework == "torch":
        p = torch.nn.Parameter(torch.from_numpy(w0.copy()))
        opt = torch.optim.Adam([p], lr=0.01, eps=eps)
        for t, g in enumerate(grads, start=1):
            if eps_at is not None:
                opt.param_groups[0]["eps"] = eps_at(t)  # type: ignore[operator]
            p.grad = torch.from_numpy(g)
            opt.step()
            out.append(p.detach().numpy().copy())
    elif framework == "keras":
        v = keras.Variable(w0.copy())
        kopt = keras.optimizers.Adam(learning_rate=0.01, epsilon=eps)
        for t, g in enumerate(grads, start=1):
            if eps_at is not None:
                kopt.epsilon = eps_at(t)  # type: ignore[operator]
            kopt.apply([keras.ops.convert_to_tensor(g)], [v])
            out.append(_np(v).copy())
    else:
        mopt_ = mopt.Adam(learning_rate=0.01, eps=eps, bias_correction=True)
        params = {"w": mx.array(w0)}
        for t, g in enumerate(grads, start=1):
            if eps_at is not None:
                mopt_.eps = eps_at(t)  # type: ignore[operator]
            params = mopt_.apply_gradients({"w": mx.array(g)}, params)
            out.append(np.array(params["w"]))
    return np.array(out)


@pytest.mark.parametrize(
    ("source", "to"),
    [
        ("keras:Adam(learning_rate=0.01)", "torch"),
        ("keras:Adam(learning_rate=0.01)", "mlx"),
        ("torch:Adam(lr=0.01)", "keras"),
        ("mlx:Adam(0.01, bias_correction=True)", "keras"),
    ],
)
def test_the_per_step_eps_alternative_is_exact(source: str, to: str) -> None:
    t = translate(source, to)
    eps = t.meaning.eps  # type: ignore[union-attr]
    alternative = t.alternatives[-1]
    if to == "keras":
        assert alternative.startswith(f"optimizer.epsilon = {eps!r} * math.sqrt(1 - 0.999 ** t)")
        eps_at = lambda step: eps * math.sqrt(1 - 0.999**step)  # noqa: E731
    else:
        assert f"= {eps!r} / math.sqrt(1 - 0.999 ** t)" in alternative
        eps_at = lambda step: eps / math.sqrt(1 - 0.999**step)  # noqa: E731
    # Gradients near ε, where the placement matters most.
    grads = (np.random.default_rng(0).standard_normal((20, 6)) * 1e-6).astype(np.float32)
    src = _adam_path(source.split(":")[0], eps, grads)
    plain = _adam_path(to, eps, grads)
    exact = _adam_path(to, eps, grads, eps_at)
    assert np.max(np.abs(src - plain)) > 1e-3  # the same ε, placed differently
    assert np.max(np.abs(src - exact)) < 1e-5


def test_uncorrected_adam_differs_a_lot_from_corrected_adam() -> None:
    # Why the translation must undo torch's bias correction for MLX's default Adam.
    problem = make_problem((4, 5, 3), steps=20, seed=1)
    a = trajectory("mlx:Adam(learning_rate=0.01)", problem)
    b = trajectory("torch:Adam(lr=0.01)", problem)
    assert max_difference(a, b) > 0.01


# ---------------------------------------------------------------------------
# Initializers: large draws from both frameworks' real initializers.

SHAPE = (300, 800)  # [out, in]: fan_in 800 ≠ fan_out 300 catches a transposed layout
INIT_SOURCES = [
    "torch:xavier_normal_()",
    "torch:xavier_uniform_(gain=2.0)",
    "torch:kaiming_normal_()",
    "torch:kaiming_uniform_(mode=fan_out, nonlinearity=relu)",
    "torch:kaiming_normal_(nonlinearity=tanh)",
    "torch:kaiming_uniform_(a=0.5)",
    "torch:Linear()",
    "keras:GlorotNormal()",
    "keras:GlorotUniform()",
    "keras:HeNormal()",
    "keras:HeUniform()",
    "keras:LecunNormal()",
    "keras:LecunUniform()",
    "keras:VarianceScaling(scale=3.0, mode=fan_out, distribution=untruncated_normal)",
    "keras:Dense()",
    "mlx:glorot_normal()",
    "mlx:glorot_uniform(gain=0.5)",
    "mlx:he_normal()",
    "mlx:he_uniform(mode=fan_out, gain=1.5)",
    "mlx:Linear()",
    "weightlab:he_normal()",
    "weightlab:lecun_uniform()",
    "weightlab:variance_scaling(scale=0.5, mode=fan_avg, distribution=truncated_normal)",
]
INIT_CASES = [
    (s, to)
    for s in INIT_SOURCES
    for to in ("torch", "keras", "mlx", "weightlab")
    if not s.startswith(to)
]


@pytest.mark.parametrize(("source", "to"), INIT_CASES)
def test_translated_initializer_draws_the_same_distribution(source: str, to: str) -> None:
    t = translate(source, to)
    meaning = meaning_of(parse_setting(source))
    assert isinstance(meaning, InitMeaning)
    expected_std = meaning.std(SHAPE[1], SHAPE[0])
    a = draw_init(source, SHAPE, seed=3)
    b = draw_init(t.target_setting, SHAPE, seed=4)
    # 240 000 draws: the std's relative standard error is below 0.2%; 1.5% is > 7 of them.
    for w in (a, b):
        assert float(w.std()) == pytest.approx(expected_std, rel=0.015 + t.tolerance)
        assert abs(float(w.mean())) < 0.01 * expected_std
    # The share beyond 2 std tells the families apart: normal 4.55%, Keras' truncated
    # normal 3.47%, uniform 0.
    tail_a = float(np.mean(np.abs(a) > 2 * expected_std))
    tail_b = float(np.mean(np.abs(b) > 2 * expected_std))
    assert tail_a == pytest.approx(tail_b, abs=0.004)
    limit = _bound(meaning, expected_std)
    if limit is not None:
        for w, name in ((a, source), (b, t.target_setting)):
            outside = float(np.mean(np.abs(w) > limit * (1 + 1e-6)))
            allowed = 2e-5 if name.startswith("keras") else 0.0  # the torch-backend misses
            assert outside <= allowed


def _bound(m: InitMeaning, std: float) -> float | None:
    if m.distribution == "uniform":
        return math.sqrt(3.0) * std
    if m.distribution == "truncated_normal":
        return 2.0 * std / 0.87962566103423978
    return None


def test_initializer_statistics_tell_the_families_apart() -> None:
    normal = draw_init("torch:xavier_normal_()", SHAPE)
    truncated = draw_init("keras:GlorotNormal()", SHAPE)
    uniform = draw_init("torch:xavier_uniform_()", SHAPE)
    std = math.sqrt(2 / sum(SHAPE))
    tails = [float(np.mean(np.abs(w) > 2 * std)) for w in (normal, truncated, uniform)]
    assert tails[0] == pytest.approx(0.0455, abs=0.003)
    assert tails[1] == pytest.approx(0.0347, abs=0.003)
    assert tails[2] == 0.0


# ---------------------------------------------------------------------------
# Dropout: the translated layer behaves the same.


@pytest.mark.parametrize(
    ("source", "to"),
    [
        ("torch:Dropout(0.3)", "keras"),
        ("keras:Dropout(0.3)", "mlx"),
        ("mlx:Dropout(p=0.3)", "torch"),
    ],
)
def test_translated_dropout_drops_and_scales_the_same(source: str, to: str) -> None:
    t = translate(source, to)
    p = float(t.meaning.p)  # type: ignore[union-attr]
    assert p == 0.3
    for framework in (source.split(":")[0], to):
        values = _dropout(framework, p, training=True)
        kept = values[values != 0]
        assert np.allclose(kept, 1 / (1 - p), rtol=1e-6)
        assert float(np.mean(values == 0)) == pytest.approx(p, abs=0.01)
        assert np.all(_dropout(framework, p, training=False) == 1.0)
