"""Applying schemes to modules: layers found, biases, per-layer gains, LSUV."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from weightlab import init


def _mlp(activation: type[nn.Module] = nn.Tanh, width: int = 64, depth: int = 4) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i in range(depth):
        mods += [nn.Linear(16 if i == 0 else width, width), activation()]
    mods.append(nn.Linear(width, 3))
    return nn.Sequential(*mods)


class Functional(nn.Module):
    """Activations as function calls, a dropout in between, and a branch."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.drop = nn.Dropout(0.2)
        self.b = nn.Linear(8, 8)
        self.c = nn.Conv1d(8, 4, 3)
        self.d = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.drop(self.a(x)), 0.2)
        h = torch.tanh(self.b(h))
        y = self.c(h.unsqueeze(-1).expand(-1, -1, 5)).relu()
        z = self.d(h)
        return y.sum() + z.sum() + z.mean()  # d's output is used twice: no single activation


def test_init_module_touches_every_layer_and_sets_biases(gen: torch.Generator) -> None:
    net = _mlp()
    records = init.init_module(net, "xavier_normal", bias=0.1, generator=gen)
    assert [r.name for r in records] == ["0", "2", "4", "6", "8"]
    for _, layer in init.layers(net):
        assert torch.equal(layer.bias, torch.full_like(layer.bias, 0.1))


def test_bias_none_leaves_biases_alone(gen: torch.Generator) -> None:
    net = _mlp()
    before = [layer.bias.clone() for _, layer in init.layers(net)]
    init.init_module(net, "zeros", bias=None, generator=gen)
    assert all(
        torch.equal(b, layer.bias) for b, (_, layer) in zip(before, init.layers(net), strict=True)
    )
    assert all(torch.count_nonzero(layer.weight) == 0 for _, layer in init.layers(net))


def test_init_module_is_reproducible_with_a_generator() -> None:
    a, b = _mlp(), _mlp()
    init.init_module(a, "he_normal", generator=torch.Generator().manual_seed(7))
    init.init_module(b, "he_normal", generator=torch.Generator().manual_seed(7))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_init_module_leaves_mode_and_grad_flags(gen: torch.Generator) -> None:
    net = _mlp().eval()
    init.init_module(net, "orthogonal", generator=gen)
    assert not any(m.training for m in net.modules())
    assert all(p.requires_grad and p.grad_fn is None for p in net.parameters())


def test_gain_from_activation_in_sequential(gen: torch.Generator) -> None:
    records = init.init_module(
        _mlp(nn.Tanh), "xavier_normal", gain_from_activation=True, generator=gen
    )
    assert [r.activation for r in records] == ["tanh"] * 4 + ["linear"]
    assert [r.gain for r in records] == pytest.approx([5 / 3] * 4 + [1.0])


def test_activations_are_traced_through_functional_calls() -> None:
    acts = init.detect_activations(Functional())
    assert acts == {
        "a": ("leaky_relu", 0.2),
        "b": ("tanh", None),
        "c": ("relu", None),
        "d": ("linear", None),
    }


def test_untraceable_module_falls_back_to_sequential_order() -> None:
    class DataDependent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(4, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 4), nn.SiLU()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x) if x.sum() > 0 else -x  # control flow fx cannot trace

    assert init.detect_activations(DataDependent()) == {
        "body.0": ("relu", None),
        "body.3": ("silu", None),
    }


def test_he_with_per_layer_gain_uses_the_layers_slope(gen: torch.Generator) -> None:
    net = Functional()
    records = {
        r.name: r
        for r in init.init_module(net, "he_normal", gain_from_activation=True, generator=gen)
    }
    assert records["a"].gain == pytest.approx(math.sqrt(2 / (1 + 0.04)))
    assert records["a"].scheme == "he_normal(a=0.2)"
    assert records["b"].scheme == "he_normal(nonlinearity='tanh')"


def test_activation_overrides(gen: torch.Generator) -> None:
    net = _mlp(nn.Identity)
    records = init.init_module(
        net,
        "orthogonal",
        gain_from_activation=True,
        activations={"0": "leaky_relu(0.2)", "2": "relu"},
        generator=gen,
    )
    assert records[0].gain == pytest.approx(math.sqrt(2 / 1.04))
    assert records[1].gain == pytest.approx(math.sqrt(2))
    flat = net[2].weight.detach().double()
    torch.testing.assert_close(
        flat.T @ flat, 2 * torch.eye(64, dtype=torch.float64), rtol=0, atol=1e-5
    )


