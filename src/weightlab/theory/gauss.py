"""Gaussian expectations of an activation and its derivative, for mean-field theory.

Every registered activation is smooth except, for some, at 0 (ReLU, leaky ReLU and SELU
have a kink there), and the smooth ones bend where their argument is about 1.  Both
rules are piecewise Gauss–Legendre rules cut exactly at the kinks, so they are exact to
rounding for the piecewise-linear activations:

- one variable, ``E[g(√q z)]`` with ``z ~ N(0, 1)``: the half-lines ``z > 0`` and
  ``z < 0`` separately, each on ``(0, R)`` (``R = 10``: the Gaussian mass beyond is 1e-23)
  cut at ``min(4/√q, R/2)`` so that nodes crowd where the activation bends, however large
  ``q`` is (within 1e-10 of adaptive quadrature from ``q = 0.01`` to ``q = 20``);
- two variables, ``E[F(u1, u2)]`` with ``u1 = √q z1`` and
  ``u2 = √q (c z1 + √(1−c²) z2)``: polar coordinates ``z = r (cos θ, sin θ)``, so that
  ``u1 = √q r cos θ`` and ``u2 = √q r cos(θ − arccos c)``.  The kinks ``u1 = 0`` and
  ``u2 = 0`` are the rays ``θ = ±π/2`` and ``θ = arccos c ± π/2``; each of the four
  sectors between them gets its own Gauss–Legendre nodes in ``θ``, and ``r`` the
  one-variable construction.  For the smooth activations the bends lie along the strips
  ``|u1| ≲ 1`` and ``|u2| ≲ 1``, thin in angle when ``q`` is large: the worst case,
  tanh, is within 3e-8 (relative) of the one-variable rule at ``c = 1`` for ``q ≤ 3``
  (every ``q*`` of a tanh network with ``σ_w² ≤ 4``), 3e-5 at ``q = 25`` and 5e-3 at
  ``q = 250``.

The one-variable rule is :func:`weightlab.activations.gaussian_nodes`, which
:func:`weightlab.activations.second_moment` (and so the chained variance predictions of
``weightlab inspect``) uses too.
Derivatives ``φ′`` come from autograd through :func:`weightlab.activations.activate`, so
every registered activation works without a table of derivatives.

Everything is float64 and broadcasts over ``q`` and ``c`` (one entry per point of a
phase diagram).
"""

from __future__ import annotations

import math

import torch

from weightlab.activations import (
    GAUSS_RADIUS as RADIUS,
)
from weightlab.activations import (
    activate,
    crowded_nodes,
    gaussian_nodes,
    legendre,
)

__all__ = ["RADIUS", "expect_1d", "expect_2d", "phi_and_derivative"]

_N_RADIUS = 32  # radial nodes per piece (two pieces) of the two-variable rule
_N_ANGLE = 20  # angular nodes per sector (four sectors) of the two-variable rule
_CHUNK = 16  # points per batch of the two-variable rule


