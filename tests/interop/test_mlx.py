"""weightlab for MLX: exact agreement with the torch implementation, statistics of large
draws, MLX's own conventions re-checked, reference trainings against torch, and every
bad input."""

from __future__ import annotations

import importlib
import inspect
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from doc_blocks import check_python_blocks

mx = pytest.importorskip("mlx.core")
mnn = pytest.importorskip("mlx.nn")
optim = pytest.importorskip("mlx.optimizers")
mlx_utils = pytest.importorskip("mlx.utils")

from weightlab import mlx as wm  # noqa: E402
from weightlab import regularize  # noqa: E402
from weightlab._optional import MissingExtraError  # noqa: E402
from weightlab.init import init_module, resolve, scheme_names  # noqa: E402
from weightlab.interop import mlx as interop_mlx  # noqa: E402
from weightlab.regularize import parse_regularization  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "mlx.md"


def np_of(a: mx.array) -> np.ndarray:
    return np.array(a.astype(mx.float32) if a.dtype == mx.bfloat16 else a)


def torch_draw(spec: str, torch_shape: tuple[int, ...], seed: int, dtype=torch.float32):
    t = torch.empty(torch_shape, dtype=dtype)
    return resolve(spec)(t, generator=torch.Generator().manual_seed(seed))


def to_mlx_layout(t: torch.Tensor) -> np.ndarray:
    if t.dim() >= 3:
        t = t.permute(0, *range(2, t.dim()), 1)
    return t.float().contiguous().numpy()


PER_TENSOR = [n for n in scheme_names() if not resolve(n).data_dependent]


# ---------------------------------------------------------------------------
# Exact: the MLX initializer is the torch draw, moved to MLX's layout.


@pytest.mark.parametrize("name", PER_TENSOR)
def test_every_scheme_equals_the_torch_draw_in_mlx_layout(name: str) -> None:
    """Contract over the registry: shape, dtype, reproducibility, torch's numbers."""
    a = mx.zeros((6, 3, 3, 4))  # MLX conv weight [out, kh, kw, in]
    out = wm.initializer(name, seed=11)(a)
    assert out.shape == a.shape and out.dtype == mx.float32
    expected = to_mlx_layout(torch_draw(name, (6, 4, 3, 3), 11))
    assert np.array_equal(np_of(out), expected)
    again = wm.initializer(name, seed=11)(a)
    assert np.array_equal(np_of(again), np_of(out))


def test_linear_draw_is_the_same_layout_as_torch() -> None:
    spec = "he_normal(nonlinearity='relu')"
    out = wm.initializer(spec, mx.float32, seed=0)(mx.zeros((32, 16)))
    t = torch.empty(32, 16)
    torch.nn.init.kaiming_normal_(
        t, nonlinearity="relu", generator=torch.Generator().manual_seed(0)
    )
    assert np.array_equal(np_of(out), t.numpy())


def test_successive_calls_continue_one_generator() -> None:
    init_fn = wm.initializer("xavier_normal", seed=5)
    first, second = init_fn(mx.zeros((4, 3))), init_fn(mx.zeros((4, 3)))
    g = torch.Generator().manual_seed(5)
    t1 = resolve("xavier_normal")(torch.empty(4, 3), generator=g)
    t2 = resolve("xavier_normal")(torch.empty(4, 3), generator=g)
    assert np.array_equal(np_of(first), t1.numpy())
    assert np.array_equal(np_of(second), t2.numpy())
    assert not np.array_equal(np_of(first), np_of(second))


def test_call_time_parameters_override_the_spec_like_mlx_init() -> None:
    out = wm.initializer("xavier_uniform", seed=2)(mx.zeros((5, 7)), gain=3.0)
    assert np.array_equal(np_of(out), torch_draw("xavier_uniform(gain=3.0)", (5, 7), 2).numpy())


@pytest.mark.parametrize(
    ("dtype", "torch_dtype"),
    [("float16", torch.float16), ("bfloat16", torch.bfloat16), ("float64", torch.float64)],
)
def test_other_dtypes_match_the_torch_draw_of_that_dtype(dtype: str, torch_dtype) -> None:
    out = wm.initializer("lecun_uniform", getattr(mx, dtype), seed=4)(mx.zeros((8, 5)))
    assert out.dtype == getattr(mx, dtype)
    expected = torch_draw("lecun_uniform", (8, 5), 4, torch_dtype)
    assert np.array_equal(np_of(out).astype(np.float64), expected.double().numpy())


