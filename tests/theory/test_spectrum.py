"""Jacobian spectra of real networks beside free probability (Pennington, Schoenholz &
Ganguli 2017): exact for linear networks, the Fuss–Catalan moments for Gaussian ones, and
the dynamical-isometry story for tanh and ReLU."""

from __future__ import annotations

import math

import pytest
import torch

from weightlab._validate import ParameterError
from weightlab.theory import (
    SpectrumStudy,
    critical_sigma_w2,
    free_moments,
    fuss_catalan,
    jacobian_singular_values,
    jacobian_spectra,
    random_mlp,
)
from weightlab.theory.spectrum import spectrum_row

NEAR_CRITICAL_B2 = 1e-4  # tanh on the critical line with q* = 0.046: D ≈ I


def test_orthogonal_linear_networks_are_exact_isometries(gen: torch.Generator) -> None:
    net = random_mlp("linear", 1.0, 0.0, 32, 64, weights="orthogonal", generator=gen)
    s = jacobian_singular_values(net, torch.randn(2, 64, generator=gen, dtype=torch.float64))
    torch.testing.assert_close(s, torch.ones_like(s), rtol=0, atol=1e-12)


def test_the_jacobian_is_the_product_of_the_layer_jacobians(gen: torch.Generator) -> None:
    net = random_mlp("tanh", 1.5, 0.1, 5, 24, generator=gen)
    x = torch.randn(24, generator=gen, dtype=torch.float64)
    jac, h = torch.eye(24, dtype=torch.float64), x
    with torch.no_grad():
        for layer in (m for m in net if isinstance(m, torch.nn.Linear)):
            h = torch.tanh(layer(h))
            jac = torch.diag(1 - h**2) @ layer.weight @ jac
    expected = torch.linalg.svdvals(jac)
    torch.testing.assert_close(
        jacobian_singular_values(net, x[None])[0], expected, rtol=1e-12, atol=1e-14
    )


def test_gaussian_linear_networks_have_the_fuss_catalan_moments() -> None:
    """Squared singular values of a product of L = 8 Gaussian 256 × 256 matrices: mean 1
    and second moment E[m₂], exact at N = 256 by the Wick recursion (9.145; the N → ∞
    Fuss–Catalan value is L + 1 = 9).  16 networks; tolerance 4 standard errors of the
    mean over networks (0.035 and 0.9 here)."""
    depth, width, runs = 8, 256, 16
    gen = torch.Generator().manual_seed(3)
    m1, m2 = [], []
    for _ in range(runs):
        net = random_mlp("linear", 1.0, 0.0, depth, width, generator=gen)
        x = jacobian_singular_values(net, torch.zeros(1, width, dtype=torch.float64))[0] ** 2
        m1.append(float(x.mean()))
        m2.append(float((x**2).mean()))
    fc = fuss_catalan(depth, width)
    for values, expected in ((m1, fc["mean_sq"]), (m2, fc["second_sq"])):
        mean = sum(values) / runs
        se = math.sqrt(sum((v - mean) ** 2 for v in values) / (runs - 1) / runs)
        assert abs(mean - expected) <= 4 * se
    assert fuss_catalan(depth)["second_sq"] == depth + 1
    assert fuss_catalan(1, width)["second_sq"] == pytest.approx(2 + 1 / width)  # Wishart


def test_gaussian_linear_log_spectrum_has_the_fuss_catalan_log_moments() -> None:
    # E[ln σ] = −L/2 and sd(ln σ) = ½√(L² + Lπ²/3) as N → ∞; at N = 512 the smallest
    # singular values (near 1/N) sit 0.5% off these: tolerance 3%.
    depth, width = 4, 512
    net = random_mlp("linear", 1.0, 0.0, depth, width, generator=torch.Generator().manual_seed(4))
    logs = jacobian_singular_values(net, torch.zeros(1, width, dtype=torch.float64))[0].log()
    fc = fuss_catalan(depth)
    assert float(logs.mean()) == pytest.approx(fc["mean_log"], rel=0.03)
    assert float(logs.std(correction=0)) == pytest.approx(fc["std_log"], rel=0.03)


def test_free_moments_of_linear_networks() -> None:
    assert free_moments("linear", 1.0, 0.0, 16, "orthogonal") == (1.0, 0.0)
    assert free_moments("linear", 1.0, 0.0, 16, "gaussian") == pytest.approx((1.0, 16.0))
    # ReLU: D² is 0 or 1 with μ₂/μ₁² = 2, so var/mean² = L (orthogonal) or 2L (Gaussian).
    assert free_moments("relu", 2.0, 0.0, 10, "orthogonal") == pytest.approx((1.0, 10.0))
    assert free_moments("relu", 2.0, 0.0, 10, "gaussian") == pytest.approx((1.0, 20.0))


@pytest.fixture(scope="module")
def studies() -> dict[str, SpectrumStudy]:
    """Depths 4, 16, 64 at width 256 on 2 inputs: tanh near criticality and ReLU at He."""
    tanh_w2 = critical_sigma_w2("tanh", NEAR_CRITICAL_B2)
    return {
        "tanh": jacobian_spectra(
            "tanh", tanh_w2, NEAR_CRITICAL_B2, inputs=2, generator=torch.Generator().manual_seed(0)
        ),
        "relu": jacobian_spectra(
            "relu", 2.0, 0.0, inputs=2, generator=torch.Generator().manual_seed(0)
        ),
    }