def test_bad_activation_override_is_named() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'activations' parameter of init_module must be the name of a layer of the module \(0, 2, 4, 6, 8\)\. Got 'fc1'\.",
    ):
        init.init_module(
            _mlp(), "he_normal", gain_from_activation=True, activations={"fc1": "relu"}
        )
    with pytest.raises(
        ValueError,
        match=r"The 'activations' parameter of init_module must be one of 'linear'.*Got 'relu7'\.",
    ):
        init.init_module(_mlp(), "he_normal", gain_from_activation=True, activations={"0": "relu7"})


@pytest.mark.parametrize("groups", [1, 4])
def test_conv_transpose_uses_forward_fans(groups: int, gen: torch.Generator) -> None:
    # ConvTranspose2d stores [in, out/g, k, k]; each output sums (in/g)·k² inputs.
    layer = nn.ConvTranspose2d(256, 128, 3, groups=groups)
    init.init_module(layer, "he_normal", generator=gen)
    expected = 2 / (256 / groups * 9)
    n = layer.weight.numel()
    assert layer.weight.var().item() == pytest.approx(expected, abs=5 * expected * math.sqrt(2 / n))


def test_normalization_between_layer_and_activation_is_skipped() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2)
    )
    assert init.detect_activations(net)["0"] == ("relu", None)
    ln = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 1))
    assert init.detect_activations(ln)["0"] == ("tanh", None)


def test_activation_overrides_need_gain_from_activation() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'activations' parameter of init_module must be given only with gain_from_activation=True \(it sets per-layer gains\)\. Got \{'0': 'relu'\}\.",
    ):
        init.init_module(_mlp(), "xavier_normal", activations={"0": "relu"})


@pytest.mark.parametrize(
    "text", ["tanh(0.3)", "leaky_relu(slope='x')", "leaky_relu(0.1, 0.2)", "leaky_relu(nan)"]
)
def test_activation_override_arguments_are_checked(text: str) -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'activations' parameter of init_module must be an activation name, or 'leaky_relu\(slope\)' with one finite slope\. Got ",
    ):
        init.init_module(_mlp(), "he_normal", gain_from_activation=True, activations={"0": text})


def test_activations_must_be_a_mapping() -> None:
    with pytest.raises(
        TypeError,
        match=r"The 'activations' parameter of init_module must be a mapping from layer names to activations or None\. Got \['relu'\]\.",
    ):
        init.init_module(_mlp(), "he_normal", gain_from_activation=True, activations=["relu"])  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ["he_normal", "xavier_uniform", "orthogonal(gain=2.0)"])
@pytest.mark.parametrize("gain_from_activation", [False, True])
def test_per_tensor_schemes_accept_and_ignore_data(spec: str, gain_from_activation: bool) -> None:
    # Callers pass a batch whatever the scheme; a per-tensor scheme draws the same weights.
    with_data, without = _mlp(), _mlp()
    x = torch.randn(8, 16, generator=torch.Generator().manual_seed(1))
    kw = {"gain_from_activation": gain_from_activation}
    a = init.init_module(with_data, spec, data=x, generator=torch.Generator().manual_seed(0), **kw)
    b = init.init_module(without, spec, generator=torch.Generator().manual_seed(0), **kw)
    assert a == b
    for p, q in zip(with_data.parameters(), without.parameters(), strict=True):
        assert torch.equal(p, q)


def test_data_is_checked_for_every_scheme() -> None:
    with pytest.raises(
        TypeError,
        match=r"The 'data' parameter of init_module must be a torch.Tensor with at least 1 dimension or None\. Got \[1\.0, 2\.0\]\.",
    ):
        init.init_module(_mlp(), "he_normal", data=[1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"The 'data' parameter of init_module must be a torch.Tensor with at least 1 dimension or None\. Got ",
    ):
        init.init_module(_mlp(), "lsuv", data=torch.tensor(1.0))


def test_data_dependent_schemes_ignore_per_layer_gains(gen: torch.Generator) -> None:
    # One call serves every scheme: lsuv sets each layer's scale from the data instead.
    x = torch.randn(64, 16, generator=gen)
    records = init.init_module(
        _mlp(), "lsuv", data=x, gain_from_activation=True, activations={"0": "relu"}
    )
    assert {r.scheme for r in records} == {"lsuv"}


def test_init_module_validates_its_arguments() -> None:
    with pytest.raises(
        TypeError, match=r"The 'module' parameter of init_module must be an nn.Module\. Got 3\."
    ):
        init.init_module(3, "he_normal")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"The 'bias' parameter of init_module must be a float \(finite\) or None\. Got inf\.",
    ):
        init.init_module(_mlp(), "he_normal", bias=math.inf)
    with pytest.raises(ValueError, match=r"The 'scheme' parameter of resolve must be one of"):
        init.init_module(_mlp(), "kaiming")


