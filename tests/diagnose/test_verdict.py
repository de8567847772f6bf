"""Flags, recommendations and the compare mode."""

from __future__ import annotations

import pytest
import torch

from weightlab.diagnose import COMPARE_SCHEMES, compare, diagnose
from weightlab.init import init_module
from weightlab.models import mlp


def _kinds(d) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.kind for f in d.flags}


@pytest.fixture(scope="module")
def tanh_results() -> dict:  # type: ignore[type-arg]
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(256, 128, generator=gen)
    return compare(lambda: mlp(128, [128] * 20, 10, "tanh"), x, generator=gen)


@pytest.fixture(scope="module")
def relu_results() -> dict:  # type: ignore[type-arg]
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(256, 128, generator=gen)
    return compare(lambda: mlp(128, [128] * 20, 10, "relu"), x, generator=gen)


def test_compare_runs_the_classic_schemes(tanh_results: dict) -> None:  # type: ignore[type-arg]
    assert list(tanh_results) == list(COMPARE_SCHEMES)


def test_classic_tanh_flags(tanh_results: dict) -> None:  # type: ignore[type-arg]
    assert {"symmetry", "vanishing_gradient"} <= _kinds(tanh_results["zeros"])
    assert {"vanishing_forward", "vanishing_gradient"} <= _kinds(tanh_results["normal(std=0.01)"])
    assert {"saturation", "exploding_gradient"} <= _kinds(tanh_results["normal(std=1.0)"])
    for good in ("xavier_fan_in", "xavier_normal", "orthogonal", "lsuv"):
        assert _kinds(tanh_results[good]) == set(), good


def test_classic_relu_flags(relu_results: dict) -> None:  # type: ignore[type-arg]
    assert _kinds(relu_results["he_normal"]) == set()
    assert _kinds(relu_results["lsuv"]) == set()
    # 1/n in a ReLU net halves Var(z) per layer: 20 layers lose 2^-19 ≈ 5.7 decades.
    assert "vanishing_forward" in _kinds(relu_results["xavier_fan_in"])
    assert "exploding_forward" in _kinds(relu_results["normal(std=1.0)"])
    assert {"dead_units", "symmetry"} <= _kinds(relu_results["zeros"])


def test_recommendations_follow_the_activation(tanh_results: dict, relu_results: dict) -> None:  # type: ignore[type-arg]
    tanh = tanh_results["zeros"].recommendation
    assert tanh.scheme == "xavier_normal" and tanh.gain_from_activation and "Glorot" in tanh.reason
    relu = relu_results["zeros"].recommendation
    assert (
        relu.scheme == "he_normal" and not relu.gain_from_activation and "He et al." in relu.reason
    )


def test_mixed_activations_recommend_per_layer_gains(gen: torch.Generator) -> None:
    net = torch.nn.Sequential(
        torch.nn.Linear(8, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 2),
    )
    init_module(net, "he_normal", generator=gen)
    rec = diagnose(net, torch.randn(32, 8, generator=gen)).recommendation
    assert rec.scheme == "he_normal" and rec.gain_from_activation
    assert rec.reason.startswith("Layers use relu, tanh")


def test_gelu_recommendation_names_its_gain(gen: torch.Generator) -> None:
    net = mlp(8, [8, 8], 2, "gelu")
    init_module(net, "he_normal", generator=gen)
    rec = diagnose(net, torch.randn(32, 8, generator=gen)).recommendation
    assert rec.scheme == "he_normal(nonlinearity='gelu')"


def test_json_holds_every_number(relu_results: dict) -> None:  # type: ignore[type-arg]
    payload = relu_results["he_normal"].to_json()
    layer = payload["layers"][1]
    for key in (
        "pre_var",
        "post_var",
        "predicted_pre_var",
        "predicted_pre_var_chain",
        "pre_var_ratio",
        "weight_grad_var",
        "output_grad_var",
        "dead_fraction",
        "distinct_units",
        "pre_hist",
    ):
        assert key in layer
    assert set(payload["end_to_end_gain"]) == {"measured", "predicted"}
    assert payload["recommendation"]["scheme"] == "he_normal"