def test_orthogonal_tanh_stays_concentrated_where_gaussian_spreads(
    studies: dict[str, SpectrumStudy],
) -> None:
    """Must hold: at depth 64, width 256, tanh near criticality, the std of ln σ under
    orthogonal weights is at least 4× smaller than under Gaussian ones (0.61 to 0.63
    against 6.4 over seeds 0 to 3; the Gaussian value is a lower bound, half of its
    singular values lying below float64's reach, so the true ratio is larger still)."""
    s = studies["tanh"]
    orthogonal, gaussian = s.row("orthogonal", 64), s.row("gaussian", 64)
    assert orthogonal.unresolved == 0
    assert 4 * orthogonal.std_log <= gaussian.std_log
    # Dynamical isometry: the mean squared singular value stays near χ₁^L = 1 (0.87 to
    # 1.11 over seeds 0 to 3).
    assert orthogonal.mean_sq == pytest.approx(1.0, rel=0.2)


def test_relu_spreads_with_depth_whatever_the_weights(studies: dict[str, SpectrumStudy]) -> None:
    """Must hold: ReLU's std of ln σ grows with depth under both kinds of weights (1.2 to
    1.9, 3.8 to 5.3, 6.2 to 6.6 at depths 4, 16, 64 over seeds 0 to 3), as free
    probability predicts for the variance of σ²."""
    s = studies["relu"]
    for kind in ("orthogonal", "gaussian"):
        spread = [s.row(kind, d).std_log for d in (4, 16, 64)]
        assert spread[0] + 1 < spread[1] < spread[2], kind
        predicted = [s.row(kind, d).predicted_var_sq for d in (4, 16, 64)]
        assert predicted == sorted(predicted)


def test_the_spread_of_sigma_squared_matches_free_probability(
    studies: dict[str, SpectrumStudy],
) -> None:
    """var σ² / (mean σ²)² = L (μ₂/μ₁² − 1 + s), s = 1 for Gaussian and 0 for orthogonal
    weights (Pennington et al. 2017), at depths 16 and 64.  Measured over predicted was
    0.93 to 1.21 for tanh and 0.62 to 1.34 for ReLU (whose σ² are heavier-tailed) over
    seeds 0 to 4 with two inputs: tolerances 25% and 50%."""
    for name, tolerance in (("tanh", 0.25), ("relu", 0.5)):
        s = studies[name]
        for kind in ("orthogonal", "gaussian"):
            for depth in (16, 64):
                row = s.row(kind, depth)
                measured = row.var_sq / row.mean_sq**2
                predicted = row.predicted_var_sq / row.predicted_mean_sq**2
                assert measured == pytest.approx(predicted, rel=tolerance), (name, kind, depth)
                assert row.predicted_mean_sq == pytest.approx(1.0, rel=1e-9)  # χ₁ = 1


def test_an_ordered_point_without_biases_takes_the_jacobian_at_the_vanishing_signal() -> None:
    """Below ReLU's critical line with σ_b = 0 the fixed length is 0; the Jacobian at
    x = 0 would be 0 (ReLU′(0) = 0), its limit as q → 0 is the product of the sign
    patterns' masked weights, with mean σ² = χ₁^L (free probability).  Measured over
    predicted at depth 4 was 1.05 with seed 0 (the ReLU spread test above allows 50%)."""
    s = jacobian_spectra(
        "relu", 1.8, depths=[4], width=128, weights=["gaussian"], inputs=2,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert s.q_star == 0.0
    (row,) = s.rows
    assert row.predicted_mean_sq == pytest.approx(0.9**4)
    assert row.mean_sq == pytest.approx(row.predicted_mean_sq, rel=0.5)


def test_unresolved_singular_values_are_left_out_and_counted() -> None:
    s = torch.tensor([[2.0, 1.0, 0.5, 1e-13, 0.0]], dtype=torch.float64)
    row = spectrum_row(s, "gaussian", 3, (1.0, 0.0))
    assert row.unresolved == pytest.approx(0.4)
    logs = torch.log(torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64))
    assert row.std_log == pytest.approx(float(logs.std(correction=0)))
    assert row.mean_sq == pytest.approx((4 + 1 + 0.25) / 5)  # every value in the moments


def test_jacobian_spectra_validates_its_input() -> None:
    with pytest.raises(
        ParameterError,
        match=r"^The 'width' parameter of jacobian_spectra must be an int in \[2, 1024\]\. Got 2048\.$",
    ):
        jacobian_spectra("tanh", 1.0, width=2048)
    with pytest.raises(
        ParameterError,
        match=r"'depths' parameter of jacobian_spectra must be a non-empty sequence of ints in \[1, 256\]",
    ):
        jacobian_spectra("tanh", 1.0, depths=[0, 4])
    with pytest.raises(ParameterError, match=r"'weights' parameter of jacobian_spectra"):
        jacobian_spectra("tanh", 1.0, weights=["uniform"])
