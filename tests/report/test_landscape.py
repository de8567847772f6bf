"""The 2-D loss landscape: objectives, penalties, exact paths, GD and the figure's content."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D

from weightlab.report.figures import save
from weightlab.report.landscape import (
    OBJECTIVES,
    Objective,
    _path_lams,
    gd_trajectory,
    landscape_figure,
    objective,
    objective_params,
    penalized,
    regularized_path,
)


def msg(text: str) -> str:
    return re.escape(text)


def lines(ax, gid: str) -> list[Line2D]:
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def one_line(ax, gid: str) -> Line2D:
    found = lines(ax, gid)
    assert len(found) == 1, (gid, len(found))
    return found[0]


def xy(line: Line2D) -> np.ndarray:
    return np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)


def kkt_l1(grad: np.ndarray, w: np.ndarray, lam: float, tol: float) -> bool:
    """Subgradient optimality of J + λ‖w‖₁: ∇J + λ·sign(w) = 0 off zero, |∇J| ≤ λ at zero."""
    on = w != 0
    return bool(
        np.all(np.abs(grad[on] + lam * np.sign(w[on])) <= tol)
        and np.all(np.abs(grad[~on]) <= lam + tol)
    )


def numeric_grad(J, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array(
        [
            (J(w[0] + h, w[1]) - J(w[0] - h, w[1])) / (2 * h),
            (J(w[0], w[1] + h) - J(w[0], w[1] - h)) / (2 * h),
        ]
    )


# --- registry ------------------------------------------------------------------------------


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


# --- penalties -------------------------------------------------------------------------------


def test_penalized_values_and_l2_convention():
    J = objective("quadratic")
    w1, w2 = np.array([1.0, -2.0, 0.0]), np.array([0.5, 3.0, -1.0])
    np.testing.assert_allclose(
        penalized(J, "l1", 0.3)(w1, w2) - J(w1, w2), 0.3 * (np.abs(w1) + np.abs(w2))
    )
    # Seed 000's λΣw², no ½: the "sum_sq" convention.
    np.testing.assert_allclose(penalized(J, "l2", 0.3)(w1, w2) - J(w1, w2), 0.3 * (w1**2 + w2**2))
    assert penalized(J, "none", 5.0) is J
    assert penalized(J, "l1", 0.0)(1.0, 2.0) == J(1.0, 2.0)


def test_penalized_errors():
    J = objective("quadratic")
    with pytest.raises(
        ValueError, match=msg("The 'lam' parameter of penalized must be a float >= 0. Got -1.0.")
    ):
        penalized(J, "l1", -1.0)
    with pytest.raises(
        ValueError, match=msg("The 'lam' parameter of penalized must be a float >= 0. Got nan.")
    ):
        penalized(J, "l2", float("nan"))
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'penalty' parameter of penalized must be one of 'none', 'l1', 'l2'. Got 'l3'."
        ),
    ):
        penalized(J, "l3", 0.1)
    with pytest.raises(
        ValueError, match=msg("The 'J' parameter of penalized must be a callable J(w1, w2). Got 3.")
    ):
        penalized(3, "l1", 0.1)


# --- regularized paths ----------------------------------------------------------------------


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


# --- gradient descent ------------------------------------------------------------------------


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


# --- the figure ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figure():
    return landscape_figure("quadratic", grid=60, steps=80)


def test_figure_panels_titles_and_legend(figure):
    axes = figure.axes
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["J(w)", "J(w) + λ‖w‖₁", "J(w) + λ‖w‖₂²"]
    title = figure.get_suptitle()
    assert "quadratic" in title and "λ = 0.5" in title and "L1 rule: proximal" in title
    texts = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "minimum of J" in texts and "optimum at λ = 0.5" in texts
    assert any(t.startswith("gradient descent (α = 0.5, 80 steps)") for t in texts)
    assert any("diamond" in t and "circle" in t for t in texts)


def test_figure_minima_paths_and_trajectories(figure):
    J = objective("quadratic")
    lams = _path_lams(J, 0.5)
    for ax in figure.axes:
        np.testing.assert_array_equal(xy(one_line(ax, "minimum")), [[1.5, 0.5]])
    assert not lines(figure.axes[0], "path") and not lines(figure.axes[0], "regularized_minimum")
    for ax, penalty in zip(figure.axes[1:], ["l1", "l2"], strict=True):
        path = regularized_path(J, penalty, lams)
        np.testing.assert_array_equal(xy(one_line(ax, "path")), path)
        best = regularized_path(J, penalty, [0.5])
        np.testing.assert_allclose(xy(one_line(ax, "regularized_minimum")), best, atol=1e-15)
    assert lams[0] == 0.0 and 0.5 in lams and lams[-1] >= np.abs(J.quadratic[1]).max()
    # The drawn L1 optimum is on the w1 axis; the L2 one is not.
    assert xy(one_line(figure.axes[1], "regularized_minimum"))[0, 1] == 0.0
    assert np.all(xy(one_line(figure.axes[2], "regularized_minimum")) != 0.0)
    for ax, penalty in zip(figure.axes, ["none", "l1", "l2"], strict=True):
        traj = gd_trajectory(J, penalty, 0.5, J.start, J.lr, 80, "proximal")
        np.testing.assert_array_equal(xy(one_line(ax, "trajectory")), traj)


def test_figure_penalty_level_sets(figure):
    ax_none, ax_l1, ax_l2 = figure.axes
    assert not lines(ax_none, "level_set_l1") and not lines(ax_none, "level_set_l2")
    best_l1 = xy(one_line(ax_l1, "regularized_minimum"))[0]
    diamond = xy(one_line(ax_l1, "level_set_l1"))
    radius = np.abs(best_l1).sum()
    assert len(diamond) == 5
    np.testing.assert_allclose(np.abs(diamond).sum(axis=1), radius, rtol=1e-12)
    np.testing.assert_allclose(
        diamond[:4], [[radius, 0], [0, radius], [-radius, 0], [0, -radius]], atol=1e-12
    )
    best_l2 = xy(one_line(ax_l2, "regularized_minimum"))[0]
    circle = xy(one_line(ax_l2, "level_set_l2"))
    assert len(circle) > 50
    np.testing.assert_allclose(np.hypot(*circle.T), np.hypot(*best_l2), rtol=1e-12)
    assert not lines(ax_l2, "level_set_l1") and not lines(ax_l1, "level_set_l2")


def test_figure_contours(figure):
    J = objective("quadratic")
    counts = [sum(isinstance(c, ContourSet) for c in ax.collections) for ax in figure.axes]
    assert counts == [2, 3, 3]  # filled + lines, and the J level set touching the penalty's
    for ax, penalty in zip(figure.axes[1:], ["l1", "l2"], strict=True):
        touching = [c for c in ax.collections if isinstance(c, ContourSet) and len(c.levels) == 1]
        assert len(touching) == 1
        best = regularized_path(J, penalty, [0.5])[0]
        assert math.isclose(touching[0].levels[0], float(J(*best)))
        filled = [c for c in ax.collections if isinstance(c, ContourSet) and c.filled]
        assert len(filled) == 1 and len(filled[0].levels) == 25


def test_figure_single_panel_and_switches():
    fig = landscape_figure("model", penalty="l1", paths=False, trajectories=False, grid=20)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert lines(ax, "path") == [] and lines(ax, "trajectory") == []
    assert len(lines(ax, "regularized_minimum")) == 1 and len(lines(ax, "level_set_l1")) == 1
    assert fig.axes[0].get_title() == "J(w) + λ‖w‖₁"
    fig = landscape_figure("quadratic", penalty="l2", lam=0.0, grid=20, steps=3)
    assert "L1 rule" not in fig.get_suptitle() and "λ = 0" in fig.get_suptitle()
    np.testing.assert_allclose(xy(one_line(fig.axes[0], "regularized_minimum")), [[1.5, 0.5]])


def test_figure_rule_start_and_params():
    fig = landscape_figure(
        "quadratic",
        penalty="l1",
        lam=0.2,
        rule="subgradient",
        start=(2.0, -1.0),
        lr=0.3,
        steps=7,
        grid=20,
        center=(1.0, 1.0),
    )
    traj = xy(one_line(fig.axes[0], "trajectory"))
    np.testing.assert_array_equal(
        traj,
        gd_trajectory(
            "quadratic", "l1", 0.2, (2.0, -1.0), 0.3, 7, "subgradient", center=(1.0, 1.0)
        ),
    )
    np.testing.assert_array_equal(xy(one_line(fig.axes[0], "minimum")), [[1.0, 1.0]])
    assert "L1 rule: subgradient" in fig.get_suptitle() and "λ = 0.2" in fig.get_suptitle()


@pytest.mark.parametrize("name", OBJECTIVES)
def test_every_objective_draws(name):
    fig = landscape_figure(name, grid=24, steps=10)
    J = objective(name)
    assert len(fig.axes) == 3
    np.testing.assert_allclose(xy(one_line(fig.axes[0], "minimum")), np.array(J.minima))
    assert name in fig.get_suptitle() and f"λ = {J.lam:g}" in fig.get_suptitle()
    filled = next(c for c in fig.axes[0].collections if isinstance(c, ContourSet) and c.filled)
    steps = np.diff(np.asarray(filled.levels)[1:])
    if J.log_levels:  # log-spaced above the minimum: constant ratio
        ratios = np.diff(np.asarray(filled.levels)[1:] - filled.levels[0])
        assert np.all(steps > 0) and ratios[-1] / ratios[0] > 1e3
    else:
        np.testing.assert_allclose(steps, steps[0], rtol=1e-9)


def test_figure_saves_png(tmp_path, figure):
    out = save(figure, tmp_path / "landscape.png")
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_figure_errors():
    cases = [
        (
            {"penalty": "l3"},
            ValueError,
            "The 'penalty' parameter of landscape_figure must be one of 'both', 'none', 'l1', 'l2'. Got 'l3'.",
        ),
        (
            {"lam": -1.0},
            ValueError,
            "The 'lam' parameter of landscape_figure must be a float >= 0 or None. Got -1.0.",
        ),
        (
            {"lam": float("nan")},
            ValueError,
            "The 'lam' parameter of landscape_figure must be a float >= 0 or None. Got nan.",
        ),
        (
            {"lr": 0.0},
            ValueError,
            "The 'lr' parameter of landscape_figure must be a float > 0 or None. Got 0.0.",
        ),
        (
            {"steps": 0},
            ValueError,
            "The 'steps' parameter of landscape_figure must be an int >= 1. Got 0.",
        ),
        (
            {"start": (0.0, float("nan"))},
            ValueError,
            "The 'start' parameter of landscape_figure must be a pair of finite floats (w1, w2) or None. Got (0.0, nan).",
        ),
        (
            {"start": [1.0, 2.0, 3.0]},
            ValueError,
            "The 'start' parameter of landscape_figure must be a pair of finite floats (w1, w2) or None. Got [1.0, 2.0, 3.0].",
        ),
        (
            {"rule": "lasso"},
            ValueError,
            "The 'rule' parameter of landscape_figure must be one of 'subgradient', 'clip', 'proximal'. Got 'lasso'.",
        ),
        (
            {"paths": "yes"},
            TypeError,
            "The 'paths' parameter of landscape_figure must be a bool. Got 'yes'.",
        ),
        (
            {"trajectories": 1},
            TypeError,
            "The 'trajectories' parameter of landscape_figure must be a bool. Got 1.",
        ),
        (
            {"grid": 5},
            ValueError,
            "The 'grid' parameter of landscape_figure must be an int in [10, 2000]. Got 5.",
        ),
        (
            {"function": "sphere"},
            ValueError,
            "The 'function' parameter of landscape_figure must be one of 'quadratic', 'himmelblau',",
        ),
        (
            {"angel": 3.0},
            ValueError,
            "The 'params' parameter of landscape_figure must be keyword arguments accepted by 'quadratic' (center, condition, angle). Got angel=3.0.",
        ),
    ]
    for change, error, text in cases:
        with pytest.raises(error, match=msg(text)):
            landscape_figure(**change)


def test_objective_instance_is_accepted():
    J = objective("quadratic", angle=45.0)
    assert isinstance(J, Objective)
    fig = landscape_figure(J, penalty="none", grid=16, steps=2)
    np.testing.assert_allclose(xy(one_line(fig.axes[0], "trajectory"))[0], J.start)
