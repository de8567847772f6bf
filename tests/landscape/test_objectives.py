"""The objective registry: names, vectorized values, minima, parameters and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightlab.landscape import (
    OBJECTIVES,
    Objective,
    gd_trajectory,
    objective,
    objective_params,
    regularized_path,
    resolve_objective,
)

from .conftest import msg, numeric_grad


def test_registry_names():
    assert OBJECTIVES == (
        "quadratic",
        "himmelblau",
        "rosenbrock",
        "beale",
        "rastrigin",
        "booth",
        "matyas",
        "model",
    )


@pytest.mark.parametrize("name", OBJECTIVES)
def test_objective_is_vectorized_and_minima_are_minima(name):
    J = objective(name)
    grid = np.linspace(-1, 1, 12).reshape(3, 4)
    assert np.asarray(J(grid, grid)).shape == (3, 4)
    for m in J.minima:
        w = np.array(m)
        assert np.abs(numeric_grad(J, w)).max() < 1e-4 * max(1.0, abs(float(J(*w))))
        around = w + 1e-3 * np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]])
        assert np.all(J(around[:, 0], around[:, 1]) > J(*w))
    x0, x1, y0, y1 = J.window
    assert x0 < J.start[0] < x1 and y0 < J.start[1] < y1
    assert x0 <= J.minima[0][0] <= x1 and y0 <= J.minima[0][1] <= y1


def test_known_minima_values():
    for name in ("himmelblau", "rosenbrock", "beale", "rastrigin", "booth", "matyas", "quadratic"):
        J = objective(name)
        assert all(abs(float(J(*m))) < 1e-9 for m in J.minima), name
    assert objective("rosenbrock").minima == ((1.0, 1.0),)
    assert objective("beale").minima == ((3.0, 0.5),)
    assert len(objective("himmelblau").minima) == 4


def test_quadratic_parameters():
    J = objective("quadratic", center=(2.0, -1.0), condition=9.0, angle=0.0)
    assert J.minima == ((2.0, -1.0),)
    H, g = J.quadratic
    np.testing.assert_allclose(H, np.diag([1 / 9, 1.0]), atol=1e-15)
    np.testing.assert_allclose(np.linalg.solve(H, g), [2.0, -1.0])
    # The bowl is elongated: curvature 1/9 along w1, 1 along w2.
    assert math.isclose(float(J(5.0, -1.0)), 0.5 * 9 / 9) and math.isclose(float(J(2.0, 2.0)), 4.5)
    assert objective_params("quadratic") == {"center": (1.5, 0.5), "condition": 4.0, "angle": -60.0}


def test_model_is_least_squares_of_its_data():
    J = objective("model", n_samples=30, rho=0.9, seed=3)
    x, y = J.data
    assert x.shape == (30, 2) and y.shape == (30,)
    w = np.array([0.3, -0.7])
    assert math.isclose(float(J(*w)), float(np.sum((y - x @ w) ** 2) / 60), rel_tol=1e-12)
    ols = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(J.minima[0], ols, rtol=1e-10)
    assert np.corrcoef(x.T)[0, 1] > 0.8  # correlated features, as asked
    again = objective("model", n_samples=30, rho=0.9, seed=3)
    np.testing.assert_array_equal(again.data[1], y)


def test_objective_errors():
    valid = "one of 'quadratic', 'himmelblau', 'rosenbrock', 'beale', 'rastrigin', 'booth', 'matyas', 'model' or an Objective"
    with pytest.raises(
        ValueError,
        match=msg(f"The 'function' parameter of objective must be {valid}. Got 'rosenbrok'."),
    ):
        objective("rosenbrok")
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'params' parameter of objective must be keyword arguments accepted by 'quadratic' (center, condition, angle). Got scale=2."
        ),
    ):
        objective("quadratic", scale=2)
    with pytest.raises(
        ValueError,
        match=msg("The 'condition' parameter of objective must be a float >= 1. Got 0.5."),
    ):
        objective("quadratic", condition=0.5)
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'center' parameter of objective must be a pair of finite floats (w1, w2). Got (1.0, nan)."
        ),
    ):
        objective("quadratic", center=(1.0, float("nan")))
    with pytest.raises(
        ValueError,
        match=msg("The 'rho' parameter of objective must be a float in (-1, 1). Got 1.0."),
    ):
        objective("model", rho=1.0)
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'params' parameter of regularized_path must be empty when function is an Objective. Got angle."
        ),
    ):
        regularized_path(objective("quadratic"), "l1", [0.1], angle=3.0)
    with pytest.raises(TypeError, match=msg("The 'function' parameter of gd_trajectory must be")):
        gd_trajectory(3, "l1", 0.1, (0.0, 0.0), 0.1, 3)


def test_resolve_objective_names_its_caller():
    J = objective("booth")
    assert resolve_objective("my_plot", J, {}) is J
    built = resolve_objective("my_plot", "quadratic", {"angle": 0.0})
    assert (
        isinstance(built, Objective) and built.formula == objective("quadratic", angle=0.0).formula
    )
    with pytest.raises(ValueError, match=msg("The 'function' parameter of my_plot must be one of")):
        resolve_objective("my_plot", "sphere", {})
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'params' parameter of my_plot must be keyword arguments accepted by 'booth' (none). Got x=1."
        ),
    ):
        resolve_objective("my_plot", "booth", {"x": 1})
