"""Gradient descent on J + λP: seed 000's updates, convergence to the regularized optimum,
the L1 rules from the regularization registry, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightlab.landscape import gd_trajectory, objective, regularized_path
from weightlab.regularize import make_term

from .conftest import msg


def test_gd_subgradient_is_seed_000_update():
    J = objective("quadratic")
    H, g = J.quadratic
    lam, lr = 0.3, 0.4
    traj = gd_trajectory(J, "l1", lam, (1.0, -0.5), lr, 3, "subgradient")
    w = np.array([1.0, -0.5])
    for row in traj[1:]:
        w = w - lr * lam * np.sign(w) - lr * (H @ w - g)  # w − αλ·sign(w) − α∂J/∂w
        np.testing.assert_allclose(row, w, rtol=1e-14)
    np.testing.assert_array_equal(traj[0], [1.0, -0.5])


def test_gd_l2_is_seed_000_update():
    J = objective("quadratic")
    H, g = J.quadratic
    traj = gd_trajectory("quadratic", "l2", 0.3, (1.0, -0.5), 0.4, 3)
    w = np.array([1.0, -0.5])
    for row in traj[1:]:
        w = w - 2 * 0.4 * 0.3 * w - 0.4 * (H @ w - g)  # w − 2αλw − α∂J/∂w
        np.testing.assert_allclose(row, w, rtol=1e-14)


@pytest.mark.parametrize("rule", ["proximal", "clip", "subgradient"])
def test_gd_l1_step_is_the_registry_rule(rule):
    J = objective("quadratic")
    H, g = J.quadratic
    lam, lr = 0.4, 0.5
    step = make_term("l1", strength=lam, rule=rule).rule()
    traj = gd_trajectory(J, "l1", lam, (0.2, 1.5), lr, 20, rule)
    w = np.array([0.2, 1.5])
    for row in traj[1:]:
        proposed = torch.from_numpy(w - lr * (H @ w - g))
        w = step(torch.from_numpy(w), proposed, lr).numpy()
        np.testing.assert_array_equal(row, w)


def test_gd_without_l1_never_clips():
    """A data step across zero stays as it is when the penalty is not L1 (the clip rule
    clips only what an L1 step pushed across)."""
    J = objective("quadratic", center=(-1.0, -1.0), angle=0.0, condition=1.0)
    for penalty in ("none", "l2"):
        traj = gd_trajectory(J, penalty, 0.1, (0.5, 0.5), 1.0, 1, "clip")
        assert np.all(traj[1] < 0.0)


@pytest.mark.parametrize(
    ("penalty", "rule"), [("l1", "proximal"), ("l2", "proximal"), ("none", "subgradient")]
)
def test_gd_converges_to_the_regularized_optimum(penalty, rule):
    J = objective("quadratic")
    traj = gd_trajectory(J, penalty, 0.5, J.start, J.lr, 600, rule)
    assert traj.shape == (601, 2)
    best = regularized_path(J, penalty, [0.5])[0]
    np.testing.assert_allclose(traj[-1], best, atol=1e-9)
    if penalty == "l1":
        assert traj[-1][1] == 0.0  # proximal steps land exactly on the axis


def test_gd_subgradient_oscillates_where_proximal_lands_on_zero():
    sub = gd_trajectory("quadratic", "l1", 0.5, (0.0, 1.5), 0.5, 400, "subgradient")[-50:, 1]
    assert np.all(sub != 0.0) and sub.min() < 0 < sub.max()  # crosses zero, never rests
    prox = gd_trajectory("quadratic", "l1", 0.5, (0.0, 1.5), 0.5, 400, "proximal")[-50:, 1]
    assert np.all(prox == 0.0)
    clip = gd_trajectory("quadratic", "l1", 0.5, (0.0, 1.5), 0.5, 400, "clip")[-50:, 1]
    assert np.any(clip == 0.0)


def test_gd_numeric_gradient_and_divergence():
    traj = gd_trajectory("rosenbrock", "none", 0.0, (-1.2, 1.0), 1e-3, 5)
    J = objective("rosenbrock")
    w = np.array([-1.2, 1.0])
    grad = np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2), 200 * (w[1] - w[0] ** 2)])
    np.testing.assert_allclose(traj[1], w - 1e-3 * grad, rtol=1e-7)
    assert J(*traj[-1]) < J(*w)
    blown = gd_trajectory("rosenbrock", "none", 0.0, (-1.2, 1.0), 1.0, 100)
    assert len(blown) < 101 and np.isfinite(blown).all()


def test_gd_errors():
    base = {
        "function": "quadratic",
        "penalty": "l1",
        "lam": 0.1,
        "start": (0.0, 0.0),
        "lr": 0.1,
        "steps": 3,
    }
    cases = [
        (
            {"lam": -1.0},
            ValueError,
            "The 'lam' parameter of gd_trajectory must be a float >= 0. Got -1.0.",
        ),
        (
            {"lam": float("nan")},
            ValueError,
            "The 'lam' parameter of gd_trajectory must be a float >= 0. Got nan.",
        ),
        (
            {"lr": 0.0},
            ValueError,
            "The 'lr' parameter of gd_trajectory must be a float > 0. Got 0.0.",
        ),
        (
            {"lr": -0.1},
            ValueError,
            "The 'lr' parameter of gd_trajectory must be a float > 0. Got -0.1.",
        ),
        (
            {"steps": 0},
            ValueError,
            "The 'steps' parameter of gd_trajectory must be an int >= 1. Got 0.",
        ),
        (
            {"steps": 2.5},
            TypeError,
            "The 'steps' parameter of gd_trajectory must be an int >= 1. Got 2.5.",
        ),
        (
            {"start": (1.0,)},
            ValueError,
            "The 'start' parameter of gd_trajectory must be a pair of finite floats (w1, w2). Got (1.0,).",
        ),
        (
            {"start": (1.0, float("inf"))},
            ValueError,
            "The 'start' parameter of gd_trajectory must be a pair of finite floats (w1, w2). Got (1.0, inf).",
        ),
        (
            {"start": "ab"},
            ValueError,
            "The 'start' parameter of gd_trajectory must be a pair of finite floats (w1, w2). Got 'ab'.",
        ),
        (
            {"penalty": "elastic"},
            ValueError,
            "The 'penalty' parameter of gd_trajectory must be one of 'none', 'l1', 'l2'. Got 'elastic'.",
        ),
        (
            {"rule": "sign"},
            ValueError,
            "The 'rule' parameter of gd_trajectory must be one of 'subgradient', 'clip', 'proximal'. Got 'sign'.",
        ),
        (
            {"function": "sphere"},
            ValueError,
            "The 'function' parameter of gd_trajectory must be one of 'quadratic',",
        ),
    ]
    for change, error, text in cases:
        with pytest.raises(error, match=msg(text)):
            gd_trajectory(**{**base, **change})
