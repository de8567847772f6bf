"""Gradients and Hessians of the objectives: exact for quadratics, against autograd
(torch) for the test functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightlab.landscape import OBJECTIVES, gradient, hessian, objective


def torch_value(name: str, w: torch.Tensor) -> torch.Tensor:
    """The objective's formula on a torch tensor (the numpy one is vectorized with ``np``
    functions only for Rastrigin)."""
    J = objective(name)
    if name == "rastrigin":
        return 20 + (w**2 - 10 * torch.cos(2 * torch.pi * w)).sum()
    return J.value(w[0], w[1])


@pytest.mark.parametrize("name", ["himmelblau", "rosenbrock", "beale", "rastrigin"])
def test_numeric_derivatives_match_autograd(name):
    J = objective(name)
    for point in ([0.3, -0.7], [1.2, 0.4], list(J.start)):
        w = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        auto_grad = torch.autograd.grad(torch_value(name, w), w)[0].numpy()
        auto_hess = torch.autograd.functional.hessian(lambda v: torch_value(name, v), w.detach())
        scale = max(1.0, float(np.abs(auto_grad).max()))
        np.testing.assert_allclose(gradient(J, np.array(point)), auto_grad, atol=1e-6 * scale)
        np.testing.assert_allclose(
            hessian(J, np.array(point)), auto_hess.numpy(), atol=1e-4 * max(1.0, scale)
        )


@pytest.mark.parametrize("name", [n for n in OBJECTIVES if objective(n).quadratic is not None])
def test_quadratic_derivatives_are_exact(name):
    J = objective(name)
    H, g = J.quadratic
    w = np.array([0.7, -1.3])
    np.testing.assert_array_equal(gradient(J, w), H @ w - g)
    assert hessian(J, w) is H
    assert np.array_equal(H, H.T)
