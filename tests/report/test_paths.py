"""Regularization paths against scikit-learn and closed forms, and the path figure's content."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from weightlab.data import load_dataset
from weightlab.report.figures import save
from weightlab.report.paths import KINDS, PathResult, path_figure, regularization_path, zero_points


def msg(text: str) -> str:
    return re.escape(text)


def arrays(name: str, **params):
    data = load_dataset(name, **params)
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
    return x - x.mean(axis=0), y - y.mean(), data  # centred: the paths fit no intercept


@pytest.fixture(scope="module")
def multicollinear():
    return arrays("multicollinear", n_groups=2)


@pytest.fixture(scope="module")
def diabetes():
    return arrays("diabetes")


def lines(ax, gid: str):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


# --- against scikit-learn -------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["multicollinear", "diabetes"])
def test_lasso_matches_sklearn_lasso_path(dataset, request):
    from sklearn.linear_model import lasso_path

    x, y, _ = request.getfixturevalue(dataset)
    ours = regularization_path(x, y, "lasso")
    _, coefs, _ = lasso_path(x, y, alphas=ours.lambdas, tol=1e-14, max_iter=1_000_000)
    scale = np.abs(ours.coefs).max()
    np.testing.assert_allclose(ours.coefs, coefs.T, rtol=0, atol=1e-8 * scale)
    assert np.array_equal(ours.coefs == 0, coefs.T == 0)  # the same exact zeros


@pytest.mark.parametrize("dataset", ["multicollinear", "diabetes"])
def test_elastic_net_matches_sklearn_enet_path(dataset, request):
    from sklearn.linear_model import enet_path

    x, y, _ = request.getfixturevalue(dataset)
    ours = regularization_path(x, y, "elastic_net", l1_ratio=0.3, n_lambdas=12)
    _, coefs, _ = enet_path(x, y, l1_ratio=0.3, alphas=ours.lambdas, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(ours.coefs, coefs.T, rtol=0, atol=1e-8 * np.abs(ours.coefs).max())
    assert ours.l1_ratio == 0.3 and "ElasticNet(alpha=λ, l1_ratio=0.3)" in ours.convention


def test_ridge_matches_closed_form_and_sklearn_ridge(diabetes):
    from sklearn.linear_model import Ridge

    x, y, _ = diabetes
    n = len(x)
    result = regularization_path(x, y, "ridge", n_lambdas=8)
    for lam, coef in zip(result.lambdas, result.coefs, strict=True):
        closed = np.linalg.solve(x.T @ x + n * lam * np.eye(x.shape[1]), x.T @ y)
        np.testing.assert_allclose(coef, closed, rtol=1e-10)
        sk = Ridge(alpha=n * lam, fit_intercept=False, solver="cholesky").fit(x, y).coef_
        np.testing.assert_allclose(coef, sk, rtol=1e-9, atol=1e-12)
    assert "Ridge(alpha=n·λ)" in result.convention and result.l1_ratio == 0.0


# --- path properties ------------------------------------------------------------------------


def test_default_grid_starts_at_lambda_max(multicollinear):
    x, y, _ = multicollinear
    n = len(x)
    lasso = regularization_path(x, y, "l1", n_lambdas=20)
    lam_max = np.abs(x.T @ y).max() / n
    assert lasso.lambdas.shape == (20,)
    np.testing.assert_allclose(lasso.lambdas[[0, -1]], [lam_max, lam_max * 1e-3], rtol=1e-12)
    np.testing.assert_allclose(np.diff(np.log(lasso.lambdas)), np.log(1e-3) / 19)
    assert lasso.sparsity[0] == 1.0 and np.all(lasso.coefs[0] == 0)  # all zero at λ_max
    just_below = regularization_path(x, y, "l1", [lam_max * (1 - 1e-6)])
    assert just_below.sparsity[0] < 1.0  # λ_max is the smallest all-zero λ
    assert lasso.sparsity[-1] == 0.0  # dense at small λ
    enet = regularization_path(x, y, "elastic_net", l1_ratio=0.25, n_lambdas=5)
    np.testing.assert_allclose(enet.lambdas[0], lam_max / 0.25, rtol=1e-12)
    assert enet.sparsity[0] == 1.0


def test_lasso_sparsity_grows_with_lambda_and_matches_zeros(diabetes):
    x, y, _ = diabetes
    result = regularization_path(x, y, "lasso")
    np.testing.assert_array_equal(result.sparsity, (result.coefs == 0).mean(axis=1))
    assert result.sparsity[0] == 1.0 and result.sparsity[-1] <= 0.1
    # Not monotone step by step on this data (a weight may leave and re-enter), but
    # broadly: sparser at every larger-λ decade.
    decades = [result.sparsity[i : i + 10].mean() for i in (0, 10, 20)]
    assert decades[0] > decades[1] > decades[2]


def test_ridge_is_never_exactly_zero_and_shrinks(multicollinear):
    x, y, _ = multicollinear
    result = regularization_path(x, y, "l2")
    assert np.all(result.coefs != 0) and np.all(result.sparsity == 0)
    norms = np.linalg.norm(result.coefs, axis=1)
    assert np.all(np.diff(norms) > 0)  # λ decreases along the rows
    assert norms[0] < 1e-2 * norms[-1]


def test_lambdas_sorted_aliases_and_tensors(multicollinear):
    x, y, _ = multicollinear
    a = regularization_path(x, y, "l1", [0.01, 1.0, 0.1])
    np.testing.assert_array_equal(a.lambdas, [1.0, 0.1, 0.01])
    b = regularization_path(torch.from_numpy(x), torch.from_numpy(y), "lasso", [1.0, 0.1, 0.01])
    np.testing.assert_array_equal(a.coefs, b.coefs)
    assert a.kind == b.kind == "l1" and regularization_path(x, y, "ridge", [1.0]).kind == "l2"
    assert KINDS == ("l1", "lasso", "l2", "ridge", "elastic_net")
    # elastic net with l1_ratio = 1 is the lasso
    c = regularization_path(x, y, "elastic_net", [1.0, 0.1, 0.01], l1_ratio=1.0)
    np.testing.assert_allclose(c.coefs, a.coefs, atol=1e-14)


def test_kkt_conditions_on_the_path(multicollinear):
    x, y, _ = multicollinear
    n = len(x)
    r = 0.6
    result = regularization_path(x, y, "elastic_net", l1_ratio=r, n_lambdas=10)
    for lam, w in zip(result.lambdas, result.coefs, strict=True):
        grad = -x.T @ (y - x @ w) / n + lam * (1 - r) * w
        on = w != 0
        np.testing.assert_allclose(grad[on], -lam * r * np.sign(w[on]), atol=1e-12)
        assert np.all(np.abs(grad[~on]) <= lam * r * (1 + 1e-9))


def test_zero_points():
    result = PathResult(
        kind="l1",
        lambdas=np.array([4.0, 2.0, 1.0, 0.5]),
        coefs=np.array(
            [[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]]
        ),
        sparsity=np.zeros(4),
        l1_ratio=1.0,
        convention="",
    )
    assert zero_points(result) == [2.0, 4.0, None, 0.5]


# --- validation -----------------------------------------------------------------------------


def test_path_errors():
    x, y = np.eye(3), np.ones(3)
    owner = "The '{}' parameter of regularization_path must be "
    cases = [
        (
            {"kind": "l3"},
            ValueError,
            owner.format("kind") + "one of 'l1', 'lasso', 'l2', 'ridge', 'elastic_net'. Got 'l3'.",
        ),
        (
            {"lambdas": [1.0, -1.0]},
            ValueError,
            owner.format("lambdas")
            + "a non-empty 1-D sequence of finite floats > 0 or None. Got [1.0, -1.0].",
        ),
        (
            {"lambdas": [0.0]},
            ValueError,
            owner.format("lambdas")
            + "a non-empty 1-D sequence of finite floats > 0 or None. Got [0.0].",
        ),
        (
            {"lambdas": []},
            ValueError,
            owner.format("lambdas")
            + "a non-empty 1-D sequence of finite floats > 0 or None. Got [].",
        ),
        (
            {"lambdas": [float("nan")]},
            ValueError,
            owner.format("lambdas")
            + "a non-empty 1-D sequence of finite floats > 0 or None. Got [nan].",
        ),
        ({"l1_ratio": 0.0}, ValueError, owner.format("l1_ratio") + "a float in (0, 1]. Got 0.0."),
        ({"l1_ratio": 1.5}, ValueError, owner.format("l1_ratio") + "a float in (0, 1]. Got 1.5."),
        ({"n_lambdas": 0}, ValueError, owner.format("n_lambdas") + "an int >= 1. Got 0."),
        (
            {"x": np.ones(3)},
            ValueError,
            owner.format("x")
            + "a finite 2-D array [n_samples, n_features] with at least one sample. Got an array of shape (3,).",
        ),
        (
            {"x": np.full((3, 2), np.nan)},
            ValueError,
            owner.format("x")
            + "a finite 2-D array [n_samples, n_features] with at least one sample. Got an array with NaN or inf.",
        ),
        (
            {"x": "abc"},
            TypeError,
            owner.format("x")
            + "a finite 2-D array [n_samples, n_features] with at least one sample. Got str.",
        ),
        (
            {"y": np.ones((3, 1))},
            ValueError,
            owner.format("y")
            + "a finite 1-D array [n_samples] with at least one sample. Got an array of shape (3, 1).",
        ),
        (
            {"y": np.ones(4)},
            ValueError,
            owner.format("y") + "an array of 3 targets (one per row of x). Got 4.",
        ),
    ]
    for change, error, text in cases:
        with pytest.raises(error, match=msg(text)):
            regularization_path(**{"x": x, "y": y, "kind": "l1", **change})


# --- the figure -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three(multicollinear):
    x, y, data = multicollinear
    results = [
        regularization_path(x, y, kind, n_lambdas=15) for kind in ("lasso", "ridge", "elastic_net")
    ]
    return results, data.info["coef"]


def test_figure_layout_and_traces(three):
    results, truth = three
    fig = path_figure(results, truth=truth)
    axes = fig.axes
    assert len(axes) == 6  # coefficient row and sparsity row, one column per kind
    tops = [ax for ax in axes if ax.get_ylabel() == "coefficient"]
    bottoms = [ax for ax in axes if ax.get_ylabel() == "fraction zero"]
    assert [ax.get_title() for ax in tops] == [
        "Lasso (L1)",
        "Ridge (L2)",
        "Elastic net (l1_ratio = 0.5)",
    ]
    for top, bottom, result in zip(tops, bottoms, results, strict=True):
        assert top.get_xscale() == "log" and bottom.get_xscale() == "log"
        coef_lines = lines(top, "coef")
        assert len(coef_lines) == 10
        for j, line in enumerate(coef_lines):
            np.testing.assert_array_equal(line.get_xdata(), result.lambdas)
            np.testing.assert_array_equal(line.get_ydata(), result.coefs[:, j])
        truth_lines = lines(top, "truth")
        assert [float(line.get_ydata()[0]) for line in truth_lines] == pytest.approx(truth)
        assert all(line.get_linestyle() == "--" for line in truth_lines)
        (sparsity,) = lines(bottom, "sparsity")
        np.testing.assert_array_equal(sparsity.get_ydata(), result.sparsity)
        markers = lines(top, "zero")
        expected = [z for z in zero_points(result) if z is not None]
        assert sorted(float(m.get_xdata()[0]) for m in markers) == sorted(expected)
        assert all(m.get_ydata()[0] == 0.0 for m in markers)
    assert len(lines(tops[0], "zero")) == 10  # every lasso weight is zero at λ_max
    assert lines(tops[1], "zero") == []  # ridge never
    assert "1/(2n)" in fig.get_suptitle()
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == [f"x{j}" for j in range(10)]


def test_figure_single_result_names_and_png(diabetes, tmp_path):
    x, y, data = diabetes
    result = regularization_path(x, y, "l1", n_lambdas=10)
    fig = path_figure(result, feature_names=data.info["feature_names"])
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.legends[0].get_texts()] == data.info["feature_names"]
    assert lines(fig.axes[0], "truth") == []
    out = save(fig, tmp_path / "paths.png")
    payload = out.read_bytes()
    assert payload.startswith(b"\x89PNG") and len(payload) > 10_000


def test_figure_errors(three):
    results, _ = three
    small = regularization_path(np.eye(3), np.ones(3), "l1", [1.0])
    cases = [
        (
            {"results": []},
            "The 'results' parameter of path_figure must be a PathResult or a non-empty list of them with equal n_features. Got [].",
        ),
        (
            {"results": [results[0], small]},
            "The 'results' parameter of path_figure must be a PathResult or a non-empty list of them with equal n_features. Got [PathResult(",
        ),
        (
            {"results": results, "feature_names": ["a", "b"]},
            "The 'feature_names' parameter of path_figure must be None or 10 names. Got ['a', 'b'].",
        ),
        (
            {"results": results, "truth": [1.0, 2.0]},
            "The 'truth' parameter of path_figure must be None or 10 finite floats (one per feature). Got an array of shape (2,).",
        ),
    ]
    for kwargs, text in cases:
        with pytest.raises(ValueError, match=msg(text)):
            path_figure(**kwargs)