def test_apply_equals_init_module_on_the_same_torch_network() -> None:
    spec = "he_uniform(nonlinearity='relu')"
    net_t = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Conv1d(4, 2, 5, groups=2),
        torch.nn.Linear(6, 5),
    )
    net_m = mnn.Sequential(
        mnn.Conv2d(3, 4, 3), mnn.ReLU(), mnn.Conv1d(4, 2, 5, groups=2), mnn.Linear(6, 5)
    )
    init_module(net_t, spec, generator=torch.Generator().manual_seed(9))
    records = wm.apply(net_m, spec, seed=9)
    assert [r.name for r in records] == ["layers.0", "layers.2", "layers.3"]
    assert records[0].shape == (4, 3, 3, 3) and records[0].gain == pytest.approx(math.sqrt(2))
    for i in (0, 2, 3):
        w_m, w_t = net_m.layers[i].weight, net_t[i].weight.detach()
        assert np.array_equal(np_of(w_m), to_mlx_layout(w_t))
        assert np.array_equal(np_of(net_m.layers[i].bias), np.zeros(net_m.layers[i].bias.shape))


def test_apply_keeps_dtypes_and_can_leave_biases() -> None:
    net = mnn.Sequential(mnn.Linear(3, 2), mnn.ConvTranspose2d(2, 3, 2))
    net.set_dtype(mx.bfloat16)
    before = np_of(net.layers[0].bias)
    records = wm.apply(net, "orthogonal", seed=1, bias=None)
    assert net.layers[0].weight.dtype == mx.bfloat16 and net.layers[1].weight.shape == (3, 2, 2, 2)
    assert np.array_equal(np_of(net.layers[0].bias), before)
    assert [r.scheme for r in records] == ["orthogonal", "orthogonal"]
    wm.apply(net, "zeros", bias=0.5)
    assert np.all(np_of(net.layers[1].bias) == 0.5)


