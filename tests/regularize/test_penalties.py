"""Penalties: exact values, presets, autograd and framework references, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightlab.regularize.penalties import (
    Convention,
    elastic_net,
    elastic_net_grad,
    l1,
    l2,
    torch_weight_decay,
)

from .conftest import DEVICES, msg

CONVENTIONS = ["sum_sq", "half_sum_sq"]


# --- exact values ---------------------------------------------------------------------------


def test_keras_l2_value() -> None:
    # REFERENCES.md (run): Keras L2(0.01) on [[1, -2], [3, .5]] gives 0.1425.
    w = torch.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=torch.float64)
    assert l2([w], 0.01, convention="sum_sq").item() == pytest.approx(0.1425, abs=1e-15)
    assert l2([w], 0.01, convention="half_sum_sq").item() == pytest.approx(0.07125, abs=1e-15)


def test_elastic_net_formula() -> None:
    w = torch.tensor([1.0, -2.0], dtype=torch.float64)
    # 0.1 * (0.5 * 3 + 0.5 * c * 5)
    assert elastic_net([w], 0.1, 0.5, convention="sum_sq").item() == pytest.approx(0.4, abs=1e-15)
    got = elastic_net([w], 0.1, 0.5, convention="half_sum_sq").item()
    assert got == pytest.approx(0.275, abs=1e-15)


def test_l1_value() -> None:
    w = torch.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=torch.float64)
    assert l1([w], 0.01).item() == pytest.approx(0.065, abs=1e-15)


def test_sums_over_tensors_and_accepts_generators_or_one_tensor(gen: torch.Generator) -> None:
    a, b = torch.randn(3, 4, generator=gen), torch.randn(5, generator=gen)
    both = elastic_net(iter([a, b]), 0.3, 0.4, convention="sum_sq")
    parts = elastic_net([a], 0.3, 0.4, convention="sum_sq") + elastic_net(
        b, 0.3, 0.4, convention="sum_sq"
    )
    torch.testing.assert_close(both, parts)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_presets_equal_general_function(gen: torch.Generator, convention: Convention) -> None:
    ws = [torch.randn(4, 3, generator=gen), torch.randn(7, generator=gen)]
    assert torch.equal(l1(ws, 0.2), elastic_net(ws, 0.2, 1.0, convention=convention))
    assert torch.equal(
        l2(ws, 0.2, convention=convention),
        elastic_net(ws, 0.2, 0.0, convention=convention),
    )


def test_half_convention_is_half() -> None:
    w = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64)
    full = l2([w], 0.3, convention="sum_sq")
    half = l2([w], 0.3, convention="half_sum_sq")
    assert torch.equal(half * 2, full)


def test_empty_params_give_zero_scalar() -> None:
    out = elastic_net([], 0.5, 0.5, convention="sum_sq")
    assert out.dim() == 0 and out.item() == 0.0


@pytest.mark.parametrize("device", DEVICES)
def test_result_on_params_device(device: str) -> None:
    w = torch.ones(3, device=device)
    out = l2([w], 0.1, convention="sum_sq")
    assert out.device.type == device and out.dim() == 0
    assert elastic_net_grad(w, 0.1, 0.5, convention="sum_sq").device.type == device


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_sums_do_not_overflow(dtype: torch.dtype) -> None:
    # Σw² = 1e6·0.3² ≈ 90 000 is above float16's largest value (65 504): the sums are taken
    # in float32, so the result equals the float32 penalty of the same (rounded) weights.
    w = torch.full((1000, 1000), 0.3, dtype=dtype)
    exact = w.float()
    for convention in CONVENTIONS:
        got = l2([w], 1e-4, convention=convention)  # type: ignore[arg-type]
        assert got.dtype == torch.float32
        assert torch.equal(got, l2([exact], 1e-4, convention=convention))  # type: ignore[arg-type]
    big = torch.full((300_000,), 0.5, dtype=dtype)  # Σ|w| = 150 000
    assert torch.equal(l1(big, 1e-3), l1(big.float(), 1e-3))
    got = elastic_net([w, big], 1e-4, 0.3, convention="sum_sq")
    assert torch.equal(got, elastic_net([exact, big.float()], 1e-4, 0.3, convention="sum_sq"))


def test_half_precision_large_weights_square_in_float32() -> None:
    # 300² = 90 000 overflows float16 element by element, not only in the sum.
    w = torch.tensor([300.0, -2.0], dtype=torch.float16)
    assert l2(w, 1.0, convention="sum_sq").item() == 90_004.0


def test_half_precision_gradient_keeps_param_dtype() -> None:
    w = torch.full((4,), 0.5, dtype=torch.float16, requires_grad=True)
    l2(w, 0.1, convention="sum_sq").backward()
    assert w.grad is not None and w.grad.dtype == torch.float16
    assert torch.equal(w.grad, torch.full((4,), 0.1, dtype=torch.float16))


def test_float64_keeps_dtype() -> None:
    assert l1(torch.ones(3, dtype=torch.float64), 0.1).dtype == torch.float64
    assert l2(torch.ones(3), 0.1, convention="sum_sq").dtype == torch.float32


def test_zero_strength_is_zero(gen: torch.Generator) -> None:
    w = torch.randn(10, generator=gen)
    assert elastic_net([w], 0.0, 0.3, convention="sum_sq").item() == 0.0


# --- gradients vs autograd -------------------------------------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 1.0])
def test_grad_matches_autograd(
    gen: torch.Generator, convention: Convention, l1_ratio: float
) -> None:
    w = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    assert bool((w != 0).all())
    w.requires_grad_(True)
    penalty = elastic_net([w], 0.7, l1_ratio, convention=convention)
    (auto,) = torch.autograd.grad(penalty, w)
    analytic = elastic_net_grad(w.detach(), 0.7, l1_ratio, convention=convention)
    torch.testing.assert_close(analytic, auto, rtol=0, atol=1e-14)


def test_grad_formula_values() -> None:
    w = torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64)
    got = elastic_net_grad(w, 0.1, 0.5, convention="sum_sq")
    torch.testing.assert_close(got, torch.tensor([0.15, -0.25, 0.0], dtype=torch.float64))
    got = elastic_net_grad(w, 0.1, 0.5, convention="half_sum_sq")
    torch.testing.assert_close(got, torch.tensor([0.1, -0.15, 0.0], dtype=torch.float64))


# --- framework references --------------------------------------------------------------------


def test_torch_weight_decay_table() -> None:
    assert torch_weight_decay(0.01, "sum_sq") == 0.02
    assert torch_weight_decay(0.01, "half_sum_sq") == 0.01


def test_torch_sgd_weight_decay_reference() -> None:
    # REFERENCES.md (run): SGD lr .1 wd .5 on [1, -2] with zero grad gives [0.95, -1.9].
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.1, weight_decay=torch_weight_decay(0.25, "sum_sq"))
    w.grad = torch.zeros_like(w)
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.95, -1.9], dtype=torch.float64))
    # Same step through the loss: Keras-style L2(0.25) = 0.25·Σw².
    v = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    l2([v], 0.25, convention="sum_sq").backward()
    torch.optim.SGD([v], lr=0.1).step()
    torch.testing.assert_close(v.detach(), w.detach(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_coupled_weight_decay_equals_penalty_path(
    gen: torch.Generator, convention: Convention
) -> None:
    x = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(16, generator=gen, dtype=torch.float64)
    start = torch.randn(4, generator=gen, dtype=torch.float64)
    a, b = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    strength = 0.3
    wd = torch_weight_decay(strength, convention)
    opt_a = torch.optim.SGD([a], lr=0.05, momentum=0.9, weight_decay=wd)
    opt_b = torch.optim.SGD([b], lr=0.05, momentum=0.9)
    for _ in range(20):
        opt_a.zero_grad()
        ((x @ a - y) ** 2).mean().backward()
        opt_a.step()
        opt_b.zero_grad()
        loss_b = ((x @ b - y) ** 2).mean() + l2([b], strength, convention=convention)
        loss_b.backward()
        opt_b.step()
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=1e-12)


def test_matches_scikit_learn_elastic_net_objective(gen: torch.Generator) -> None:
    # sklearn: 1/(2n)‖y − Xw‖² + α·l1_ratio·‖w‖₁ + ½α(1 − l1_ratio)‖w‖², i.e. half_sum_sq.
    sklearn = pytest.importorskip("sklearn.linear_model")
    x = torch.randn(60, 8, generator=gen, dtype=torch.float64)
    true_w = torch.tensor([2.0, -1.5, 0, 0, 1.0, 0, 0, 0], dtype=torch.float64)
    y = x @ true_w + 0.3 * torch.randn(60, generator=gen, dtype=torch.float64)
    alpha, l1_ratio = 0.2, 0.5
    model = sklearn.ElasticNet(
        alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-14, max_iter=100_000
    )
    model.fit(x.numpy(), y.numpy())
    w = torch.from_numpy(np.asarray(model.coef_)).clone()
    data_grad = -(x.T @ (y - x @ w)) / len(y)
    total = data_grad + elastic_net_grad(w, alpha, l1_ratio, convention="half_sum_sq")
    nonzero = w != 0
    assert 0 < int(nonzero.sum()) < 8
    # Stationary on the support; subgradient condition |∂J| ≤ αρ off it.
    torch.testing.assert_close(total[nonzero], torch.zeros_like(total[nonzero]), rtol=0, atol=1e-7)
    assert bool((data_grad[~nonzero].abs() <= alpha * l1_ratio + 1e-9).all())
    # The other convention doubles the L2 term and is not stationary there.
    wrong = data_grad + elastic_net_grad(w, alpha, l1_ratio, convention="sum_sq")
    assert float(wrong[nonzero].abs().max()) > 1e-3


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "shown"), [(-0.1, "-0.1"), (float("nan"), "nan"), (float("inf"), "inf")]
)
def test_bad_strength(bad: float, shown: str) -> None:
    w = [torch.ones(2)]
    for owner, call in [
        ("elastic_net", lambda: elastic_net(w, bad, 0.5, convention="sum_sq")),
        ("l1", lambda: l1(w, bad)),
        ("l2", lambda: l2(w, bad, convention="sum_sq")),
        ("elastic_net_grad", lambda: elastic_net_grad(w[0], bad, 0.5, convention="sum_sq")),
        ("torch_weight_decay", lambda: torch_weight_decay(bad, "sum_sq")),
    ]:
        text = f"The 'strength' parameter of {owner} must be a float >= 0. Got {shown}."
        with pytest.raises(ValueError, match=msg(text)):
            call()


def test_strength_wrong_type() -> None:
    text = "The 'strength' parameter of l1 must be a float >= 0. Got '0.1'."
    with pytest.raises(TypeError, match=msg(text)):
        l1([torch.ones(2)], "0.1")  # type: ignore[arg-type]


@pytest.mark.parametrize(("bad", "shown"), [(1.5, "1.5"), (-0.1, "-0.1"), (float("nan"), "nan")])
def test_bad_l1_ratio(bad: float, shown: str) -> None:
    text = f"The 'l1_ratio' parameter of elastic_net must be a float in [0, 1]. Got {shown}."
    with pytest.raises(ValueError, match=msg(text)):
        elastic_net([torch.ones(2)], 0.1, bad, convention="sum_sq")


def test_unknown_convention_lists_options() -> None:
    text = "The 'convention' parameter of l2 must be one of 'sum_sq', 'half_sum_sq'. Got 'sum'."
    with pytest.raises(ValueError, match=msg(text)):
        l2([torch.ones(2)], 0.1, convention="sum")  # type: ignore[arg-type]
    text = "The 'convention' parameter of torch_weight_decay must be one of 'sum_sq', "
    with pytest.raises(ValueError, match=msg(text)):
        torch_weight_decay(0.1, "keras")  # type: ignore[arg-type]


def test_convention_is_required() -> None:
    with pytest.raises(TypeError, match="convention"):
        l2([torch.ones(2)], 0.1)  # type: ignore[call-arg]


def test_bad_params() -> None:
    text = (
        "The 'params' parameter of l2 must be a floating-point torch.Tensor or an iterable of them."
    )
    with pytest.raises(TypeError, match=msg(text + " Got an item of type tuple.")):
        l2([("w", torch.ones(2))], 0.1, convention="sum_sq")  # type: ignore[list-item]
    with pytest.raises(TypeError, match=msg(text + " Got 3.0.")):
        l2(3.0, 0.1, convention="sum_sq")  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_params_rejected(dtype: torch.dtype) -> None:
    # Integer weights cannot be trained; their penalty would silently be an integer sum.
    bad = torch.ones(3, dtype=dtype)
    got = f" Got a tensor of shape (3,) and dtype {dtype}."
    for owner, call in [
        ("l1", lambda: l1([torch.ones(2), bad], 0.1)),
        ("l2", lambda: l2(bad, 0.1, convention="sum_sq")),
        ("elastic_net", lambda: elastic_net([bad], 0.1, 0.5, convention="half_sum_sq")),
    ]:
        text = f"The 'params' parameter of {owner} must be a floating-point torch.Tensor or an iterable of them."
        with pytest.raises(ValueError, match=msg(text + got)):
            call()
    text = "The 'w' parameter of elastic_net_grad must be a floating-point torch.Tensor."
    with pytest.raises(ValueError, match=msg(text + got)):
        elastic_net_grad(bad, 0.1, 0.5, convention="sum_sq")


def test_grad_needs_tensor() -> None:
    text = "The 'w' parameter of elastic_net_grad must be a floating-point torch.Tensor. Got [1.0]."
    with pytest.raises(TypeError, match=msg(text)):
        elastic_net_grad([1.0], 0.1, 0.5, convention="sum_sq")  # type: ignore[arg-type]
