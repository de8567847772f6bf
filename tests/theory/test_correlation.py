"""Real networks beside the correlation map: the networks are drawn as stated, the input
pairs are exact, and the measured correlations follow the prediction within the sampling
error derived in weightlab.theory.correlation."""

from __future__ import annotations

import json
import math

import pytest
import torch

from weightlab._validate import ParameterError
from weightlab.theory import (
    correlation_trace,
    critical_sigma_w2,
    input_pair,
    pre_activations,
    random_mlp,
)


def test_random_mlp_draws_the_stated_variances(gen: torch.Generator) -> None:
    width, sw2, sb2 = 256, 1.7, 0.3
    net = random_mlp("tanh", sw2, sb2, 4, width, generator=gen)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4 and all(m.weight.dtype == torch.float64 for m in linears)
    w = torch.cat([m.weight.detach().flatten() for m in linears])
    b = torch.cat([m.bias.detach() for m in linears])
    # Sample variances of 262144 and 1024 normal draws: relative sd √(2/n), 5 of them.
    with torch.no_grad():
        assert float(w.var()) * width == pytest.approx(sw2, rel=5 * math.sqrt(2 / w.numel()))
        assert float(b.var()) == pytest.approx(sb2, rel=5 * math.sqrt(2 / b.numel()))
    orth = random_mlp("tanh", sw2, 0.0, 2, 64, weights="orthogonal", generator=gen)
    for m in (m for m in orth if isinstance(m, torch.nn.Linear)):
        torch.testing.assert_close(m.weight.T @ m.weight, sw2 * torch.eye(64, dtype=torch.float64))
        assert torch.all(m.bias == 0)


def test_input_pairs_have_the_exact_length_and_cosine(gen: torch.Generator) -> None:
    x = input_pair(128, -0.4, mean_square=2.5, pairs=3, generator=gen)
    assert x.shape == (6, 128)
    torch.testing.assert_close(x.pow(2).mean(-1), torch.full((6,), 2.5, dtype=torch.float64))
    cos = torch.cosine_similarity(x[0::2], x[1::2], dim=-1)
    torch.testing.assert_close(cos, torch.full((3,), -0.4, dtype=torch.float64))


def test_pre_activations_are_the_linear_outputs(gen: torch.Generator) -> None:
    net = random_mlp("relu", 2.0, 0.0, 3, 16, generator=gen)
    x = torch.randn(5, 16, generator=gen, dtype=torch.float64)
    hs = pre_activations(net, x)
    assert len(hs) == 3
    torch.testing.assert_close(hs[1], net[2](torch.relu(hs[0])))


def test_on_the_critical_line_the_measured_correlation_follows_the_map() -> None:
    """Must hold: tanh on the critical line (σ_b² = 0.05, σ_w² = 1.7610), width 512, 20
    layers, 8 networks × 8 pairs starting at cosine 0.2.

    Tolerance, derived in weightlab.theory.correlation: one pair's correlation at layer l
    scatters with s_l² = ρ′_l² s_{l−1}² + (1 − c_l²)²/N around the map, and the mean over
    8 independent networks with sd at most s_l/√8, so every layer's mean must be within
    4 s_l/√8 (0.092 at layer 20, against a predicted rise of 0.49).  The scatter itself
    must be the derived one: the root-mean-square of (pair − map)/s_l over all pairs and
    layers within [0.8, 1.25] (0.96 to 1.10 over seeds 0 to 5); a map off by a fraction
    of s_l would push it out."""
    sw2 = critical_sigma_w2("tanh", 0.05)
    t = correlation_trace(
        "tanh",
        sw2,
        0.05,
        depth=20,
        width=512,
        input_corr=0.2,
        networks=8,
        pairs=8,
        generator=torch.Generator().manual_seed(0),
    )
    assert t.predicted[-1] - t.predicted[0] > 0.4  # the map moves: the test can fail
    for measured, predicted, sd in zip(t.measured, t.predicted, t.pair_sd, strict=True):
        assert abs(measured - predicted) <= 4 * sd / math.sqrt(t.networks)
    ratio = math.sqrt(
        sum((r / s) ** 2 for r, s in zip(t.rms_error, t.pair_sd, strict=True)) / t.depth
    )
    assert 0.8 <= ratio <= 1.25


def test_in_the_ordered_phase_the_correlation_converges_where_predicted() -> None:
    t = correlation_trace(
        "tanh",
        0.8,
        0.05,
        depth=30,
        width=512,
        input_corr=0.2,
        networks=4,
        pairs=4,
        tolerance=0.01,
        generator=torch.Generator().manual_seed(1),
    )
    assert t.c_star == 1.0 and math.isfinite(t.xi_c)
    assert t.converged_predicted is not None and t.converged_measured is not None
    assert abs(t.converged_measured - t.converged_predicted) <= 2
    # The asymptotic law e^{−l/ξ_c} from the first layer's gap gives a depth of the same
    # size; the first layers, where the length still settles, make the true one longer.
    assert t.converged_xi <= t.converged_predicted


def test_first_layer_scatter_is_that_of_a_sample_correlation() -> None:
    t = correlation_trace("relu", 2.0, depth=2, width=100, input_corr=0.6, networks=1, pairs=1)
    assert t.pair_sd[0] == pytest.approx((1 - 0.36) / 10)


def test_trace_is_plain_data() -> None:
    t = correlation_trace("tanh", 1.0, depth=3, width=16, networks=2, pairs=2)
    payload = json.loads(json.dumps(t.to_json()))
    assert len(payload["measured"]) == 3 and payload["activation"] == "tanh"


def test_correlation_trace_validates_its_input() -> None:
    with pytest.raises(
        ParameterError,
        match=r"^The 'width' parameter of correlation_trace must be an int in \[2, 4096\]\. Got 1\.$",
    ):
        correlation_trace("tanh", 1.0, width=1)
    with pytest.raises(ParameterError, match=r"'input_corr' parameter of correlation_trace"):
        correlation_trace("tanh", 1.0, input_corr=2.0)
