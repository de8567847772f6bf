"""Propagation measurements: the classic effects, agreement with theory, and a model left
exactly as it was."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from weightlab.diagnose import diagnose, measure, recording, second_moment
from weightlab.init import init_module
from weightlab.models import cnn, mlp


def _net(
    scheme: str, gen: torch.Generator, activation: str, depth: int, width: int = 256
) -> nn.Module:
    net = mlp(width, [width] * depth, 10, activation)
    init_module(net, scheme, generator=gen)
    return net


def _run(scheme: str, gen: torch.Generator, activation: str, depth: int, width: int = 256):  # type: ignore[no-untyped-def]
    net = _net(scheme, gen, activation, depth, width)
    return measure(net, torch.randn(256, width, generator=gen), generator=gen)


# --- Must hold: deep tanh MLP, depth 50, width 256. ---------------------------------------


def test_tanh_seed_rule_keeps_variance_in_a_band_and_matches_theory(gen: torch.Generator) -> None:
    m = _run("xavier_fan_in", gen, "tanh", 50)
    post = [r.post_var for r in m.layers[:-1]]
    # Mean-field theory at σ_w² = 1 decays algebraically (q_l ≈ 1/(2l)), not geometrically:
    # 50 layers stay within about two decades, and the chained prediction follows it.
    assert max(post) / min(post) < 150
    for r, q in zip(m.layers, m.chain, strict=True):
        assert r.pre_var == pytest.approx(q, rel=0.35)


def test_tanh_tiny_init_collapses_and_huge_init_saturates(gen: torch.Generator) -> None:
    tiny = _run("normal(std=0.01)", gen, "tanh", 50)
    assert tiny.layers[10].pre_var / tiny.layers[0].pre_var < 1e-15  # 0.16² per layer
    huge = _run("normal(std=1.0)", gen, "tanh", 50)
    assert all((r.saturated_fraction or 0) > 0.5 for r in huge.layers[:-1])


# --- Must hold: deep ReLU MLP. -------------------------------------------------------------


def test_relu_he_keeps_variance_and_one_over_n_halves_it(gen: torch.Generator) -> None:
    depth, width = 30, 512
    he = _run("he_normal", gen, "relu", depth, width)
    he_vars = [r.pre_var for r in he.layers[:-1]]
    # Finite width makes log Var(z) a random walk with per-layer std ≈ √(5/width) ≈ 0.1;
    # over 30 layers that is ≈ 0.55 in log, so a factor 4 band is 2.5 of its std.
    assert max(he_vars) / min(he_vars) < 4
    lecun = _run("lecun_normal", gen, "relu", depth, width)
    measured = lecun.layers[depth - 1].pre_var / lecun.layers[0].pre_var
    predicted = 2.0 ** -(depth - 1)
    assert 1 / 3 < measured / predicted < 3
    # Each layer halves, as the ReLU factor ½ predicts.
    ratios = lecun.ratios("pre_var")[1:-1]
    assert sum(ratios) / len(ratios) == pytest.approx(0.5, abs=0.05)  # type: ignore[arg-type]


# --- Must hold: symmetry. ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["zeros", "constant(0.05)"])
def test_constant_init_is_symmetric(scheme: str, gen: torch.Generator) -> None:
    m = _run(scheme, gen, "tanh", 5, 64)
    assert all(r.distinct_units == 1 for r in m.layers)
    d = diagnose(_net(scheme, gen, "tanh", 5, 64), torch.randn(64, 64, generator=gen))
    assert "symmetry" in [f.kind for f in d.flags]


def test_random_init_has_all_units_distinct(gen: torch.Generator) -> None:
    m = _run("he_normal", gen, "relu", 4, 64)
    assert all(r.distinct_units == r.units for r in m.layers)


def test_identical_gradient_rows_are_detected(gen: torch.Generator) -> None:
    # Units 16..31 of layer "2" copy unit 0: identical outputs (16 distinct of 32).  Their
    # gradient rows differ unless the next layer also treats them alike; make it so.
    net = _net("xavier_normal", gen, "tanh", 3, 32)
    with torch.no_grad():
        net[2].weight[16:] = net[2].weight[0]
        net[2].bias.zero_()
    m = measure(net, torch.randn(128, 32, generator=gen), generator=gen)
    layer = next(r for r in m.layers if r.name == "2")
    assert layer.distinct_units == 16
    assert layer.distinct_grad_rows == 32
    with torch.no_grad():
        net[4].weight[:, 16:] = net[4].weight[:, :1]
    m = measure(net, torch.randn(128, 32, generator=gen), generator=gen)
    layer = next(r for r in m.layers if r.name == "2")
    assert layer.distinct_grad_rows == 16 and layer.nonzero_grad_rows == 32


# --- Must hold: predictions agree with measurements on wide layers. --------------------------


@pytest.mark.parametrize(
    ("activation", "scheme"),
    [("relu", "he_normal"), ("tanh", "xavier_normal"), ("linear", "lecun_normal")],
)
def test_one_step_prediction_agrees_on_wide_layers(
    activation: str, scheme: str, gen: torch.Generator
) -> None:
    width = 1024
    m = _run(scheme, gen, activation, 6, width)
    # Var(z) pooled over 1024 units estimates n·Var(W)·E[a²]; each unit's weight row is one
    # draw, so the estimate's relative std is about √(2/units) ≈ 0.044; allow 4 of them.
    tol = 4 * math.sqrt(2 / width)
    for r in m.layers[:-1]:
        assert r.pre_var == pytest.approx(r.predicted_pre_var, rel=tol)


def test_second_moment_is_exact_for_piecewise_linear_and_matches_sampling(
    gen: torch.Generator,
) -> None:
    assert second_moment("relu", 3.0) == 1.5
    assert second_moment("linear", 3.0) == 3.0
    assert second_moment("leaky_relu", 2.0, 0.5) == pytest.approx(1.25)
    z = torch.randn(2_000_000, generator=gen, dtype=torch.float64) * math.sqrt(0.7)
    for name, fn in [
        ("tanh", torch.tanh),
        ("gelu", torch.nn.functional.gelu),
        ("sigmoid", torch.sigmoid),
    ]:
        sample = fn(z).pow(2)
        se = float(sample.std()) / math.sqrt(z.numel())
        assert second_moment(name, 0.7) == pytest.approx(float(sample.mean()), abs=5 * se)


# --- The model is left as it was; hooks clean up. --------------------------------------------


def test_model_parameters_buffers_grads_and_modes_are_untouched(gen: torch.Generator) -> None:
    net = nn.Sequential(
        nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 4)
    )
    net[0].weight.grad = torch.ones_like(net[0].weight)
    net.eval()
    net[1].train()  # a mixed mode that must come back as it was
    state = {k: v.clone() for k, v in net.state_dict().items()}
    measure(net, torch.randn(64, 16, generator=gen), train=True, generator=gen)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert torch.equal(net[0].weight.grad, torch.ones_like(net[0].weight))
    assert net[1].training and not net[0].training and not net[3].training
    assert all(not m._forward_hooks and not m._backward_hooks for m in net.modules())


def test_hooks_are_removed_when_the_model_raises() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.a(x)
            raise RuntimeError("boom")

    net = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        measure(net, torch.randn(3, 4))
    assert not net.a._forward_hooks


def test_recording_removes_hooks_on_error() -> None:
    layer = nn.Linear(2, 2)
    with pytest.raises(RuntimeError), recording({"l": layer}):
        raise RuntimeError("boom")
    assert not layer._forward_hooks


def test_non_finite_activations_are_reported_not_raised(gen: torch.Generator) -> None:
    net = _net("normal(std=30.0)", gen, "relu", 40, 64)
    d = diagnose(net, torch.randn(32, 64, generator=gen), generator=gen)
    first_bad = next(r for r in d.measurement.layers if not r.finite)
    forward = [f for f in d.flags if f.kind == "exploding_forward"]
    assert forward and forward[0].layer == first_bad.name
    assert "inf/NaN" in forward[0].message
    assert d.to_json()["layers"][-1]["pre_var"] in ("inf", "nan")


# --- Where it works. --------------------------------------------------------------------------


def test_cnn_layers_use_receptive_field_fans(gen: torch.Generator) -> None:
    net = cnn(3, [16, 16], 10, "relu", kernel_size=3, dim=2)
    init_module(net, "he_normal", generator=gen)
    m = measure(net, torch.randn(32, 3, 12, 12, generator=gen), generator=gen)
    assert [r.fan_in for r in m.layers] == [27, 144, 16]
    assert [r.units for r in m.layers] == [16, 16, 10]
    assert m.layers[1].pre_var == pytest.approx(m.layers[1].predicted_pre_var, rel=0.5)


def test_each_layer_reports_its_activation_and_fractions(gen: torch.Generator) -> None:
    m = _run("he_normal", gen, "relu", 3, 64)
    assert [r.activation for r in m.layers] == ["relu", "relu", "relu", "linear"]
    assert all(r.dead_fraction is not None and r.saturated_fraction is None for r in m.layers[:-1])
    assert all(sum(r.post_hist.counts) == 256 * 64 for r in m.layers[:-1])
    assert m.layers[0].post_hist.low == 0.0  # ReLU output starts at 0


# --- Bad input. -------------------------------------------------------------------------------


def test_model_without_layers_is_rejected() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'model' parameter of measure must be a module with at least one Linear or Conv layer\. Got Sequential",
    ):
        measure(nn.Sequential(nn.ReLU()), torch.randn(4, 3))


def test_model_returning_a_tuple_is_rejected() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.a(x), x

    with pytest.raises(
        ValueError,
        match=r"The 'model' parameter of measure must be a module returning one tensor\. Got 'tuple'\.",
    ):
        measure(Pair(), torch.randn(4, 3))


def test_inputs_must_be_a_batch() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'x' parameter of measure must be a torch.Tensor with at least 2 dimensions\. Got a tensor of shape \(4,\)\.",
    ):
        measure(nn.Linear(4, 2), torch.randn(4))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "silu", "selu"])
@pytest.mark.parametrize("q", [0.01, 1.0, 50.0, 1e4])
def test_second_moment_keeps_its_digits_for_large_variances(name: str, q: float) -> None:
    # Against adaptive quadrature: a large q makes tanh a near-step, where a fixed
    # Gauss–Hermite rule lost 3% at q = 50 and 12% at q = 1e4.
    import torch
    from scipy import integrate

    from weightlab.activations import activate

    def integrand(z: float) -> float:
        value = float(activate(name, torch.tensor(math.sqrt(q) * z, dtype=torch.float64)))
        return value * value * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    cuts = [-10, -2, -0.5, -0.1, -0.01, 0, 0.01, 0.1, 0.5, 2, 10]
    want = sum(
        integrate.quad(integrand, a, b, limit=200, epsabs=1e-15, epsrel=1e-13)[0]
        for a, b in itertools.pairwise(cuts)
    )
    # Measured: within 1e-10 up to q = 50; tanh at q = 1e4 (a near-step) within 1.3e-8.
    assert second_moment(name, q) == pytest.approx(want, rel=1e-9 if q <= 50 else 3e-8)
