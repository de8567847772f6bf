"""The loss-landscape figure's content: panels, minima, paths, trajectories, level sets,
contours and errors (the maths is tested in tests/landscape)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D

from weightlab.landscape import (
    OBJECTIVES,
    Objective,
    gd_trajectory,
    objective,
    regularized_path,
)
from weightlab.report.figures import save
from weightlab.report.landscape import _path_lams, landscape_figure


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
