"""Update rules: seed 001's worked example, sparsity, AdamW/SGDW references, the wrapper."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from weightlab.regularize.updates import (
    L1_RULES,
    RegularizedOptimizer,
    WeightRule,
    apply_rule,
    chain,
    decoupled_decay,
    l1_clip,
    l1_proximal,
    l1_step,
    l1_subgradient,
)

from .conftest import DEVICES, msg

F64 = torch.float64


def _seed_run(rule: WeightRule, iterations: int) -> list[list[float]]:
    """Seed 001: θ = [1.5, 0.5], α = 0.1, data gradient constantly 1, plain SGD."""
    theta = torch.nn.Parameter(torch.tensor([1.5, 0.5], dtype=F64))
    opt = RegularizedOptimizer(torch.optim.SGD([theta], lr=0.1), rule, [theta])
    history = []
    for _ in range(iterations):
        opt.zero_grad()
        theta.sum().backward()  # d/dθ Σθ = 1
        opt.step()
        history.append(theta.detach().tolist())
    return history


# --- seed 001's worked example ---------------------------------------------------------------


def test_seed_example_clip_rule() -> None:
    history = _seed_run(l1_clip(0.1), 5)
    theta1 = [h[0] for h in history]
    theta2 = [h[1] for h in history]
    assert theta1 == pytest.approx([1.39, 1.28, 1.17, 1.06, 0.95], abs=1e-6)
    assert theta2 == pytest.approx([0.39, 0.28, 0.17, 0.06, 0.0], abs=1e-6)
    assert theta2[-1] == 0.0  # exactly zero, "pushed to zero"


def test_seed_example_subgradient_crosses_zero() -> None:
    history = _seed_run(l1_subgradient(0.1), 5)
    assert [h[0] for h in history] == pytest.approx([1.39, 1.28, 1.17, 1.06, 0.95], abs=1e-6)
    assert history[-1][1] == pytest.approx(-0.05, abs=1e-6)


def test_seed_example_clip_does_not_freeze_zero() -> None:
    # Iteration 6 from θ2 = 0: sign(0) = 0, so only the data gradient acts: 0 − 0.1.
    assert _seed_run(l1_clip(0.1), 6)[-1][1] == pytest.approx(-0.1, abs=1e-6)


def test_proximal_from_zero_moves_to_minus_009() -> None:
    # REFERENCES.md: from 0 with data gradient 1, soft-thresholding gives −0.09.
    out = l1_proximal(0.1)(torch.tensor([0.0], dtype=F64), torch.tensor([-0.1], dtype=F64), 0.1)
    assert out.item() == pytest.approx(-0.09, abs=1e-12)


# --- exact rule invariants -------------------------------------------------------------------


@pytest.mark.parametrize("rule", L1_RULES)
def test_zero_strength_is_identity(rule: str) -> None:
    # The data-gradient step alone crosses zero here (0.05 → −0.05, −0.02 → 0.03): with no
    # L1 term there is nothing to clip or shrink.
    prev = torch.tensor([0.05, -0.02, 0.0, 1.0], dtype=F64)
    proposed = torch.tensor([-0.05, 0.03, 0.2, 0.7], dtype=F64)
    presets = {"subgradient": l1_subgradient, "clip": l1_clip, "proximal": l1_proximal}
    for step in (l1_step(0.0, rule), presets[rule](0.0)):  # type: ignore[arg-type]
        assert torch.equal(step(prev, proposed, 0.1), proposed)


def test_clip_zeroes_whole_step_crossings() -> None:
    # The rule the seed's printed 0 follows: a crossing of the whole step (data gradient and
    # L1 term) from prev is clipped, even when the data gradient alone made it cross.
    prev = torch.tensor([0.05, 0.2], dtype=F64)
    proposed = torch.tensor([-0.05, 0.1], dtype=F64)
    got = l1_clip(0.1)(prev, proposed, 0.1)
    torch.testing.assert_close(got, torch.tensor([0.0, 0.09], dtype=F64), rtol=0, atol=1e-15)


def test_rule_formulas() -> None:
    prev = torch.tensor([0.5, -0.5, 0.0, 0.02], dtype=F64)
    proposed = torch.tensor([0.4, -0.45, 0.3, -0.01], dtype=F64)
    lr, lam = 0.1, 0.2  # t = 0.02
    sub = l1_subgradient(lam)(prev, proposed, lr)
    torch.testing.assert_close(sub, torch.tensor([0.38, -0.43, 0.3, -0.03], dtype=F64))
    clip = l1_clip(lam)(prev, proposed, lr)
    torch.testing.assert_close(clip, torch.tensor([0.38, -0.43, 0.3, 0.0], dtype=F64))
    prox = l1_proximal(lam)(prev, proposed, lr)
    torch.testing.assert_close(prox, torch.tensor([0.38, -0.43, 0.28, 0.0], dtype=F64))
    assert prox[3].item() == 0.0 and clip[3].item() == 0.0


@pytest.mark.parametrize("rule", L1_RULES)
def test_l1_step_presets_equal_general(gen: torch.Generator, rule: str) -> None:
    presets = {"subgradient": l1_subgradient, "clip": l1_clip, "proximal": l1_proximal}
    prev = torch.randn(50, generator=gen)
    proposed = prev + 0.1 * torch.randn(50, generator=gen)
    general = l1_step(0.3, rule)(prev, proposed, 0.2)  # type: ignore[arg-type]
    assert torch.equal(general, presets[rule](0.3)(prev, proposed, 0.2))


def test_default_l1_rule_is_proximal(gen: torch.Generator) -> None:
    prev, proposed = torch.randn(20, generator=gen), torch.randn(20, generator=gen)
    assert torch.equal(l1_step(0.5)(prev, proposed, 0.1), l1_proximal(0.5)(prev, proposed, 0.1))


@pytest.mark.parametrize(
    "rule",
    [l1_subgradient(0.3), l1_clip(0.3), l1_proximal(0.3), decoupled_decay(0.3)],
    ids=["subgradient", "clip", "proximal", "decay"],
)
def test_rules_are_pure(gen: torch.Generator, rule: WeightRule) -> None:
    prev, proposed = torch.randn(30, generator=gen), torch.randn(30, generator=gen)
    prev0, proposed0 = prev.clone(), proposed.clone()
    out = rule(prev, proposed, 0.5)
    assert torch.equal(prev, prev0) and torch.equal(proposed, proposed0)
    assert out.data_ptr() not in (prev.data_ptr(), proposed.data_ptr())


def test_decoupled_decay_formula() -> None:
    prev = torch.tensor([1.0, -2.0], dtype=F64)
    proposed = torch.tensor([0.9, -2.1], dtype=F64)
    scaled = decoupled_decay(0.5)(prev, proposed, 0.1)
    torch.testing.assert_close(scaled, torch.tensor([0.85, -2.0], dtype=F64))
    unscaled = decoupled_decay(0.5, lr_scaled=False)(prev, proposed, 0.1)
    torch.testing.assert_close(unscaled, torch.tensor([0.4, -1.1], dtype=F64))


@pytest.mark.parametrize("device", DEVICES)
def test_rules_keep_device_and_dtype(device: str) -> None:
    prev = torch.tensor([0.5, -0.01], device=device, dtype=torch.float16)
    for rule in (l1_subgradient(0.1), l1_clip(0.1), l1_proximal(0.1), decoupled_decay(0.1)):
        out = rule(prev, prev, 0.1)
        assert out.device.type == device and out.dtype == torch.float16


# --- sparsity: proximal gives exact zeros, subgradient none ----------------------------------


def _train_lasso(gen: torch.Generator, rule: WeightRule) -> Tensor:
    x = torch.randn(200, 20, generator=gen)
    true_w = torch.zeros(20)
    true_w[:3] = torch.tensor([3.0, -2.0, 1.5])
    y = x @ true_w + 0.1 * torch.randn(200, generator=gen)
    w = torch.nn.Parameter(0.1 * torch.randn(20, generator=gen))
    opt = RegularizedOptimizer(torch.optim.SGD([w], lr=0.05), rule, [w])
    for _ in range(300):
        opt.zero_grad()
        ((x @ w - y) ** 2).mean().backward()
        opt.step()
    return w.detach()


def test_proximal_gives_exact_zeros_subgradient_does_not(gen: torch.Generator) -> None:
    state = gen.get_state()
    prox = _train_lasso(gen, l1_proximal(0.1))
    gen.set_state(state)
    sub = _train_lasso(gen, l1_subgradient(0.1))
    assert int((prox[3:] == 0).sum()) >= 14  # of 17 uninformative features
    assert bool((prox[:3] != 0).all())
    assert int((sub == 0).sum()) == 0
    assert float(sub[3:].abs().max()) > 0  # hovering near zero, not at it


# --- references: AdamW and SGDW --------------------------------------------------------------


def _quadratic_loss(w: Tensor, target: Tensor) -> Tensor:
    return ((w - target) ** 2 * torch.arange(1, w.numel() + 1, dtype=w.dtype)).sum()


def test_adam_plus_decoupled_decay_equals_adamw(gen: torch.Generator) -> None:
    start = torch.randn(8, generator=gen, dtype=F64)
    target = torch.randn(8, generator=gen, dtype=F64)
    a, b = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    adamw = torch.optim.AdamW([a], lr=0.05, weight_decay=0.1)
    ours = RegularizedOptimizer(
        torch.optim.Adam([b], lr=0.05, weight_decay=0.0), decoupled_decay(0.1), [b]
    )
    # Same schedule on both: the rule must read the current lr at each step.
    sched_a = torch.optim.lr_scheduler.StepLR(adamw, step_size=5, gamma=0.5)
    sched_b = torch.optim.lr_scheduler.StepLR(ours.optimizer, step_size=5, gamma=0.5)
    for _ in range(20):
        for opt, w in ((adamw, a), (ours, b)):
            opt.zero_grad()
            _quadratic_loss(w, target).backward()
            opt.step()
        sched_a.step()
        sched_b.step()
        torch.testing.assert_close(b.detach(), a.detach(), rtol=0, atol=1e-12)
    assert not torch.allclose(a.detach(), start)


class _PartlyUsed(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.used = torch.nn.Linear(4, 3)
        self.unused = torch.nn.Linear(4, 3)  # never called: its grads stay None
        self.frozen = torch.nn.Linear(3, 1)
        self.frozen.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        return self.frozen(torch.tanh(self.used(x)))


def test_params_without_grad_are_skipped_like_adamw(gen: torch.Generator) -> None:
    # torch.optim.AdamW decays only params whose .grad is not None; so must the wrapper.
    ref = _PartlyUsed().double()
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64))
    net = _PartlyUsed().double()
    net.load_state_dict(ref.state_dict())
    start = {name: p.detach().clone() for name, p in net.named_parameters()}
    x = torch.randn(8, 4, generator=gen, dtype=F64)
    adamw = torch.optim.AdamW(ref.parameters(), lr=0.05, weight_decay=0.1)
    ours = RegularizedOptimizer(
        torch.optim.Adam(net.parameters(), lr=0.05, weight_decay=0.0),
        decoupled_decay(0.1),
        net.parameters(),
    )
    for _ in range(10):
        for opt, model in ((adamw, ref), (ours, net)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
        for (name, a), b in zip(ref.named_parameters(), net.parameters(), strict=True):
            torch.testing.assert_close(b.detach(), a.detach(), rtol=0, atol=1e-12, msg=name)
    for name, p in net.named_parameters():
        if not name.startswith("used."):
            assert torch.equal(p.detach(), start[name]), name
    assert not torch.equal(net.used.weight.detach(), start["used.weight"])


def test_grads_made_by_the_closure_count(gen: torch.Generator) -> None:
    # With a closure the gradients exist only once optimizer.step has called it.
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=F64))
    opt = RegularizedOptimizer(torch.optim.SGD([w], lr=0.1), decoupled_decay(0.5), [w])

    def closure() -> float:
        w.grad = torch.zeros_like(w)
        return 0.0

    assert w.grad is None
    opt.step(closure)
    torch.testing.assert_close(w.detach(), torch.tensor([0.95, -1.9], dtype=F64))


def test_sgd_plus_decoupled_decay_is_sgdw(gen: torch.Generator) -> None:
    # Without momentum, SGDW equals coupled weight decay: prev − lr(g + λ·prev).
    start = torch.randn(6, generator=gen, dtype=F64)
    target = torch.randn(6, generator=gen, dtype=F64)
    a, b = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    coupled = torch.optim.SGD([a], lr=0.01, weight_decay=0.3)
    ours = RegularizedOptimizer(torch.optim.SGD([b], lr=0.01), decoupled_decay(0.3), [b])
    for _ in range(20):
        for opt, w in ((coupled, a), (ours, b)):
            opt.zero_grad()
            _quadratic_loss(w, target).backward()
            opt.step()
        torch.testing.assert_close(b.detach(), a.detach(), rtol=0, atol=1e-12)


def test_keras_decoupled_sgd_reference() -> None:
    # REFERENCES.md (run): Keras SGD(lr .1, weight_decay .5) on [1, −2], zero grad → [.95, −1.9].
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=F64))
    opt = RegularizedOptimizer(torch.optim.SGD([w], lr=0.1), decoupled_decay(0.5), [w])
    w.grad = torch.zeros_like(w)
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.95, -1.9], dtype=F64))


# --- chain -----------------------------------------------------------------------------------


def test_chain_order_and_shared_prev(gen: torch.Generator) -> None:
    seen: list[tuple[Tensor, Tensor]] = []

    def recorder(prev: Tensor, proposed: Tensor, lr: float) -> Tensor:
        seen.append((prev, proposed))
        return proposed + lr

    prev, proposed = torch.randn(4, generator=gen), torch.randn(4, generator=gen)
    out = chain(decoupled_decay(0.5), recorder, l1_proximal(0.2))(prev, proposed, 0.1)
    decayed = decoupled_decay(0.5)(prev, proposed, 0.1)
    assert seen[0][0] is prev
    assert torch.equal(seen[0][1], decayed)
    assert torch.equal(out, l1_proximal(0.2)(prev, decayed + 0.1, 0.1))


def test_empty_chain_is_identity(gen: torch.Generator) -> None:
    prev, proposed = torch.randn(4, generator=gen), torch.randn(4, generator=gen)
    assert torch.equal(chain()(prev, proposed, 0.1), proposed)


# --- RegularizedOptimizer ----------------------------------------------------------------------


def _linear(gen: torch.Generator) -> torch.nn.Linear:
    layer = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64))
    return layer


def test_rule_touches_only_selected_params(gen: torch.Generator) -> None:
    layer, twin = _linear(gen), _linear(gen)
    twin.load_state_dict(layer.state_dict())
    x = torch.randn(5, 3, generator=gen, dtype=F64)
    ours = RegularizedOptimizer(
        torch.optim.SGD(layer.parameters(), lr=0.1), decoupled_decay(0.5), [layer.weight]
    )
    plain = torch.optim.SGD(twin.parameters(), lr=0.1)
    for opt, net in ((ours, layer), (plain, twin)):
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
    assert torch.equal(layer.bias, twin.bias)
    expected = twin.weight - 0.1 * 0.5 * (twin.weight + 0.1 * twin.weight.grad)
    torch.testing.assert_close(layer.weight.detach(), expected.detach())


def test_lr_read_per_group_at_step_time(gen: torch.Generator) -> None:
    a = torch.nn.Parameter(torch.randn(2, generator=gen))
    b = torch.nn.Parameter(torch.randn(2, generator=gen))
    lrs: list[float] = []

    def record(prev: Tensor, proposed: Tensor, lr: float) -> Tensor:
        lrs.append(lr)
        return proposed

    inner = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.3}])
    opt = RegularizedOptimizer(inner, record, [b, a, a])  # duplicates applied once
    a.grad, b.grad = torch.zeros(2), torch.zeros(2)
    opt.step()
    opt.param_groups[1]["lr"] = 0.7
    opt.step()
    assert lrs == [0.3, 0.1, 0.7, 0.1]


def test_wrapper_forwards(gen: torch.Generator) -> None:
    layer = _linear(gen)
    inner = torch.optim.Adam(layer.parameters(), lr=0.01)
    opt = RegularizedOptimizer(inner, decoupled_decay(0.1), [layer.weight])
    x = torch.randn(4, 3, generator=gen, dtype=F64)

    def closure() -> float:
        opt.zero_grad()
        loss = layer(x).pow(2).sum()
        loss.backward()
        return loss.item()

    loss = opt.step(closure)
    assert isinstance(loss, float)
    assert opt.param_groups is inner.param_groups
    state = opt.state_dict()
    assert state["state"]  # Adam moments exist after one step
    fresh = RegularizedOptimizer(
        torch.optim.Adam(layer.parameters(), lr=0.01), decoupled_decay(0.1), [layer.weight]
    )
    fresh.load_state_dict(state)
    assert torch.equal(
        fresh.optimizer.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"]
    )
    opt.zero_grad()
    assert layer.weight.grad is None
    assert "RegularizedOptimizer" in repr(opt)


def test_a_wrapper_wraps_a_wrapper_inner_rule_first(gen: torch.Generator) -> None:
    # The inner step (SGD, then its rule) runs, then the outer rule, both reading the
    # weights from before the step: a decay on every parameter, a cap on the kernel only.
    layer = _linear(gen)
    x = torch.randn(4, 3, generator=gen, dtype=F64)
    inner = RegularizedOptimizer(
        torch.optim.SGD(layer.parameters(), lr=0.1), decoupled_decay(0.5), layer.parameters()
    )
    seen: list[tuple[Tensor, Tensor]] = []

    def cap(prev: Tensor, proposed: Tensor, lr: float) -> Tensor:
        seen.append((prev.clone(), proposed.clone()))
        return proposed.clamp(-0.2, 0.2)

    opt = RegularizedOptimizer(inner, cap, [layer.weight])
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    opt.zero_grad()
    layer(x).pow(2).sum().backward()
    gw, gb = layer.weight.grad.clone(), layer.bias.grad.clone()  # type: ignore[union-attr]
    opt.step()
    decayed_w = w0 - 0.1 * gw - 0.1 * 0.5 * w0
    torch.testing.assert_close(seen[0][0], w0)  # prev: before both
    torch.testing.assert_close(seen[0][1], decayed_w)  # the inner rule already ran
    torch.testing.assert_close(layer.weight.detach(), decayed_w.clamp(-0.2, 0.2))
    torch.testing.assert_close(layer.bias.detach(), b0 - 0.1 * gb - 0.1 * 0.5 * b0)  # not capped
    assert opt.param_groups is inner.optimizer.param_groups
    assert opt.base is inner.optimizer and inner.base is inner.optimizer
    assert "RegularizedOptimizer(RegularizedOptimizer(SGD" in repr(opt)


def test_nested_wrappers_equal_one_chained_rule(gen: torch.Generator) -> None:
    # On the same weights, wrapping is chain(inner, outer); state and zero_grad forward.
    def run(nested: bool) -> tuple[Tensor, dict[str, object]]:
        torch.manual_seed(0)
        layer = torch.nn.Linear(3, 2).double()
        params = list(layer.parameters())
        adam = torch.optim.Adam(params, lr=0.05)
        if nested:
            opt = RegularizedOptimizer(
                RegularizedOptimizer(adam, decoupled_decay(0.1), params), l1_clip(0.3), params
            )
        else:
            opt = RegularizedOptimizer(adam, chain(decoupled_decay(0.1), l1_clip(0.3)), params)
        x = torch.linspace(-1, 1, 12, dtype=F64).reshape(4, 3)
        for _ in range(5):
            opt.zero_grad()
            layer(x).pow(2).sum().backward()
            opt.step()
        opt.zero_grad()
        assert all(p.grad is None for p in params)
        return torch.cat([p.detach().flatten() for p in params]), opt.state_dict()

    nested, state = run(True)
    chained, expected = run(False)
    torch.testing.assert_close(nested, chained, rtol=0, atol=0)
    assert state["param_groups"] == expected["param_groups"]


def test_apply_rule_in_place(gen: torch.Generator) -> None:
    p = torch.nn.Parameter(torch.randn(3, generator=gen))
    prev = p.detach().clone()
    apply_rule(decoupled_decay(0.5, lr_scaled=False), [p], [prev], [0.1])
    torch.testing.assert_close(p.detach(), prev * 0.5)
    assert p.requires_grad


@pytest.mark.parametrize("device", DEVICES)
def test_wrapper_on_device(device: str) -> None:
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], device=device))
    opt = RegularizedOptimizer(torch.optim.SGD([w], lr=0.1), decoupled_decay(0.5), [w])
    w.grad = torch.zeros_like(w)
    opt.step()
    torch.testing.assert_close(w.detach().cpu(), torch.tensor([0.95, -1.9]))


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "shown"), [(-0.1, "-0.1"), (float("nan"), "nan"), (float("inf"), "inf")]
)
def test_bad_strengths(bad: float, shown: str) -> None:
    cases = [
        ("rate", "decoupled_decay", lambda: decoupled_decay(bad)),
        ("strength", "l1_step", lambda: l1_step(bad)),
        ("strength", "l1_subgradient", lambda: l1_subgradient(bad)),
        ("strength", "l1_clip", lambda: l1_clip(bad)),
        ("strength", "l1_proximal", lambda: l1_proximal(bad)),
    ]
    for name, owner, call in cases:
        text = f"The '{name}' parameter of {owner} must be a float >= 0. Got {shown}."
        with pytest.raises(ValueError, match=msg(text)):
            call()


def test_unknown_l1_rule_lists_options() -> None:
    text = (
        "The 'rule' parameter of l1_step must be one of 'subgradient', 'clip', 'proximal'. "
        "Got 'soft'."
    )
    with pytest.raises(ValueError, match=msg(text)):
        l1_step(0.1, "soft")  # type: ignore[arg-type]


def test_lr_scaled_must_be_bool() -> None:
    text = "The 'lr_scaled' parameter of decoupled_decay must be a bool. Got 'yes'."
    with pytest.raises(TypeError, match=msg(text)):
        decoupled_decay(0.1, lr_scaled="yes")  # type: ignore[arg-type]


def test_chain_needs_callables() -> None:
    text = "The 'rules[1]' parameter of chain must be a callable rule(prev, proposed, lr) -> new."
    with pytest.raises(ValueError, match=msg(text + " Got 3.")):
        chain(decoupled_decay(0.1), 3)  # type: ignore[arg-type]


def test_wrapper_validation(gen: torch.Generator) -> None:
    w = torch.nn.Parameter(torch.randn(2, generator=gen))
    stray = torch.nn.Parameter(torch.randn(4, 5, generator=gen))
    sgd = torch.optim.SGD([w], lr=0.1)
    text = (
        "The 'optimizer' parameter of RegularizedOptimizer must be a torch.optim.Optimizer or a "
        "RegularizedOptimizer. Got 'sgd'."
    )
    with pytest.raises(TypeError, match=msg(text)):
        RegularizedOptimizer("sgd", decoupled_decay(0.1), [w])  # type: ignore[arg-type]
    text = "The 'rule' parameter of RegularizedOptimizer must be a callable"
    with pytest.raises(ValueError, match=msg(text)):
        RegularizedOptimizer(sgd, 0.1, [w])  # type: ignore[arg-type]
    text = (
        "The 'params' parameter of RegularizedOptimizer must be tensors in the optimizer's "
        "param groups. Got 1 that are not (first: item 1, shape (4, 5))."
    )
    with pytest.raises(ValueError, match=msg(text)):
        RegularizedOptimizer(sgd, decoupled_decay(0.1), [w, stray])
    text = (
        "The 'params' parameter of RegularizedOptimizer must be a floating-point torch.Tensor "
        "or an iterable of them."
    )
    with pytest.raises(TypeError, match=msg(text + " Got an item of type tuple.")):
        RegularizedOptimizer(sgd, decoupled_decay(0.1), [("w", w)])  # type: ignore[list-item]