def test_compare_rejects_a_bad_scheme_before_any_work() -> None:
    with pytest.raises(ValueError, match=r"The 'scheme' parameter of resolve must be one of"):
        compare(lambda: mlp(4, [4], 2), torch.randn(8, 4), ["he_normal", "kaiming"])


def test_steady_relu_shrinkage_is_flagged_before_it_crosses_three_decades(
    gen: torch.Generator,
) -> None:
    net = mlp(256, [256] * 8, 10, "relu")
    init_module(net, "xavier_normal", generator=gen)
    d = diagnose(net, torch.randn(256, 256, generator=gen), generator=gen)
    flag = next(f for f in d.flags if f.kind == "vanishing_forward")
    assert "per layer on average" in flag.message
    factor = float(flag.message.split("×")[1].split(" ")[0])
    assert 0.4 < factor < 0.6  # He et al.: ×½ per ReLU layer under a 1/n-like variance


def test_tanh_decay_toward_its_fixed_point_is_not_extrapolated(gen: torch.Generator) -> None:
    net = mlp(256, [256] * 8, 10, "tanh")
    init_module(net, "xavier_fan_in", generator=gen)
    assert diagnose(net, torch.randn(256, 256, generator=gen), generator=gen).flags == []


# --- No signal is not an explosion. -----------------------------------------------------------


def _trained_zero_sigmoid(gen: torch.Generator, steps: int):  # type: ignore[no-untyped-def]
    """A zero-initialized 8-layer sigmoid MLP after a few SGD steps: the gradient has
    reached the last layers only, so layer 1's Var(z) is still exactly 0 while the output's
    is not (its units differ, its input does not)."""
    net = mlp(2, [16] * 8, 2, "sigmoid")
    init_module(net, "zeros", generator=gen)
    x = torch.randn(64, 2, generator=gen)
    y = (x[:, 0] * x[:, 1] > 0).long()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net, x


def test_zero_variance_is_no_signal_never_exploding(gen: torch.Generator) -> None:
    net, x = _trained_zero_sigmoid(gen, 4)
    d = diagnose(net, x, generator=gen)
    layers = d.measurement.layers
    assert layers[0].pre_var == 0 and layers[-1].pre_var > 0  # "grows infinitely"
    kinds = _kinds(d)
    assert "exploding_forward" not in kinds and "vanishing_forward" not in kinds
    symmetry = [f for f in d.flags if f.kind == "symmetry"]
    assert len(symmetry) == 1 and symmetry[0].layer == layers[0].name
    assert symmetry[0].message.startswith(f"Layer {layers[0].name} has 1 distinct unit(s)")
    assert f"No signal: Var(z) is exactly 0 at layer {layers[0].name}" in symmetry[0].message


def test_zero_init_at_the_start_is_no_signal_and_symmetric(gen: torch.Generator) -> None:
    net = mlp(8, [8, 8, 8], 2, "tanh")
    init_module(net, "zeros", generator=gen)
    d = diagnose(net, torch.randn(32, 8, generator=gen), generator=gen)
    assert [f.kind for f in d.flags] == ["vanishing_gradient", "symmetry"]
    assert "No signal" in d.flags[1].message


def test_flags_name_layers_as_the_caller_numbers_them(gen: torch.Generator) -> None:
    from weightlab.diagnose import flags, measure

    net = mlp(16, [64] * 6, 2, "tanh")
    init_module(net, "normal(std=1.0)", generator=gen)
    m = measure(net, torch.randn(64, 16, generator=gen), generator=gen)
    default = flags(m)
    numbered = flags(m, names=[str(i + 1) for i in range(len(m.layers))])
    assert [f.kind for f in default] == [f.kind for f in numbered]
    module_names = [r.name for r in m.layers]  # "0", "2", ..., "12"
    for plain, renamed in zip(default, numbered, strict=True):
        assert renamed.layer == str(module_names.index(plain.layer) + 1)
        assert f"layer {renamed.layer}" in renamed.message
    with pytest.raises(ValueError):
        flags(m, names=["1"])
