"""Dropout: exact mask invariants, statistics with fixed seeds, MC dropout, validation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from weightlab._validate import check_generator, same_device
from weightlab.regularize.dropout import (
    Dropout,
    dropout,
    keep_bits,
    keep_mask,
    keep_threshold,
    mc_dropout,
    mc_predict,
)

from .conftest import DEVICES, msg


def _seeded(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


# --- exact invariants ------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_inverted_values(gen: torch.Generator, device: str) -> None:
    x = torch.randn(1000, generator=gen).to(device)
    p = 0.3
    out = dropout(x, p, generator=_seeded(1, device))
    dropped = out == 0
    assert bool((dropped | (out == x / (1 - p))).all())
    assert 0 < int(dropped.sum()) < 1000
    assert out.device == x.device and out.dtype == x.dtype


def test_classic_values(gen: torch.Generator) -> None:
    x = torch.randn(1000, generator=gen)
    out = dropout(x, 0.3, mode="classic", generator=_seeded(1))
    dropped = out == 0
    assert bool((dropped | (out == x)).all())
    assert 0 < int(dropped.sum()) < 1000


def test_modes_share_the_mask(gen: torch.Generator) -> None:
    x = torch.randn(200, generator=gen)
    inverted = dropout(x, 0.4, generator=_seeded(3))
    classic = dropout(x, 0.4, mode="classic", generator=_seeded(3))
    assert torch.equal(inverted == 0, classic == 0)


def test_inference_rules(gen: torch.Generator) -> None:
    x = torch.randn(50, generator=gen)
    assert torch.equal(dropout(x, 0.3, training=False), x)
    assert torch.equal(dropout(x, 0.3, mode="classic", training=False), x * 0.7)


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_p_zero_is_identity(gen: torch.Generator, mode: str) -> None:
    x = torch.randn(50, generator=gen)
    assert torch.equal(dropout(x, 0.0, mode=mode, generator=gen), x)  # type: ignore[arg-type]
    assert torch.equal(dropout(x, 0.0, mode=mode, training=False), x)  # type: ignore[arg-type]


def test_same_seed_same_mask_other_seed_other_mask() -> None:
    x = torch.ones(500)
    a = dropout(x, 0.5, generator=_seeded(7))
    b = dropout(x, 0.5, generator=_seeded(7))
    c = dropout(x, 0.5, generator=_seeded(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_mask_does_not_depend_on_dtype() -> None:
    a = dropout(torch.ones(300), 0.5, generator=_seeded(5))
    b = dropout(torch.ones(300, dtype=torch.float64), 0.5, generator=_seeded(5))
    assert torch.equal(a == 0, b == 0)


def test_gradient_is_scaled_mask(gen: torch.Generator) -> None:
    x = torch.randn(100, generator=gen, requires_grad=True)
    out = dropout(x, 0.25, generator=_seeded(2))
    out.sum().backward()
    assert x.grad is not None
    expected = (out != 0).to(x.dtype) / 0.75
    assert torch.equal(x.grad, expected)


def test_keep_threshold_rounds_p_to_sixteen_bits() -> None:
    assert keep_threshold(0.0) == -32768  # every unit kept
    assert keep_threshold(0.5) == 0
    assert keep_threshold(0.25) == -16384
    assert keep_threshold(0.1) == round(6553.6) - 32768
    assert keep_threshold(1 - 1e-9) == 32767  # one value in 65536 still keeps


def test_mask_is_its_bits_against_the_threshold() -> None:
    x = torch.empty(7, 9)
    mask = keep_mask(x, 0.3, _seeded(4))
    bits = keep_bits(63, _seeded(4), torch.device("cpu"))
    assert bits.dtype == torch.int16 and bits.shape == (63,)
    assert torch.equal(mask, (bits >= keep_threshold(0.3)).view(7, 9))


@pytest.mark.parametrize("first", [4, 8, 100])
def test_bits_drawn_in_two_parts_are_the_bits_drawn_at_once(first: int) -> None:
    # What the stacked engine relies on to draw a step's masks in one call.
    gen = _seeded(9)
    parts = torch.cat(
        [keep_bits(first, gen, torch.device("cpu")), keep_bits(37, gen, torch.device("cpu"))]
    )
    whole = keep_bits(first + 37, _seeded(9), torch.device("cpu"))
    assert torch.equal(parts, whole)


def test_every_sixteen_bit_lane_is_uniform() -> None:
    # Each of the four 16-bit numbers read from a 64-bit draw: mean −1/2, the sign
    # bit (the top lane's too) set half the time. Four standard errors.
    n = 400_000
    bits = keep_bits(n, _seeded(13), torch.device("cpu")).view(-1, 4).double()
    sd = 65536 / math.sqrt(12)
    for lane in bits.T:
        assert abs(float(lane.mean()) + 0.5) < 4 * sd / math.sqrt(n / 4)
        assert abs(float((lane < 0).double().mean()) - 0.5) < 4 * 0.5 / math.sqrt(n / 4)
    assert int(bits.min()) == -32768 and int(bits.max()) == 32767


# --- statistics (fixed seed, tolerance of about four standard errors) ------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keep_fraction_and_mean(p: float) -> None:
    n = 200_000
    out = dropout(torch.ones(n), p, generator=_seeded(11))
    keep = float((out != 0).float().mean())
    assert abs(keep - (1 - p)) < 4 * math.sqrt(p * (1 - p) / n)
    # Each output is 0 or 1/(1−p): mean 1, standard deviation sqrt(p/(1−p)).
    assert abs(float(out.mean()) - 1.0) < 4 * math.sqrt(p / (1 - p) / n)


def test_classic_training_mean_matches_inference() -> None:
    n, p = 200_000, 0.4
    train = dropout(torch.full((n,), 2.0), p, mode="classic", generator=_seeded(12))
    infer = dropout(torch.full((n,), 2.0), p, mode="classic", training=False)
    assert abs(float(train.mean()) - float(infer[0])) < 4 * 2.0 * math.sqrt(p * (1 - p) / n)


# --- module ----------------------------------------------------------------------------------


def test_module_follows_training_flag(gen: torch.Generator) -> None:
    x = torch.randn(400, generator=gen)
    layer = Dropout(0.5, mode="classic", generator=_seeded(4))
    assert torch.equal(layer(x), dropout(x, 0.5, mode="classic", generator=_seeded(4)))
    layer.eval()
    assert torch.equal(layer(x), x * 0.5)
    assert repr(layer) == "Dropout(p=0.5, mode='classic')"


def test_module_default_matches_torch_inference(gen: torch.Generator) -> None:
    x = torch.randn(20, generator=gen)
    ours, theirs = Dropout().eval(), nn.Dropout().eval()
    assert torch.equal(ours(x), theirs(x))
    assert ours.p == 0.5 and ours.mode == "inverted"


# --- Monte-Carlo dropout ---------------------------------------------------------------------


def _net() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 8),
        nn.BatchNorm1d(8),
        nn.Dropout(0.2),
        nn.ReLU(),
        nn.Dropout1d(0.1),
        Dropout(0.3, generator=_seeded(9)),
        nn.AlphaDropout(0.1),
        nn.Linear(8, 1),
    )


def test_mc_dropout_switches_only_dropout_and_restores() -> None:
    net = _net().eval()
    net[7].train()  # a mixed starting state must come back exactly
    before = [m.training for m in net.modules()]
    with mc_dropout(net) as same:
        assert same is net
        assert [layer.training for layer in net] == [
            False,
            False,
            True,
            False,
            True,
            True,
            True,
            True,
        ]
        assert not net.training
    assert [m.training for m in net.modules()] == before


def test_mc_dropout_restores_on_error() -> None:
    net = _net().eval()
    with pytest.raises(RuntimeError, match="boom"), mc_dropout(net):
        assert net[2].training
        raise RuntimeError("boom")
    assert not any(m.training for m in net.modules())


def test_mc_predict_spread_and_modes(gen: torch.Generator) -> None:
    net = _net().eval()
    x = torch.randn(16, 3, generator=gen)
    mean, std = mc_predict(net, x, samples=10)
    assert mean.shape == std.shape == (16, 1)
    assert float(std.max()) > 0
    assert not any(m.training for m in net.modules())


def test_mc_predict_without_dropout_has_zero_std(gen: torch.Generator) -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).eval()
    x = torch.randn(5, 3, generator=gen)
    mean, std = mc_predict(net, x, samples=7)
    assert torch.equal(std, torch.zeros_like(std))
    with torch.no_grad():
        torch.testing.assert_close(mean, net(x))


def test_mc_predict_reproducible_with_generators(gen: torch.Generator) -> None:
    x = torch.randn(6, 4, generator=gen)
    runs = [mc_predict(Dropout(0.5, generator=_seeded(21)), x, samples=5) for _ in range(2)]
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])


def test_mc_predict_statistics() -> None:
    # Dropout alone on ones: each sample is 0 or 2, so mean ≈ 1 and std ≈ 1 per element.
    layer = Dropout(0.5, generator=_seeded(13)).eval()
    mean, std = mc_predict(layer, torch.ones(2000), samples=200)
    assert abs(float(mean.mean()) - 1.0) < 4 * 1.0 / math.sqrt(2000 * 200)
    # With T samples each std estimate is about 1 − 2d², d = kept fraction − 1/2, so its
    # standard deviation is about √2/(2T) = 0.0035; averaged over 2000 elements, 8e-5.
    assert abs(float(std.mean()) - 1.0) < 4 * 0.0035 / math.sqrt(2000)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "shown"), [(1.0, "1.0"), (-0.1, "-0.1"), (float("nan"), "nan")])
def test_bad_p(bad: float, shown: str) -> None:
    text = f"The 'p' parameter of dropout must be a float in [0, 1). Got {shown}."
    with pytest.raises(ValueError, match=msg(text)):
        dropout(torch.ones(3), bad)
    text = f"The 'p' parameter of Dropout must be a float in [0, 1). Got {shown}."
    with pytest.raises(ValueError, match=msg(text)):
        Dropout(bad)


def test_p_wrong_type() -> None:
    text = "The 'p' parameter of dropout must be a float in [0, 1). Got '0.5'."
    with pytest.raises(TypeError, match=msg(text)):
        dropout(torch.ones(3), "0.5")  # type: ignore[arg-type]


def test_unknown_mode_lists_options() -> None:
    text = "The 'mode' parameter of dropout must be one of 'inverted', 'classic'. Got 'standard'."
    with pytest.raises(ValueError, match=msg(text)):
        dropout(torch.ones(3), 0.5, mode="standard")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=msg("The 'mode' parameter of Dropout must be one of")):
        Dropout(0.5, mode="scaled")  # type: ignore[arg-type]


def test_bad_tensor_training_generator() -> None:
    text = "The 'x' parameter of dropout must be a floating-point torch.Tensor."
    with pytest.raises(
        ValueError, match=msg(text + " Got a tensor of shape (3,) and dtype torch.int64.")
    ):
        dropout(torch.ones(3, dtype=torch.long), 0.5)
    with pytest.raises(TypeError, match=msg(text + " Got [1.0, 2.0].")):
        dropout([1.0, 2.0], 0.5)  # type: ignore[arg-type]
    text = "The 'training' parameter of dropout must be a bool. Got 1."
    with pytest.raises(TypeError, match=msg(text)):
        dropout(torch.ones(3), 0.5, training=1)  # type: ignore[arg-type]
    text = "The 'generator' parameter of dropout must be a torch.Generator or None. Got 0."
    with pytest.raises(TypeError, match=msg(text)):
        dropout(torch.ones(3), 0.5, generator=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=msg("The 'generator' parameter of Dropout must be")):
        Dropout(0.5, generator=0)  # type: ignore[arg-type]


def test_generator_on_other_device() -> None:
    text = (
        "The 'generator' parameter of dropout must be a torch.Generator on meta (the tensor's device). "
        "Got a generator on cpu."
    )
    with pytest.raises(ValueError, match=msg(text)):
        dropout(torch.ones(3, device="meta"), 0.5, generator=_seeded(0))


def test_module_checks_generator_device() -> None:
    # Without the check the meta tensor silently ignores the CPU generator.
    layer = Dropout(0.5, generator=_seeded(0))
    text = (
        "The 'generator' parameter of Dropout must be a torch.Generator on meta (the tensor's device). "
        "Got a generator on cpu."
    )
    for mode in (layer.train(), layer.eval()):  # as dropout() checks whatever `training`
        with pytest.raises(ValueError, match=msg(text)):
            mode(torch.ones(3, device="meta"))


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (torch.device("cpu"), torch.device("cpu"), True),
        (torch.device("cpu"), torch.device("meta"), False),
        (torch.device("cuda", 0), torch.device("cuda", 0), True),
        (torch.device("cuda", 0), torch.device("cuda", 1), False),
        (torch.device("cuda", 1), torch.device("cpu"), False),
    ],
)
def test_same_device_compares_index(a: torch.device, b: torch.device, same: bool) -> None:
    assert same_device(a, b) is same
    assert same_device(b, a) is same


def test_generator_check_rejects_other_cuda_index() -> None:
    # Two GPUs are not needed to check the rule: the check reads only `.device`.
    generator = SimpleNamespace(device=torch.device("cuda", 1))
    x = SimpleNamespace(device=torch.device("cuda", 0))
    text = "The 'generator' parameter of dropout must be a torch.Generator on cuda:0 (the tensor's device)."
    with pytest.raises(ValueError, match=msg(text)):
        check_generator("dropout", generator, x)  # type: ignore[arg-type]
    check_generator("dropout", SimpleNamespace(device=torch.device("cuda", 0)), x)  # type: ignore[arg-type]


def test_mc_validation() -> None:
    net = nn.Linear(2, 2)
    text = "The 'samples' parameter of mc_predict must be an int >= 2. Got 1."
    with pytest.raises(ValueError, match=msg(text)):
        mc_predict(net, torch.ones(1, 2), samples=1)
    text = "The 'samples' parameter of mc_predict must be an int >= 2. Got 2.5."
    with pytest.raises(TypeError, match=msg(text)):
        mc_predict(net, torch.ones(1, 2), samples=2.5)  # type: ignore[arg-type]
    text = "The 'model' parameter of mc_predict must be a torch.nn.Module. Got 'net'."
    with pytest.raises(TypeError, match=msg(text)):
        mc_predict("net", torch.ones(1, 2), samples=3)  # type: ignore[arg-type]
    text = "The 'x' parameter of mc_predict must be a torch.Tensor. Got [1.0]."
    with pytest.raises(TypeError, match=msg(text)):
        mc_predict(net, [1.0], samples=3)  # type: ignore[arg-type]
    text = "The 'model' parameter of mc_dropout must be a torch.nn.Module. Got None."
    with pytest.raises(TypeError, match=msg(text)), mc_dropout(None):  # type: ignore[arg-type]
        pass


def test_mc_predict_needs_tensor_output() -> None:
    class Pair(nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return x, x

    text = (
        "The 'model' parameter of mc_predict must be a module returning one tensor. "
        "Got a module returning tuple."
    )
    with pytest.raises(TypeError, match=msg(text)):
        mc_predict(Pair(), torch.ones(2), samples=2)
