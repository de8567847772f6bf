"""Mean-field maps, fixed points, χ₁ and depth scales: published values, exact
invariants, and comparisons with independent computations."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate, optimize

from weightlab._validate import ParameterError
from weightlab.activations import ACTIVATION_FNS
from weightlab.diagnose import chain_prediction
from weightlab.theory import (
    correlation_map,
    critical_sigma_w2,
    layer_predictions,
    length_map,
    mean_field,
)
from weightlab.theory.gauss import expect_2d

# --- published values ----------------------------------------------------------------


def test_tanh_without_bias_is_critical_at_sigma_w2_1() -> None:
    # Poole et al. 2016: for σ_b = 0, q* = 0 and χ₁ = σ_w² tanh′(0)² = σ_w² up to 1, then
    # q* > 0 with χ₁ − 1 ≈ (σ_w² − 1)²/3: a tangency, so the crossing is found to ~1e-7
    # (χ₁ − 1 falls below the quadrature's 1e-14 within 2e-7 of it), not to rounding.
    assert critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)
    at = mean_field("tanh", 1.0, 0.0)
    assert (at.q_star, at.chi1, at.phase) == (0.0, 1.0, "critical")
    assert mean_field("tanh", 0.9, 0.0).phase == "ordered"
    assert mean_field("tanh", 1.1, 0.0).phase == "chaotic"


@pytest.mark.parametrize("sigma_b2", [0.0, 0.05, 0.5, 2.0])
def test_relu_is_critical_at_sigma_w2_2_whatever_the_bias(sigma_b2: float) -> None:
    # He et al. 2015: Var(W) = 2/fan_in keeps the signal; χ₁ = σ_w²/2 for every q.
    assert critical_sigma_w2("relu", sigma_b2) == pytest.approx(2.0, abs=1e-9)
    for sw2 in (0.5, 2.0, 3.0):
        assert mean_field("relu", sw2, sigma_b2).chi1 == pytest.approx(sw2 / 2, abs=1e-14)


def test_he_init_is_the_critical_point_of_relu_and_leaky_relu() -> None:
    from weightlab.theory import scheme_point

    he = scheme_point("he_normal", "relu")
    assert he.mean_field.phase == "critical"
    # He et al. 2015 for a leaky slope a: Var(W) = 2/((1 + a²) fan_in).
    a = 0.2
    assert critical_sigma_w2("leaky_relu", 0.1, slope=a) == pytest.approx(2 / (1 + a * a), abs=1e-9)


def test_selu_keeps_unit_length_at_lecun_init() -> None:
    # Klambauer et al. 2017 chose SELU's λ and α so that E[selu(z)²] = 1 for z ~ N(0, 1):
    # with σ_w² = 1 (LeCun normal) and no bias the length 1 is a fixed point.
    assert mean_field("selu", 1.0, 0.0).q_star == pytest.approx(1.0, abs=1e-9)


def test_relu_fixed_length_has_its_closed_form() -> None:
    # q = (σ_w²/2) q + σ_b²: q* = σ_b² / (1 − σ_w²/2) below 2, no fixed point above.
    for sw2, sb2 in ((1.0, 0.1), (1.5, 0.3), (1.99, 0.01)):
        assert mean_field("relu", sw2, sb2).q_star == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-10)
    assert mean_field("relu", 2.5, 0.1).q_star == math.inf
    assert mean_field("relu", 2.0, 0.1).q_star == math.inf
    assert mean_field("relu", 2.0, 0.0, q0=3.0).q_star == pytest.approx(3.0, rel=1e-12)


def _scipy_chi1(sw2: float, sb2: float) -> float:
    """χ₁ of tanh from scipy's adaptive quadrature and root finder: an independent path."""

    def gauss(f: object, q: float) -> float:
        def g(z: float) -> float:
            return float(f(math.sqrt(q) * z)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # type: ignore[operator]

        return float(integrate.quad(g, -12, 12, epsabs=1e-15, epsrel=1e-13, limit=200)[0])

    def length_gap(q: float) -> float:
        return sw2 * gauss(lambda x: math.tanh(x) ** 2, q) + sb2 - q

    q = optimize.brentq(length_gap, 1e-9, 10.0, xtol=1e-15)
    return sw2 * gauss(lambda x: (1 - math.tanh(x) ** 2) ** 2, q)


@pytest.mark.parametrize("sigma_b2", [0.05, 0.3])
def test_tanh_critical_line_matches_an_independent_computation(sigma_b2: float) -> None:
    crit = critical_sigma_w2("tanh", sigma_b2)
    reference = optimize.brentq(lambda s: _scipy_chi1(s, sigma_b2) - 1, 1.0, 4.0, xtol=1e-12)
    assert crit == pytest.approx(reference, abs=1e-8)


# --- depth scales ---------------------------------------------------------------------


@pytest.mark.parametrize(("activation", "sigma_b2"), [("tanh", 0.05), ("relu", 0.05)])
def test_xi_c_diverges_on_both_sides_of_the_critical_line(activation: str, sigma_b2: float) -> None:
    crit = critical_sigma_w2(activation, sigma_b2)
    distances = (1e-1, 1e-2, 1e-3, 1e-4)
    below = [mean_field(activation, crit - d, sigma_b2).xi_c for d in distances]
    assert below == sorted(below) and below[-1] > 1e4
    # χ₁ − 1 is linear in the distance, so ξ_c ≈ A / |σ_w² − σ_c²|: tenfold per decade.
    for near, far in zip(below[1:], below[:-1], strict=True):
        assert 8 < near / far < 12
    if activation == "tanh":  # ReLU above 2 has no fixed length (ξ_c = ∞ there)
        above = [mean_field(activation, crit + d, sigma_b2).xi_c for d in distances]
        assert above == sorted(above) and above[-1] > 1e4
    assert mean_field(activation, crit, sigma_b2).xi_c > 1e6


def test_xi_q_is_the_rate_at_which_the_length_map_converges() -> None:
    mf = mean_field("tanh", 1.5, 0.2)
    q, gaps = 1.0, []
    for _ in range(12):
        q = length_map("tanh", q, 1.5, 0.2)
        gaps.append(abs(q - mf.q_star))
    assert gaps[-1] / gaps[-2] == pytest.approx(math.exp(-1 / mf.xi_q), rel=1e-3)


@pytest.mark.parametrize(("sigma_w2", "start"), [(1.2, 0.3), (2.5, 0.9)])
def test_xi_c_is_the_rate_at_which_the_correlation_map_converges(
    sigma_w2: float, start: float
) -> None:
    # Ordered (c* = 1) and chaotic (c* < 1): the map at q* contracts by χ_c = e^{−1/ξ_c}.
    mf = mean_field("tanh", sigma_w2, 0.05)
    c, gaps = start, []
    for _ in range(60):
        c = correlation_map("tanh", c, mf.q_star, sigma_w2, 0.05)
        gaps.append(abs(c - mf.c_star))
    assert gaps[-1] / gaps[-2] == pytest.approx(math.exp(-1 / mf.xi_c), rel=2e-3)


# --- invariants ------------------------------------------------------------------------


def test_fixed_points_are_fixed() -> None:
    for activation, sw2, sb2 in (("tanh", 2.5, 0.05), ("tanh", 0.7, 0.3), ("gelu", 1.5, 0.1)):
        mf = mean_field(activation, sw2, sb2)
        assert length_map(activation, mf.q_star, sw2, sb2) == pytest.approx(mf.q_star, rel=1e-12)
        c_next = correlation_map(activation, mf.c_star, mf.q_star, sw2, sb2)
        assert c_next == pytest.approx(mf.c_star, abs=1e-10)
        assert correlation_map(activation, 1.0, mf.q_star, sw2, sb2) == pytest.approx(
            1.0, abs=1e-14
        )


def test_ordered_and_chaotic_phases_have_their_fixed_correlations() -> None:
    ordered = mean_field("tanh", 1.0, 0.2)
    assert ordered.phase == "ordered" and ordered.c_star == 1.0 and ordered.chi_c == ordered.chi1
    chaotic = mean_field("tanh", 3.0, 0.2)
    assert chaotic.phase == "chaotic" and 0 < chaotic.c_star < 1 and chaotic.chi_c < 1
    # χ_c is σ_w² E[φ′(u1)φ′(u2)] at (q*, c*) (Schoenholz et al. 2017, eq. 9).
    point = torch.tensor([[chaotic.q_star], [chaotic.c_star]], dtype=torch.float64)
    e = expect_2d("tanh", point[0], point[1])
    assert chaotic.chi_c == pytest.approx(3.0 * float(e["dphidphi"][0]), rel=1e-10)
    # Without bias an odd activation keeps uncorrelated inputs uncorrelated: c* = 0.
    assert mean_field("tanh", 3.0, 0.0).c_star == pytest.approx(0.0, abs=1e-9)


def test_layer_predictions_chain_the_maps_from_the_inputs() -> None:
    q, c = layer_predictions("tanh", 1.7, 0.1, 4, input_sq=2.0, input_corr=0.3)
    assert q[0] == pytest.approx(1.7 * 2.0 + 0.1) and c[0] == pytest.approx(
        (1.7 * 2.0 * 0.3 + 0.1) / q[0]
    )
    for k in range(1, 4):
        assert q[k] == pytest.approx(length_map("tanh", q[k - 1], 1.7, 0.1), rel=1e-12)
        assert c[k] == pytest.approx(
            correlation_map("tanh", c[k - 1], q[k - 1], 1.7, 0.1), rel=1e-12
        )


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_predicted_lengths_agree_with_the_diagnostics_chain(activation: str) -> None:
    # weightlab.diagnose.chain_prediction chains the same length map for `inspect`.
    width, sw2, sb2 = 64, 1.3, 0.02
    q, _ = layer_predictions(activation, sw2, sb2, 6, input_sq=0.8)
    chain = chain_prediction(
        0.8, [width] * 6, [sw2 / width] * 6, [sb2] * 6, [(activation, None)] * 6
    )
    assert q == pytest.approx(chain, rel=1e-9)


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(
        ParameterError,
        match=r"^The 'activation' parameter of mean_field must be one of 'linear', .*Got 'tanhh'\.$",
    ):
        mean_field("tanhh", 1.0)
    with pytest.raises(
        ParameterError,
        match=r"^The 'sigma_w2' parameter of mean_field must be a float in \[0, 1e\+06\]\. Got -1\.0\.$",
    ):
        mean_field("tanh", -1.0)
    with pytest.raises(
        ParameterError,
        match=r"'c' parameter of correlation_map must be a float in \[-1, 1\]\. Got 1\.5\.",
    ):
        correlation_map("tanh", 1.5, 1.0, 1.0)
    with pytest.raises(ParameterError, match=r"'depth' parameter of layer_predictions"):
        layer_predictions("tanh", 1.0, 0.0, 0)


@pytest.mark.parametrize("activation", list(ACTIVATION_FNS))
def test_every_registered_activation_has_consistent_mean_field_numbers(activation: str) -> None:
    for sw2, sb2 in ((0.5, 0.1), (1.5, 0.0), (3.0, 0.3)):
        mf = mean_field(activation, sw2, sb2)
        assert mf.chi1 >= 0 and 0.0 <= mf.c_star <= 1.0 and mf.xi_c >= 0 and mf.xi_q >= 0
        assert mf.phase == (
            "chaotic" if mf.chi1 > 1 + 1e-9 else "ordered" if mf.chi1 < 1 - 1e-9 else "critical"
        )
        if math.isfinite(mf.q_star):
            assert length_map(activation, mf.q_star, sw2, sb2) == pytest.approx(
                mf.q_star, rel=1e-10, abs=1e-12
            )
        if mf.phase == "chaotic" and math.isfinite(mf.q_star):
            assert mf.c_star < 1 and mf.chi_c < 1
