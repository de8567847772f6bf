"""Regularized optima as λ grows: exact for quadratics (against scikit-learn's lasso
path), stationary for the test functions."""

from __future__ import annotations

import numpy as np
import pytest

from weightlab.landscape import objective, regularized_path

from .conftest import kkt_l1, msg, numeric_grad

LAMS = np.linspace(0.0, 2.0, 41)


def test_l1_path_reaches_an_axis_at_finite_lambda():
    J = objective("quadratic")
    path = regularized_path(J, "l1", LAMS)
    np.testing.assert_allclose(path[0], J.minima[0], atol=1e-12)
    one_zero = [(lam, w) for lam, w in zip(LAMS, path, strict=True) if np.sum(w == 0.0) == 1]
    assert one_zero, "some λ of the grid puts exactly one weight exactly at 0"
    assert all(w[1] == 0.0 and w[0] > 0 for _, w in one_zero)  # w2 goes first
    assert np.array_equal(path[-1], [0.0, 0.0])
    # Once zero, w2 stays zero: the optimum slides along the axis to the origin.
    first = int(np.flatnonzero(path[:, 1] == 0.0)[0])
    assert np.all(path[first:, 1] == 0.0) and 0 < LAMS[first] < 1.0
    H, g = J.quadratic
    for lam, w in zip(LAMS, path, strict=True):
        assert kkt_l1(H @ w - g, w, lam, 1e-12)


def test_l2_path_shrinks_but_never_reaches_zero():
    J = objective("quadratic")
    path = regularized_path(J, "l2", np.append(LAMS, [10.0, 100.0]))
    assert np.all(path != 0.0)
    norms = np.linalg.norm(path, axis=1)
    assert np.all(np.diff(norms) < 0)
    H, g = J.quadratic
    for lam, w in zip(np.append(LAMS, [10.0, 100.0]), path, strict=True):
        np.testing.assert_allclose(w, np.linalg.solve(H + 2 * lam * np.eye(2), g), rtol=1e-12)


def test_path_keeps_the_order_of_lams():
    forward = regularized_path("quadratic", "l1", [0.0, 0.5, 1.0])
    backward = regularized_path("quadratic", "l1", [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(forward, backward[::-1])
    assert (
        regularized_path("quadratic", "none", [3.0]).tolist()
        == regularized_path("quadratic", "none", [0.0]).tolist()
    )


def test_model_l1_path_matches_sklearn_lasso_path():
    from sklearn.linear_model import lasso_path

    J = objective("model")
    x, y = J.data
    lams = np.geomspace(2.0, 0.001, 15)
    ours = regularized_path(J, "l1", lams)
    _, coefs, _ = lasso_path(x, y, alphas=lams, tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(ours, coefs.T, rtol=1e-9, atol=1e-12)
    assert np.array_equal(ours == 0, coefs.T == 0)


@pytest.mark.parametrize(
    ("name", "penalty"),
    [("himmelblau", "l2"), ("himmelblau", "l1"), ("rosenbrock", "l1"), ("beale", "l2")],
)
def test_non_quadratic_paths_are_stationary(name, penalty):
    J = objective(name)
    lams = [0.0, J.lam / 2, J.lam]
    path = regularized_path(J, penalty, lams)
    np.testing.assert_allclose(path[0], J.minima[0], atol=1e-5)
    for lam, w in zip(lams, path, strict=True):
        grad = numeric_grad(J, w)
        if penalty == "l2":
            assert np.abs(grad + 2 * lam * w).max() < 1e-5
        else:
            assert kkt_l1(grad, w, lam, 1e-5)
    if penalty == "l1" and name == "himmelblau":
        assert path[-1][1] == 0.0  # the (3, 2) branch lands on the w1 axis at λ = 20


def test_path_errors():
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'lams' parameter of regularized_path must be a non-empty 1-D sequence of finite floats >= 0. Got [0.1, -1.0]."
        ),
    ):
        regularized_path("quadratic", "l1", [0.1, -1.0])
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'lams' parameter of regularized_path must be a non-empty 1-D sequence of finite floats >= 0. Got []."
        ),
    ):
        regularized_path("quadratic", "l1", [])
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'lams' parameter of regularized_path must be a non-empty 1-D sequence of finite floats >= 0. Got [nan]."
        ),
    ):
        regularized_path("quadratic", "l1", [float("nan")])
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'penalty' parameter of regularized_path must be one of 'none', 'l1', 'l2'. Got 'both'."
        ),
    ):
        regularized_path("quadratic", "both", [0.1])