def test_layers_follow_attribute_order_like_torch_named_modules() -> None:
    class Net(mnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = mnn.Linear(2, 2)
            self.body = [mnn.Conv1d(1, 1, 1), mnn.Sequential(mnn.Linear(2, 3))]

    assert [n for n, _ in wm.layers(Net())] == ["head", "body.0", "body.1.layers.0"]


# ---------------------------------------------------------------------------
# Statistical: large draws have the formula's standard deviation.


@pytest.mark.parametrize(
    ("spec", "shape", "std"),
    [
        # [out, kh, kw, in]: fan_in = 128·9, fan_out = 64·9
        ("he_normal(nonlinearity='relu')", (64, 3, 3, 128), math.sqrt(2 / (128 * 9))),
        ("xavier_uniform", (64, 3, 3, 128), math.sqrt(2 / (128 * 9 + 64 * 9))),
        ("he_normal(mode=fan_out, nonlinearity=tanh)", (64, 3, 3, 128), 5 / 3 / math.sqrt(64 * 9)),
        ("variance_scaling(2.0, distribution=truncated_normal)", (1000, 1000), math.sqrt(2e-3)),
    ],
)
def test_large_draw_std_matches_the_formula(spec: str, shape: tuple[int, ...], std: float) -> None:
    out = np_of(wm.initializer(spec, seed=0)(mx.zeros(shape))).astype(np.float64)
    # About 1e5 to 1e6 draws: the sample std's relative error is ~1/√(2n) ≤ 0.23%; 1.5% is
    # over six of those, and far below the factors that tell schemes apart (√2, 5/3).
    assert out.std() == pytest.approx(std, rel=0.015)
    assert abs(out.mean()) < 5 * std / math.sqrt(out.size)


def test_fans_agree_with_mlx_init_for_conv_layout() -> None:
    # mlx.nn.init reads [out, *kernel, in] too: its glorot_normal has the same std.
    shape = (32, 5, 5, 16)
    mx.random.seed(0)
    theirs = np_of(mnn.init.glorot_normal()(mx.zeros(shape))).std()
    ours = np_of(wm.initializer("xavier_normal", seed=0)(mx.zeros(shape))).std()
    assert ours == pytest.approx(theirs, rel=0.03)


# ---------------------------------------------------------------------------
# Facts from the references, re-checked on the installed MLX.


def test_mlx_he_normal_default_gain_is_one_so_lecun_scale() -> None:
    mx.random.seed(0)
    std = np_of(mnn.init.he_normal()(mx.zeros((1000, 1000)))).std()
    assert std == pytest.approx(1 / math.sqrt(1000), rel=0.01)  # not √2/√1000
    ours = np_of(wm.initializer("he_normal(nonlinearity='relu')", seed=0)(mx.zeros((1000, 1000))))
    assert ours.std() / std == pytest.approx(math.sqrt(2), rel=0.01)


def test_mlx_adamw_has_no_bias_correction_by_default() -> None:
    params = inspect.signature(optim.AdamW.__init__).parameters
    assert params["bias_correction"].default is False
    assert params["weight_decay"].default == 0.01


def test_mlx_sgd_weight_decay_adds_lambda_w_to_the_gradient() -> None:
    w = {"w": mx.array([1.0, -2.0])}
    new = optim.SGD(learning_rate=0.1, weight_decay=0.5).apply_gradients({"w": mx.zeros(2)}, w)
    assert np.allclose(np_of(new["w"]), [0.95, -1.9])


def test_mlx_linear_and_conv_layouts_and_default_init() -> None:
    assert mnn.Linear(1000, 7).weight.shape == (7, 1000)
    assert mnn.Conv2d(3, 4, (5, 6)).weight.shape == (4, 5, 6, 3)
    assert mnn.ConvTranspose2d(3, 4, (5, 6)).weight.shape == (4, 5, 6, 3)
    w = np_of(mnn.Linear(1000, 1000).weight)
    assert np.abs(w).max() <= 1 / math.sqrt(1000)
    assert w.std() == pytest.approx(1 / math.sqrt(3000), rel=0.01)  # U(±1/√fan_in)


def test_mlx_dropout_is_inverted() -> None:
    mx.random.seed(0)
    values = set(np_of(mnn.Dropout(0.5)(mx.ones((1000,)))).tolist())
    assert values == {0.0, 2.0}


# ---------------------------------------------------------------------------
# Exact: penalties and their gradients equal weightlab's torch penalties.


def _weights(seed: int = 0) -> list[np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    w = [torch.randn(4, 3, generator=g), torch.randn(2, 3, 3, generator=g)]
    w[0][0, 0] = 0.0  # the kink of |w|: both frameworks use gradient 0 there
    return [t.numpy() for t in w]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("l1", (0.3,)),
        ("l2", (0.3, "sum_sq")),
        ("l2", (0.3, "half_sum_sq")),
        ("elastic_net", (0.3, 0.25, "sum_sq")),
        ("elastic_net", (0.3, 0.7, "half_sum_sq")),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_penalties_and_gradients_equal_torch(name: str, args: tuple, dtype: str) -> None:
    arrays = [a.astype(dtype) for a in _weights()]

    def call(fn: Callable, params: object):
        *pos, conv = args if name != "l1" else (*args, None)
        return fn(params, *pos) if conv is None else fn(params, *pos, convention=conv)

    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    value_t = call(getattr(regularize, name), tensors)
    value_t.backward()
    params_m = [mx.array(a, dtype=getattr(mx, dtype)) for a in arrays]
    value_m = call(getattr(wm, name), params_m)
    grads_m = mx.grad(lambda ps: call(getattr(wm, name), ps))(params_m)
    # Same formula; only the order of the float sums differs.
    rel = 1e-6 if dtype == "float32" else 1e-13
    assert value_m.dtype == getattr(mx, dtype)
    assert float(value_m) == pytest.approx(value_t.item(), rel=rel)
    for g_m, t in zip(grads_m, tensors, strict=True):
        assert np.allclose(np_of(g_m), t.grad.numpy(), rtol=rel, atol=0)


def test_penalties_of_a_module_use_its_weights_only_and_differentiate() -> None:
    net = mnn.Sequential(mnn.Linear(3, 4), mnn.LayerNorm(4), mnn.Linear(4, 2))
    weights = [net.layers[0].weight, net.layers[2].weight]
    expected = sum(float((w * w).sum()) for w in weights) * 0.5 * 0.1
    assert float(wm.l2(net, 0.1, convention="half_sum_sq")) == pytest.approx(expected, rel=1e-6)
    assert float(wm.l2(net.parameters(), 0.1, convention="half_sum_sq")) == pytest.approx(
        expected, rel=1e-6
    )

    def loss(model: mnn.Module) -> mx.array:
        return wm.l2(model, 0.1, convention="half_sum_sq")

    _, grads = mnn.value_and_grad(net, loss)(net)
    assert np.allclose(np_of(grads["layers"][0]["weight"]), 0.1 * np_of(net.layers[0].weight))
    assert np.all(np_of(grads["layers"][0]["bias"]) == 0)
    assert np.all(np_of(grads["layers"][1]["weight"]) == 0)  # LayerNorm scale: not a weight


def test_select_and_a_custom_predicate() -> None:
    net = mnn.Sequential(mnn.Linear(3, 4), mnn.Linear(4, 2))
    net.layers[1].freeze()
    assert [n for n, _ in wm.select(net)] == ["layers.0.weight"]
    assert [n for n, _ in wm.select(net.parameters())] == ["layers.0.weight", "layers.1.weight"]
    biases = wm.select(net, lambda name, a: name.endswith("bias"))
    assert [n for n, _ in biases] == ["layers.0.bias"]
    value = wm.l1(net, 1.0, select=lambda name, a: name.endswith("bias"))
    assert float(value) == pytest.approx(float(mx.abs(net.layers[0].bias).sum()), rel=1e-6)


def test_the_generic_penalty_selects_weights_and_differentiates() -> None:
    net = mnn.Sequential(mnn.Linear(3, 4), mnn.LayerNorm(4), mnn.Linear(4, 2))
    ridge = wm.penalty("l2(0.1)")  # half_sum_sq, torch's weight_decay=0.1
    assert float(ridge(net)) == float(wm.l2(net, 0.1, convention="half_sum_sq"))
    _, grads = mnn.value_and_grad(net, ridge)(net)
    assert np.allclose(np_of(grads["layers"][2]["weight"]), 0.1 * np_of(net.layers[2].weight))
    assert np.all(np_of(grads["layers"][0]["bias"]) == 0)
    biases = wm.penalty("l1(1.0, rule=penalty)", select=lambda name, a: name.endswith("bias"))
    expected = sum(float(mx.abs(net.layers[i].bias).sum()) for i in (0, 2))
    assert float(biases(net)) == pytest.approx(expected, rel=1e-6)


def test_a_penalty_of_no_arrays_is_a_zero_array() -> None:
    for value in (wm.l1([], 0.5), wm.penalty("elastic_net(0.5)")([])):
        assert isinstance(value, mx.array) and float(value) == 0.0


# ---------------------------------------------------------------------------
# Exact: update rules equal the torch rules.


def test_chain_composes_rules_left_to_right_as_torch() -> None:
    prev = torch.tensor([1.5, 0.5, 0.02, -0.02, 0.0, -1.0, 0.01])
    proposed = torch.tensor([1.4, 0.4, -0.01, -0.05, 0.03, -0.9, 0.011])
    rule = wm.chain(wm.decoupled_decay(0.1), wm.l1_step(0.2, "clip"))
    reference = regularize.chain(regularize.decoupled_decay(0.1), regularize.l1_clip(0.2))
    got = rule(mx.array(prev.numpy()), mx.array(proposed.numpy()), mx.array(0.1))
    assert np.allclose(np_of(got), reference(prev, proposed, 0.1).numpy(), rtol=0, atol=1e-7)
    same = mx.array(proposed.numpy())
    assert wm.chain()(same, same, 0.1) is same


def test_seed_001_worked_example_with_the_clip_rule() -> None:
    # θ = (1.5, 0.5), λ = 0.1, α = 0.1, data gradient 1: the printed L1 column, 0 at step 5.
    model = mnn.Linear(2, 1, bias=False)
    model.weight = mx.array([[1.5, 0.5]])
    opt = wm.RegularizedOptimizer(optim.SGD(learning_rate=0.1), wm.l1_step(0.1, "clip"))
    rows = []
    for _ in range(5):
        opt.update(model, {"weight": mx.ones((1, 2))})
        mx.eval(model.parameters())
        rows.append(np_of(model.weight)[0].astype(np.float64).round(6).tolist())
    assert rows == [[1.39, 0.39], [1.28, 0.28], [1.17, 0.17], [1.06, 0.06], [0.95, 0.0]]


# ---------------------------------------------------------------------------
# Reference trainings: MLX and torch from the same weights on the same batches.


def _data() -> tuple[np.ndarray, np.ndarray]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32, 4, generator=g)
    y = torch.randint(0, 3, (32,), generator=g)
    return x.numpy(), y.numpy()


def _twins() -> tuple[torch.nn.Module, mnn.Module]:
    net_t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    init_module(net_t, "xavier_uniform", generator=torch.Generator().manual_seed(3))
    net_m = mnn.Sequential(mnn.Linear(4, 8), mnn.Tanh(), mnn.Linear(8, 3))
    net_m.update(
        {
            "layers": [
                {
                    "weight": mx.array(net_t[0].weight.detach().numpy()),
                    "bias": mx.array(net_t[0].bias.detach().numpy()),
                },
                {},
                {
                    "weight": mx.array(net_t[2].weight.detach().numpy()),
                    "bias": mx.array(net_t[2].bias.detach().numpy()),
                },
            ]
        }
    )
    return net_t, net_m


def _weights_of(net_t: torch.nn.Module, net_m: mnn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = []
    for i in (0, 2):
        for name in ("weight", "bias"):
            # A copy: torch updates its parameters in place.
            pairs.append(
                (
                    np_of(getattr(net_m.layers[i], name)),
                    getattr(net_t[i], name).detach().numpy().copy(),
                )
            )
    return pairs


def _train_both(
    mlx_rule, torch_rule, *, l2: float = 0.0, lr: float = 0.1, steps: int = 20
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    x, y = _data()
    net_t, net_m = _twins()
    selected = [p for _, p in regularize.select_params(net_t)]
    opt_t = torch.optim.SGD(net_t.parameters(), lr=lr)
    opt_t = regularize.RegularizedOptimizer(opt_t, torch_rule, selected) if torch_rule else opt_t
    opt_m = optim.SGD(learning_rate=lr)
    opt_m = wm.RegularizedOptimizer(opt_m, mlx_rule) if mlx_rule else opt_m

    def loss_m(model: mnn.Module, xb: mx.array, yb: mx.array) -> mx.array:
        loss = mnn.losses.cross_entropy(model(xb), yb, reduction="mean")
        return loss + wm.l2(model, l2, convention="sum_sq") if l2 else loss

    grad_m = mnn.value_and_grad(net_m, loss_m)
    history = []
    for step in range(steps):
        batch = slice((step % 4) * 8, (step % 4 + 1) * 8)
        xb, yb = x[batch], y[batch]
        opt_t.zero_grad()
        loss_t = F.cross_entropy(net_t(torch.tensor(xb)), torch.tensor(yb))
        if l2:
            loss_t = loss_t + regularize.l2(selected, l2, convention="sum_sq")
        loss_t.backward()
        opt_t.step()
        _, grads = grad_m(net_m, mx.array(xb), mx.array(yb))
        opt_m.update(net_m, grads)
        mx.eval(net_m.parameters(), opt_m.state)
        history.append(_weights_of(net_t, net_m))
    return history


@pytest.mark.parametrize(
    ("mlx_rule", "torch_rule", "zeros"),
    [
        (wm.l1_step(0.2, "subgradient"), regularize.l1_step(0.2, "subgradient"), False),
        (wm.l1_step(0.2, "clip"), regularize.l1_step(0.2, "clip"), True),
        (wm.l1_step(0.2, "proximal"), regularize.l1_step(0.2, "proximal"), True),
        (wm.decoupled_decay(0.5), regularize.decoupled_decay(0.5), False),
        # A spec string: the registered rules in stage order, max-norm included.
        (
            "max_norm(0.8)+l1(0.2, rule=clip)+decoupled_decay(0.5)",
            parse_regularization("max_norm(0.8)+l1(0.2, rule=clip)+decoupled_decay(0.5)").rule(),
            True,
        ),
    ],
    ids=["subgradient", "clip", "proximal", "decoupled_decay", "spec"],
)
def test_mlx_training_follows_torch_training(mlx_rule, torch_rule, zeros: bool) -> None:
    history = _train_both(mlx_rule, torch_rule)
    for step in history:
        for w_m, w_t in step:
            assert np.allclose(w_m, w_t, rtol=0, atol=1e-5)
    final_weights = [w_t for w_m, w_t in history[-1] if w_t.ndim == 2]
    n_zero = sum(int((w == 0).sum()) for w in final_weights)
    assert (n_zero > 0) == zeros  # the L1 rules that make exact zeros did make some


def test_l2_penalty_in_the_loss_follows_torch_and_matters() -> None:
    history = _train_both(None, None, l2=0.05)
    for step in history:
        for w_m, w_t in step:
            assert np.allclose(w_m, w_t, rtol=0, atol=1e-5)
    plain = _train_both(None, None)[-1]
    assert not np.allclose(plain[0][1], history[-1][0][1], atol=1e-3)


def test_adam_then_decoupled_decay_is_mlx_adamw() -> None:
    x, y = _data()
    nets = [_twins()[1] for _ in range(2)]
    everything = lambda name, a: True  # noqa: E731  (AdamW decays biases too)
    opts = [
        wm.RegularizedOptimizer(
            optim.Adam(learning_rate=0.01), wm.decoupled_decay(0.1), select=everything
        ),
        optim.AdamW(learning_rate=0.01, weight_decay=0.1),
    ]

    def loss(model: mnn.Module) -> mx.array:
        return mnn.losses.cross_entropy(model(mx.array(x)), mx.array(y), reduction="mean")

    for _ in range(10):
        for net, opt in zip(nets, opts, strict=True):
            _, grads = mnn.value_and_grad(net, loss)(net)
            opt.update(net, grads)
            mx.eval(net.parameters(), opt.state)
    for a, b in zip(
        mlx_utils.tree_flatten(nets[0].parameters()),
        mlx_utils.tree_flatten(nets[1].parameters()),
        strict=True,
    ):
        assert np.allclose(np_of(a[1]), np_of(b[1]), rtol=0, atol=1e-6)


def test_mlx_adamw_matches_torch_adamw_only_with_bias_correction() -> None:
    x, y = _data()
    net_t, _ = _twins()
    nets_m = [_twins()[1] for _ in range(2)]
    opt_t = torch.optim.AdamW(net_t.parameters(), lr=0.01, weight_decay=0.1)
    opts_m = [
        optim.AdamW(learning_rate=0.01, weight_decay=0.1, bias_correction=flag)
        for flag in (True, False)
    ]

    def loss(model: mnn.Module) -> mx.array:
        return mnn.losses.cross_entropy(model(mx.array(x)), mx.array(y), reduction="mean")

    for _ in range(10):
        opt_t.zero_grad()
        F.cross_entropy(net_t(torch.tensor(x)), torch.tensor(y)).backward()
        opt_t.step()
        for net, opt in zip(nets_m, opts_m, strict=True):
            _, grads = mnn.value_and_grad(net, loss)(net)
            opt.update(net, grads)
            mx.eval(net.parameters(), opt.state)
    with_correction, without = (_weights_of(net_t, net) for net in nets_m)
    assert all(np.allclose(w_m, w_t, rtol=0, atol=1e-5) for w_m, w_t in with_correction)
    assert not all(np.allclose(w_m, w_t, rtol=0, atol=1e-3) for w_m, w_t in without)


def test_the_rule_uses_the_scheduled_learning_rate_of_that_step() -> None:
    schedule = optim.linear_schedule(0.1, 0.01, 10)
    model = mnn.Linear(2, 1, bias=False)
    model.weight = mx.array([[1.0, -2.0]])
    opt = wm.RegularizedOptimizer(optim.SGD(learning_rate=schedule), wm.decoupled_decay(0.5))
    expected = np.array([[1.0, -2.0]], dtype=np.float64)
    for step in range(4):
        opt.update(model, {"weight": mx.zeros((1, 2))})
        mx.eval(model.parameters())
        expected *= 1 - 0.5 * float(schedule(mx.array(step)))
        assert np.allclose(np_of(model.weight), expected, rtol=1e-6)
    assert float(opt.learning_rate) == pytest.approx(float(schedule(mx.array(3))))


def test_multioptimizer_weights_get_their_own_learning_rate() -> None:
    model = mnn.Sequential(mnn.Linear(2, 2), mnn.Linear(2, 2))
    model.update({"layers": [{"weight": mx.ones((2, 2))}, {"weight": mx.ones((2, 2))}]})
    first = lambda name, a: name.startswith("layers.0")  # noqa: E731
    multi = optim.MultiOptimizer(
        [optim.SGD(learning_rate=0.1), optim.SGD(learning_rate=0.01)], [first]
    )
    opt = wm.RegularizedOptimizer(multi, wm.decoupled_decay(1.0))
    opt.update(model, mlx_utils.tree_map(mx.zeros_like, model.trainable_parameters()))
    assert np.allclose(np_of(model.layers[0].weight), 0.9)
    assert np.allclose(np_of(model.layers[1].weight), 0.99)


def test_frozen_weights_and_dtypes_are_left_as_they_are() -> None:
    model = mnn.Sequential(mnn.Linear(2, 2), mnn.Linear(2, 2))
    model.set_dtype(mx.bfloat16)
    model.layers[1].freeze()
    before = np_of(model.layers[1].weight)
    opt = wm.RegularizedOptimizer(optim.SGD(learning_rate=0.1), wm.decoupled_decay(0.5))
    _, grads = mnn.value_and_grad(model, lambda m: m(mx.ones((1, 2))).sum())(model)
    opt.update(model, grads)
    assert model.layers[0].weight.dtype == mx.bfloat16
    assert np.array_equal(np_of(model.layers[1].weight), before)


# ---------------------------------------------------------------------------
# Dropout.


def test_dropout_seed_is_reproducible_and_kept_out_of_parameters() -> None:
    a, b = wm.Dropout(0.5, seed=7), wm.Dropout(0.5, seed=7)
    first = np_of(a(mx.ones((64,))))
    assert np.array_equal(first, np_of(b(mx.ones((64,)))))
    assert not np.array_equal(first, np_of(a(mx.ones((64,)))))  # the key moves on
    net = mnn.Sequential(mnn.Linear(2, 2), wm.Dropout(0.5, seed=0))
    assert [n for n, _ in mlx_utils.tree_flatten(net.trainable_parameters())] == [
        "layers.0.weight",
        "layers.0.bias",
    ]
    assert repr(wm.Dropout(0.1, "classic")) == "Dropout(p=0.1, mode='classic')"
    assert np.array_equal(np_of(wm.Dropout(0.0)(mx.ones((3,)))), np.ones(3))


def test_dropout_in_a_model_follows_train_and_eval() -> None:
    net = mnn.Sequential(mnn.Linear(4, 4), wm.Dropout(0.5, mode="classic", seed=2))
    x = mx.ones((2, 4))
    net.eval()
    hidden = net.layers[0](x)
    assert np.allclose(np_of(net(x)), 0.5 * np_of(hidden))
    net.train()
    assert set(np.unique(np_of(net(x)) / np_of(hidden)).round(6).tolist()) <= {0.0, 1.0}


# ---------------------------------------------------------------------------
# Bad inputs: one error format, naming the parameter.


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: wm.initializer("he_normall"),
            ValueError,
            r"The 'spec' parameter of initializer must be one of 'variance_scaling', .*'he_normal'.*\. Got 'he_normall'\.",
        ),
        (
            lambda: wm.initializer("lsuv"),
            ValueError,
            r"The 'spec' parameter of initializer must be a scheme that needs no data \('lsuv' needs a torch module.*init_module.*Got 'lsuv'\.",
        ),
        (
            lambda: wm.apply(mnn.Linear(2, 2), "lsuv"),
            ValueError,
            r"The 'spec' parameter of apply must be a scheme that needs no data",
        ),
        (
            lambda: wm.initializer("he_normal("),
            ValueError,
            r"The 'spec' parameter of initializer must be a name or a call with literal arguments such as 'normal\(std=0.01\)'\. Got 'he_normal\('\.",
        ),
        (
            lambda: wm.initializer(3),
            TypeError,
            r"The 'spec' parameter of initializer must be a scheme spec string or a Scheme\. Got 3\.",
        ),
        (
            lambda: wm.initializer("normal", mx.int32),
            ValueError,
            r"The 'dtype' parameter of initializer must be a floating MLX dtype",
        ),
        (
            lambda: wm.initializer("normal", seed=-1),
            ValueError,
            r"The 'seed' parameter of initializer must be an int in \[0, 2\*\*64 - 1\] or None\. Got -1\.",
        ),
        (
            lambda: wm.initializer("normal(std=-1)"),
            ValueError,
            r"The 'std' parameter of normal must be a float >= 0\. Got -1\.0\.",
        ),
        (
            lambda: wm.initializer("he_normal")(mx.zeros((5,))),
            ValueError,
            r"The 'a' parameter of he_normal must be an mx.array with at least 2 dimensions\. Got an array of shape \(5,\) and dtype mlx.core.float32\.",
        ),
        (
            lambda: wm.initializer("normal")(np.zeros((2, 2))),
            TypeError,
            r"The 'a' parameter of normal must be an mx.array with at least 0 dimensions\. Got an object of type ndarray\.",
        ),
        (
            lambda: wm.initializer("xavier_normal")(mx.zeros((2, 2)), gian=2.0),
            ValueError,
            r"The 'scheme' parameter of resolve must be a call using the parameters of xavier_normal \(gain\)",
        ),
        (
            lambda: wm.apply(torch.nn.Linear(2, 2)),
            TypeError,
            r"The 'model' parameter of apply must be an mlx.nn.Module\.",
        ),
        (
            lambda: wm.apply(mnn.Linear(2, 2), bias="zero"),
            TypeError,
            r"The 'bias' parameter of apply must be a float \(finite\) or None\. Got 'zero'\.",
        ),
        (
            lambda: wm.l1([mx.ones(2)], -0.1),
            ValueError,
            r"The 'strength' parameter of l1 must be a float >= 0\. Got -0\.1\.",
        ),
        (
            lambda: wm.l2([mx.ones(2)], 0.1, convention="sumsq"),
            ValueError,
            r"The 'convention' parameter of l2 must be one of 'sum_sq', 'half_sum_sq'\. Got 'sumsq'\.",
        ),
        (
            lambda: wm.elastic_net([mx.ones(2)], 0.1, 1.5, convention="sum_sq"),
            ValueError,
            r"The 'l1_ratio' parameter of elastic_net must be a float in \[0, 1\]\. Got 1\.5\.",
        ),
        (
            lambda: wm.elastic_net([mx.ones(2)], float("nan"), 0.5, convention="sum_sq"),
            ValueError,
            r"The 'strength' parameter of elastic_net must be a float >= 0\. Got nan\.",
        ),
        (
            lambda: wm.l1(torch.ones(2), 0.1),
            TypeError,
            r"The 'params' parameter of l1 must be a floating-point mx.array, a list of them, a parameter tree or an mlx.nn.Module\. Got an object of type Tensor\.",
        ),
        (
            lambda: wm.l1([("w", mx.ones(2))], 0.1),
            TypeError,
            r"The 'params' parameter of l1 must be .*\. Got an item of type tuple\.",
        ),
        (
            lambda: wm.l2([mx.ones(2, dtype=mx.int32)], 0.1, convention="sum_sq"),
            ValueError,
            r"The 'params' parameter of l2 must be .*\. Got an array of shape \(2,\) and dtype mlx.core.int32\.",
        ),
        (
            lambda: wm.l1([mx.ones(2)], 0.1, select="weights"),
            ValueError,
            r"The 'select' parameter of l1 must be a callable predicate\(name, array\) -> bool\. Got 'weights'\.",
        ),
        (
            lambda: wm.select([mx.ones(2)]),
            TypeError,
            r"The 'params' parameter of select must be a parameter tree \(dict\) or an mlx.nn.Module\.",
        ),
        (
            lambda: wm.decoupled_decay(-1.0),
            ValueError,
            r"The 'rate' parameter of decoupled_decay must be a float >= 0\. Got -1\.0\.",
        ),
        (
            lambda: wm.decoupled_decay(0.1, lr_scaled=1),
            TypeError,
            r"The 'lr_scaled' parameter of decoupled_decay must be a bool\. Got 1\.",
        ),
        (
            lambda: wm.l1_step(-0.1),
            ValueError,
            r"The 'strength' parameter of l1_step must be a float >= 0\. Got -0\.1\.",
        ),
        (
            lambda: wm.l1_step(0.1, "truncate"),
            ValueError,
            r"The 'rule' parameter of l1_step must be one of 'subgradient', 'clip', 'proximal'\. Got 'truncate'\.",
        ),
        (
            lambda: wm.chain(wm.l1_step(0.1), 0.5),
            ValueError,
            r"The 'rules\[1\]' parameter of chain must be a callable rule\(prev, proposed, lr\) -> new\. Got 0\.5\.",
        ),
        (
            lambda: wm.RegularizedOptimizer(
                torch.optim.SGD([torch.zeros(1)], lr=0.1), wm.l1_step(0.1)
            ),
            TypeError,
            r"The 'optimizer' parameter of RegularizedOptimizer must be an mlx.optimizers.Optimizer\.",
        ),
        (
            lambda: wm.RegularizedOptimizer(optim.SGD(learning_rate=0.1), 0.5),
            ValueError,
            r"The 'rule' parameter of RegularizedOptimizer must be a callable rule\(prev, proposed, lr\) -> new or a spec string of rule terms such as 'decoupled_decay\(0\.01\)\+max_norm\(3\)'\. Got 0\.5\.",
        ),
        (
            lambda: wm.RegularizedOptimizer(optim.SGD(learning_rate=0.1), "l2(0.1)+max_norm(3)"),
            ValueError,
            r"The 'rule' parameter of RegularizedOptimizer must be rule terms \(l1, decoupled_decay, max_norm\) joined by '\+'\. Got 'l2\(0\.1\)', a penalty term\.",
        ),
        (
            lambda: wm.RegularizedOptimizer(optim.SGD(learning_rate=0.1), "l1"),
            ValueError,
            r"The 'regularization' parameter of regularization must be l1 with its strength given\. Got 'l1'\.",
        ),
        (
            lambda: wm.penalty("l1(0.01)"),
            ValueError,
            r"The 'spec' parameter of penalty must be a penalty term \(l1, l2, elastic_net\)\. Got 'l1\(0\.01\)', a rule term\.",
        ),
        (
            lambda: wm.penalty("l2(0.01)", select="weights"),
            ValueError,
            r"The 'select' parameter of penalty must be a callable predicate\(name, array\) -> bool\. Got 'weights'\.",
        ),
        (
            lambda: wm.penalty("l2(0.01)")(torch.ones(2)),
            TypeError,
            r"The 'params' parameter of penalty must be a floating-point mx.array, a list of them, a parameter tree or an mlx.nn.Module\. Got an object of type Tensor\.",
        ),
        (
            lambda: wm.RegularizedOptimizer(optim.SGD(learning_rate=0.1), wm.l1_step(0.1)).update(
                torch.nn.Linear(1, 1), {}
            ),
            TypeError,
            r"The 'model' parameter of RegularizedOptimizer.update must be an mlx.nn.Module\.",
        ),
        (
            lambda: wm.Dropout(1.0),
            ValueError,
            r"The 'p' parameter of Dropout must be a float in \[0, 1\)\. Got 1\.0\.",
        ),
        (
            lambda: wm.Dropout(1.5),
            ValueError,
            r"The 'p' parameter of Dropout must be a float in \[0, 1\)\. Got 1\.5\.",
        ),
        (
            lambda: wm.Dropout(0.5, mode="original"),
            ValueError,
            r"The 'mode' parameter of Dropout must be one of 'inverted', 'classic'\. Got 'original'\.",
        ),
        (
            lambda: wm.Dropout(0.5, seed=0.5),
            TypeError,
            r"The 'seed' parameter of Dropout must be an int in \[0, 2\*\*64 - 1\] or None\. Got 0\.5\.",
        ),
    ],
)
def test_bad_inputs_raise_the_one_error_format(
    call: Callable[[], object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_an_optimizer_without_a_learning_rate_is_named() -> None:
    class NoRate(optim.Optimizer):
        def __init__(self) -> None:
            super().__init__()

        def init_single(self, parameter: mx.array, state: dict) -> None:
            pass

        def apply_single(self, gradient: mx.array, parameter: mx.array, state: dict) -> mx.array:
            return parameter - gradient

    model = mnn.Linear(2, 1)
    opt = wm.RegularizedOptimizer(NoRate(), wm.decoupled_decay(0.1))
    with pytest.raises(
        ValueError,
        match=r"The 'optimizer' parameter of RegularizedOptimizer must be an optimizer with a learning_rate in its state\. Got a NoRate without a learning rate\.",
    ):
        opt.update(model, {"weight": mx.zeros((1, 2)), "bias": mx.zeros((1,))})


def test_missing_mlx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "mlx" or n.startswith("mlx.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "mlx.core", None)
    for name in ("weightlab.interop.mlx", "weightlab.mlx"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    message = re.escape(
        "MLX initializers and regularizers need the optional package 'mlx', which is not installed. Install it with: pip install 'weightlab[mlx]'"
    )
    with pytest.raises(MissingExtraError, match=message):
        importlib.import_module("weightlab.mlx")
    with pytest.raises(ImportError, match=re.escape("pip install 'weightlab[mlx]'")):
        importlib.import_module("weightlab.interop.mlx")


def test_public_module_re_exports_the_interop_module() -> None:
    for name in wm.__all__:
        assert getattr(wm, name) is getattr(interop_mlx, name)
    assert sorted(wm.__all__) == sorted(interop_mlx.__all__)


# ---------------------------------------------------------------------------
# The guide's examples run and print what it shows.


def test_guide_python_blocks_print_the_shown_output() -> None:
    assert check_python_blocks(DOC) >= 4
