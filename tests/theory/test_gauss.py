"""The Gaussian expectations behind every mean-field number: exact where closed forms
exist (the arc-cosine kernels of Cho & Saul 2009), and against independent integrators
(scipy's adaptive quadrature, Monte Carlo) elsewhere."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate

from weightlab.activations import ACTIVATION_FNS, activate, second_moment
from weightlab.theory.gauss import expect_1d, expect_2d, phi_and_derivative

F64 = torch.float64


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def _leaky_kernels(q: float, c: float, a: float) -> tuple[float, float]:
    """E[φ(u1)φ(u2)] and E[φ′(u1)φ′(u2)] for φ(x) = max(x, a·x), by writing
    φ(x) = (1+a)/2 · x + (1−a)/2 · |x|: E[|u1||u2|] = (2q/π)(√(1−c²) + c·arcsin c) and
    E[sign u1 · sign u2] = (2/π) arcsin c (Cho & Saul 2009, degree 1 and 0)."""
    even, odd = (1 + a) / 2, (1 - a) / 2
    k = even**2 * q * c + odd**2 * 2 * q / math.pi * (math.sqrt(1 - c * c) + c * math.asin(c))
    kp = even**2 + odd**2 * 2 / math.pi * math.asin(c)
    return k, kp


@pytest.mark.parametrize(
    ("activation", "a"), [("relu", 0.0), ("leaky_relu", 0.01), ("linear", 1.0)]
)
@pytest.mark.parametrize("c", [-0.95, -0.3, 0.0, 0.4, 0.9, 0.999, 1.0])
def test_piecewise_linear_kernels_match_the_arc_cosine_closed_forms(
    activation: str, a: float, c: float
) -> None:
    for q in (0.3, 1.0, 50.0, 1e6):
        e = expect_2d(activation, _t(q), _t(c))
        k, kp = _leaky_kernels(q, c, a)
        assert float(e["phiphi"][0]) == pytest.approx(k, rel=1e-11, abs=1e-12 * q)
        assert float(e["dphidphi"][0]) == pytest.approx(kp, rel=1e-11, abs=1e-13)


def _quad(f: object, q: float) -> float:
    """∫ f(√q z) ϕ(z) dz by scipy's adaptive rule, split at 0 and at ±1/√q (where the
    smooth activations bend), to 1e-13."""

    def g(z: float) -> float:
        return float(f(math.sqrt(q) * z)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # type: ignore[operator]

    edge = 1 / math.sqrt(q)
    points = sorted({-edge, 0.0, edge} & {p for p in (-edge, 0.0, edge) if abs(p) < 12})
    return float(
        integrate.quad(g, -12, 12, points=points, limit=400, epsabs=1e-15, epsrel=1e-13)[0]
    )


def _scalar(activation: str, derivative: bool) -> object:
    def f(x: float) -> float:
        phi, d = phi_and_derivative(activation, torch.tensor([x], dtype=F64))
        return float((d if derivative else phi)[0])

    return f


@pytest.mark.parametrize("activation", list(ACTIVATION_FNS))
@pytest.mark.parametrize("q", [0.01, 1.0, 20.0])
def test_one_variable_expectations_match_adaptive_quadrature(activation: str, q: float) -> None:
    e = expect_1d(activation, _t(q))
    phi, dphi = _scalar(activation, False), _scalar(activation, True)
    phi2 = _quad(lambda x: phi(x) ** 2, q)  # type: ignore[operator]
    dphi2 = _quad(lambda x: dphi(x) ** 2, q)  # type: ignore[operator]
    dphi4 = _quad(lambda x: dphi(x) ** 4, q)  # type: ignore[operator]
    assert float(e["phi2"][0]) == pytest.approx(phi2, rel=1e-10)
    assert float(e["dphi2"][0]) == pytest.approx(dphi2, rel=1e-10)
    assert float(e["dphi4"][0]) == pytest.approx(dphi4, rel=1e-10)


@pytest.mark.parametrize("activation", list(ACTIVATION_FNS))
def test_the_two_variable_rule_at_c_1_is_the_one_variable_rule(activation: str) -> None:
    # At c = 1, u1 = u2: E[φ(u1)φ(u2)] = E[φ(u)²]. The polar rule resolves the bends of
    # smooth activations less well as q grows (module docstring): 5e-8 up to q = 3, where
    # every q* of a tanh network with σ_w² ≤ 4 lies, 5e-5 at q = 25.
    for qs, tol in (((0.05, 0.7, 3.0), 5e-8), ((25.0,), 5e-5)):
        q = _t(*qs)
        one, two = expect_1d(activation, q), expect_2d(activation, q, torch.ones_like(q))
        torch.testing.assert_close(two["phiphi"], one["phi2"], rtol=tol, atol=1e-14)
        torch.testing.assert_close(two["dphidphi"], one["dphi2"], rtol=tol, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "selu", "sigmoid"])
def test_two_variable_expectations_match_monte_carlo(activation: str) -> None:
    # 4·10⁶ samples: the Monte-Carlo standard error is printed into the tolerance (5 of them).
    g = torch.Generator().manual_seed(7)
    q, c = 1.3, 0.6
    z = torch.randn(2, 4_000_000, generator=g, dtype=F64)
    u1 = math.sqrt(q) * z[0]
    u2 = math.sqrt(q) * (c * z[0] + math.sqrt(1 - c * c) * z[1])
    (p1, d1), (p2, d2) = phi_and_derivative(activation, u1), phi_and_derivative(activation, u2)
    e = expect_2d(activation, _t(q), _t(c))
    for key, sample in (("phiphi", p1 * p2), ("dphidphi", d1 * d2)):
        se = float(sample.std()) / math.sqrt(sample.numel())
        assert abs(float(e[key][0]) - float(sample.mean())) < 5 * se


def test_two_variable_tanh_matches_nested_adaptive_quadrature() -> None:
    q, c = 16.0, 0.5  # narrow features: tanh(4 z) bends within 0.25 of the kinks' rays
    s = math.sqrt(1 - c * c)

    def inner(z1: float) -> float:
        mu, sd = math.sqrt(q) * c * z1, math.sqrt(q) * s

        def f(z2: float) -> float:
            return math.tanh(mu + sd * z2) * math.exp(-z2 * z2 / 2) / math.sqrt(2 * math.pi)

        split = -mu / sd
        total = sum(
            integrate.quad(f, lo, hi, epsabs=1e-14, limit=200)[0]
            for lo, hi in ((-12.0, split), (split, 12.0))
            if lo < hi
        )
        return (
            math.tanh(math.sqrt(q) * z1) * total * math.exp(-z1 * z1 / 2) / math.sqrt(2 * math.pi)
        )

    ref = sum(
        integrate.quad(inner, lo, hi, epsabs=1e-13, limit=200)[0] for lo, hi in ((-12, 0), (0, 12))
    )
    got = float(expect_2d("tanh", _t(q), _t(c))["phiphi"][0])
    assert got == pytest.approx(ref, abs=1e-8)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "silu"])
def test_length_slope_is_chi1_plus_the_papers_phi_second_derivative_term(activation: str) -> None:
    # Schoenholz et al. 2017 write d/dq E[φ(√q z)²] as E[φ′² + φ φ″]; the rule computes
    # E[z φ φ′]/√q instead (Gaussian integration by parts). φ″ here by double autograd.
    q = 0.8
    x = (math.sqrt(q) * torch.linspace(-12, 12, 200_001, dtype=F64)).requires_grad_(True)
    y = activate(activation, x)
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    z = x.detach() / math.sqrt(q)
    density = torch.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    ref = float(torch.trapezoid((d1.detach() ** 2 + y.detach() * d2) * density, z))
    assert float(expect_1d(activation, _t(q))["dlength"][0]) == pytest.approx(ref, rel=1e-8)


@pytest.mark.parametrize("activation", ["relu", "selu", "leaky_relu", "linear"])
def test_length_slope_is_the_derivative_of_the_length_integral(activation: str) -> None:
    # Kinked activations have no φ″ at 0: compare with a central difference instead.
    q, h = 0.9, 1e-5
    up, down = expect_1d(activation, _t(q + h)), expect_1d(activation, _t(q - h))
    slope = (float(up["phi2"][0]) - float(down["phi2"][0])) / (2 * h)
    assert float(expect_1d(activation, _t(q))["dlength"][0]) == pytest.approx(slope, rel=1e-7)


@pytest.mark.parametrize(
    "activation", ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu"]
)
def test_the_length_integral_agrees_with_the_diagnostics_second_moment(activation: str) -> None:
    # weightlab.diagnose chains second_moment (101-point Gauss-Hermite, exact for the
    # piecewise-linear ones) for its predictions; both rules agree where that rule is
    # accurate (q ≤ 1 for the smooth activations; beyond it loses digits: 3% for tanh at
    # q = 50, which the split rule here does not).
    for q in (0.01, 0.25, 1.0):
        got = float(expect_1d(activation, _t(q))["phi2"][0])
        assert got == pytest.approx(second_moment(activation, q), rel=1e-9)