# --- LSUV. ----------------------------------------------------------------------------


def _layer_output_variances(net: nn.Module, x: torch.Tensor) -> list[float]:
    out: list[float] = []
    hooks = [
        layer.register_forward_hook(lambda _m, _i, o: out.append(o.var().item()))
        for _, layer in init.layers(net)
    ]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return out


@pytest.mark.parametrize("activation", [nn.Tanh, nn.ReLU])
def test_lsuv_gives_unit_output_variance_per_layer(
    activation: type[nn.Module], gen: torch.Generator
) -> None:
    net = _mlp(activation, width=128, depth=8)
    x = torch.randn(512, 16, generator=gen) * 3.0
    init.init_module(net, "lsuv", data=x, generator=gen)
    variances = _layer_output_variances(net, x)
    assert all(abs(v - 1.0) < 0.1 for v in variances), variances
    assert all(torch.count_nonzero(layer.bias) == 0 for _, layer in init.layers(net))


def test_lsuv_starts_orthogonal_and_keeps_mode(gen: torch.Generator) -> None:
    net = nn.Sequential(nn.Linear(32, 32), nn.Dropout(0.5), nn.Tanh(), nn.Linear(32, 32)).train()
    x = torch.randn(1024, 32, generator=gen)
    records = init.lsuv_(net, x, tol=0.01, generator=gen)
    assert all(m.training for m in net.modules())
    w = net[0].weight.detach().double() / records[0].gain
    torch.testing.assert_close(w.T @ w, torch.eye(32, dtype=torch.float64), rtol=0, atol=1e-5)


def test_lsuv_rejects_bad_input() -> None:
    with pytest.raises(
        TypeError,
        match=r"The 'data' parameter of lsuv must be a torch.Tensor with at least 1 dimension\. Got None\.",
    ):
        init.init_module(_mlp(), "lsuv")
    with pytest.raises(
        ValueError, match=r"The 'tol' parameter of lsuv must be a float in \(0, 1\)\. Got 0\.0\."
    ):
        init.init_module(_mlp(), "lsuv(tol=0.0)", data=torch.randn(4, 16))


def test_lsuv_rejects_data_the_model_cannot_take() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'data' parameter of lsuv must be a batch the model accepts \(RuntimeError: mat1 and mat2 shapes cannot be multiplied.*\)\. Got a tensor of shape \(8, 5\)\.",
    ):
        init.init_module(_mlp(), "lsuv", data=torch.randn(8, 5))


def test_lsuv_keeps_zero_biases_and_says_so() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'bias' parameter of init_module must be 0 or None for 'lsuv', which zeroes biases \(Mishkin & Matas 2016\)\. Got 0\.5\.",
    ):
        init.init_module(_mlp(), "lsuv", data=torch.randn(8, 16), bias=0.5)


def test_lsuv_records_layers_the_data_never_reaches(gen: torch.Generator) -> None:
    class Skips(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 4)
            self.unused = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    records = init.init_module(
        Skips(), "lsuv", data=torch.randn(64, 4, generator=gen), generator=gen
    )
    assert [(r.name, r.scheme) for r in records] == [("used", "lsuv"), ("unused", "orthogonal")]


def test_plain_sequentials_are_read_without_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tracing patches nn.Module.__call__ for the whole process, which breaks forward
    # passes in other threads (the lab measures one model while training others).
    traced: list[nn.Module] = []
    real = torch.fx.symbolic_trace

    def spy(module: nn.Module) -> torch.fx.GraphModule:
        traced.append(module)
        return real(module)

    monkeypatch.setattr(torch.fx, "symbolic_trace", spy)
    plain = nn.Sequential(
        nn.Flatten(),
        nn.Linear(4, 8),
        nn.Tanh(),
        nn.Sequential(nn.Linear(8, 8), nn.ReLU()),
        nn.Linear(8, 2),
    )
    assert init.detect_activations(plain) == {
        "1": ("tanh", None),
        "3.0": ("relu", None),
        "4": ("linear", None),
    }
    assert traced == []

    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.fc(x))

    assert init.detect_activations(Functional()) == {"fc": ("relu", None)}
    assert len(traced) == 1