def _half_lines(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return gaussian_nodes(q)


def _radial(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes ``r`` on (0, R) and weights ``w(r) · r e^{−r²/2} / (2π)`` (the polar Jacobian
    and the 2-D standard normal density), normalized like :func:`_half_lines`."""
    r, w = crowded_nodes(q, _N_RADIUS)
    w = w * r * torch.exp(-r * r / 2)
    return r, w / (2 * math.pi * w.sum(-1, keepdim=True))


def _angles(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angular nodes ``[P, 4n]`` and weights for the four sectors between the kink rays
    of ``u1`` and ``u2`` (module docstring)."""
    theta_c = torch.arccos(c.clamp(-1.0, 1.0)).unsqueeze(-1)
    half = math.pi / 2
    flat = torch.zeros_like(theta_c)
    starts = torch.cat([flat - half, theta_c - half, flat + half, theta_c + half], -1)
    ends = torch.cat([theta_c - half, flat + half, theta_c + half, flat + 3 * half], -1)
    x, w = legendre(_N_ANGLE)
    width = (ends - starts).unsqueeze(-1)
    theta = starts.unsqueeze(-1) + width * x
    return theta.flatten(-2), (width * w).flatten(-2)


def phi_and_derivative(
    activation: str, x: torch.Tensor, slope: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``φ(x)`` and ``φ′(x)`` elementwise, the derivative by autograd (the registry's own
    function, so nothing is restated per activation)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = activate(activation, x, slope)
        (dy,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), dy


def expect_1d(
    activation: str, q: torch.Tensor, slope: float | None = None
) -> dict[str, torch.Tensor]:
    """One-variable expectations at ``h = √q z``, ``z ~ N(0, 1)``, one per entry of ``q``:

    - ``"phi2"``: ``E[φ(h)²]``, the length map's integral;
    - ``"dphi2"``: ``E[φ′(h)²]``, whose ``σ_w²`` multiple is χ₁;
    - ``"dphi4"``: ``E[φ′(h)⁴]``, the second moment of ``D²`` in Jacobian spectra;
    - ``"dlength"``: ``d E[φ(h)²]/dq = E[z φ(h) φ′(h)] / √q``, by Gaussian integration by
      parts equal to ``E[φ′(h)² + φ(h) φ″(h)]`` wherever ``φ″`` exists (``q`` is floored at
      1e-300, where it tends to ``φ′(0)² + φ(0)φ″(0)``).
    """
    z, weights = _half_lines(q)
    root = q.clamp_min(1e-300).sqrt().unsqueeze(-1)
    phi, dphi = phi_and_derivative(activation, root * z, slope)
    d2 = dphi * dphi
    return {
        "phi2": (weights * phi * phi).sum(-1),
        "dphi2": (weights * d2).sum(-1),
        "dphi4": (weights * d2 * d2).sum(-1),
        "dlength": (weights * z * phi * dphi).sum(-1) / root.squeeze(-1),
    }


def expect_2d(
    activation: str, q: torch.Tensor, c: torch.Tensor, slope: float | None = None
) -> dict[str, torch.Tensor]:
    """Two-variable expectations over ``(u1, u2)`` jointly Gaussian, each of variance
    ``q``, with correlation ``c`` (broadcast together):

    - ``"phiphi"``: ``E[φ(u1) φ(u2)]``, the correlation map's integral;
    - ``"dphidphi"``: ``E[φ′(u1) φ′(u2)]``, its derivative in ``c`` over ``q`` (Price's
      theorem), whose ``σ_w²`` multiple at ``c*`` is χ_c.
    """
    q, c = torch.broadcast_tensors(q, c)  # type: ignore[no-untyped-call]
    flat_q, flat_c = q.reshape(-1), c.reshape(-1)
    # A few points at a time: the [points, angles, radii] arrays then stay in the CPU's
    # cache, which makes the rule about three times faster than one large batch.
    parts = [
        _expect_2d(activation, flat_q[i : i + _CHUNK], flat_c[i : i + _CHUNK], slope)
        for i in range(0, flat_q.numel(), _CHUNK)
    ]
    return {
        key: torch.cat([p[key] for p in parts]).reshape(q.shape) if parts else q.clone()
        for key in ("phiphi", "dphidphi")
    }


def _expect_2d(
    activation: str, q: torch.Tensor, c: torch.Tensor, slope: float | None
) -> dict[str, torch.Tensor]:
    theta, w_theta = _angles(c)  # [P, A]
    r, w_r = _radial(q)  # [P, R]
    radii = (q.clamp_min(0.0).sqrt().unsqueeze(-1) * r).unsqueeze(1)  # [P, 1, R]
    theta_c = torch.arccos(c.clamp(-1.0, 1.0)).unsqueeze(-1)
    x1 = radii * torch.cos(theta).unsqueeze(-1)  # [P, A, R]
    x2 = radii * torch.cos(theta - theta_c).unsqueeze(-1)
    weights = w_theta.unsqueeze(-1) * w_r.unsqueeze(1)
    phi1, d1 = phi_and_derivative(activation, x1, slope)
    phi2, d2 = phi_and_derivative(activation, x2, slope)
    return {
        "phiphi": (weights * phi1 * phi2).sum((-1, -2)),
        "dphidphi": (weights * d1 * d2).sum((-1, -2)),
    }
