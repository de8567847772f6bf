"""Every number a caption prints comes from a small function; each is checked here on a
case whose answer is known in closed form (soft-thresholding on an orthonormal design,
the lasso and ridge paths of a 2 × 2 quadratic) or by construction."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from weightlab.landscape import l1_first_axis, l2_zero_crossings, objective, regularized_path
from weightlab.report.background import landscape_caption, paths_caption
from weightlab.report.paths import (
    PathResult,
    regularization_path,
    sign_changes,
    zero_fraction_from,
)
from weightlab.report.runs import (
    best_setting,
    collapsed,
    finite_mean,
    first_and_last_hidden,
    gap_caption,
    init_loss_caption,
    percent,
    seed_spread,
    variance_caption,
    weights_caption,
)

# --- the lasso on an orthonormal design: soft-thresholding ----------------------------------

B = np.array([3.0, -2.0, 1.0, 0.5, -0.25, 4.0])
"""OLS coefficients b = Xᵀy/n; sorted |b|: 0.25, 0.5, 1, 2, 3, 4."""


def orthonormal(b: np.ndarray, n: int = 9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x`` with ``XᵀX/n = I`` (a random orthonormal basis, scaled) and ``y`` with
    ``Xᵀy/n = b``."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, len(b))))
    x = math.sqrt(n) * q
    return x, x @ b


def soft(b: np.ndarray, lam: float) -> np.ndarray:
    return np.sign(b) * np.maximum(np.abs(b) - lam, 0.0)


def test_the_orthonormal_lasso_is_soft_thresholding():
    x, y = orthonormal(B)
    np.testing.assert_allclose(x.T @ x / len(x), np.eye(len(B)), atol=1e-12)
    grid = np.geomspace(5.0, 0.01, 23)
    result = regularization_path(x, y, "l1", grid)
    expected = np.array([soft(B, lam) for lam in result.lambdas])
    np.testing.assert_allclose(result.coefs, expected, atol=1e-10)
    assert np.array_equal(result.coefs == 0, expected == 0)


@pytest.mark.parametrize(("fraction", "kth"), [(1 / 6, 0.25), (0.5, 1.0), (4 / 6, 2.0), (1.0, 4.0)])
def test_zero_fraction_from_is_the_smallest_grid_lambda_above_the_kth_threshold(fraction, kth):
    # k of the 6 coefficients are zero exactly when λ ≥ the k-th smallest |b|.
    x, y = orthonormal(B)
    grid = np.geomspace(5.0, 0.01, 23)  # no grid point within 1e-3 of a threshold
    result = regularization_path(x, y, "lasso", grid)
    expected = min(lam for lam in grid if lam >= kth)
    assert zero_fraction_from(result, fraction) == pytest.approx(expected, rel=1e-15)


def test_zero_fraction_from_on_the_default_grid_is_not_lambda_max():
    # The bug this replaces: an argmax over the descending grid gave λ_max (every
    # coefficient zero) as the λ where half are zero.
    x, y = orthonormal(B)
    result = regularization_path(x, y, "l1", n_lambdas=40)
    assert result.lambdas[0] == pytest.approx(4.0)  # λ_max = max|b|
    half = zero_fraction_from(result, 0.5)
    assert half == pytest.approx(min(lam for lam in result.lambdas if lam >= 1.0))
    assert 1.0 <= half < 1.2 and half < result.lambdas[0]


def test_zero_fraction_from_needs_every_larger_lambda_and_ignores_grid_order():
    # Built by hand: the fraction dips below one half at λ = 3 and comes back at λ = 2.
    lambdas = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    coefs = np.array(
        [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=float
    )
    result = PathResult("l1", lambdas, coefs, (coefs == 0).mean(axis=1), 1.0, "")
    assert zero_fraction_from(result, 0.5) == 4.0  # not 2.0: λ = 3 has only a quarter zero
    assert zero_fraction_from(result, 0.25) == 2.0
    assert zero_fraction_from(result, 0.0) == 1.0
    backwards = PathResult("l1", lambdas[::-1], coefs[::-1], result.sparsity[::-1], 1.0, "")
    assert zero_fraction_from(backwards, 0.5) == 4.0
    nothing = PathResult("l1", lambdas, coefs[::-1], result.sparsity[::-1], 1.0, "")
    assert zero_fraction_from(nothing, 0.5) is None  # the largest λ already has none zero


# --- ridge: sign changes ---------------------------------------------------------------------


def correlated(rho: float, w: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Two features with ``XᵀX/n = [[1, ρ], [ρ, 1]]`` (n = 2) and OLS solution ``w``."""
    x = math.sqrt(2) * np.array([[1.0, rho], [0.0, math.sqrt(1 - rho**2)]])
    return x, x @ np.array(w)


def test_ridge_sign_change_brackets_its_closed_form():
    # b = A w = (0.91, 0.8); coefficient 2 of (A + λI)⁻¹b is ((1 + λ)b₂ − ρb₁)/det,
    # zero at λ = ρb₁/b₂ − 1 = 0.9 · 0.91 / 0.8 − 1 = 0.02375.
    x, y = correlated(0.9, (1.0, -0.1))
    crossing = 0.9 * 0.91 / 0.8 - 1
    assert crossing == pytest.approx(0.02375)
    below, at, above = regularization_path(
        x, y, "ridge", [crossing * 0.99, crossing, crossing * 1.01]
    ).coefs[::-1]
    assert below[1] < 0 < above[1] and abs(at[1]) < 1e-12
    assert sign_changes(regularization_path(x, y, "ridge", [1.0, 0.1, 0.03, 0.01])) == [1]
    assert sign_changes(regularization_path(x, y, "ridge", [1.0, 0.1, 0.03])) == []  # all above


def test_orthonormal_ridge_never_changes_sign():
    x, y = orthonormal(B)
    result = regularization_path(x, y, "ridge", np.geomspace(1e3, 1e-3, 20))
    np.testing.assert_allclose(result.coefs, B / (1 + result.lambdas[:, None]), rtol=1e-10)
    assert sign_changes(result) == []


def test_paths_caption_prints_those_numbers():
    x, y = orthonormal(B)
    grid = np.geomspace(5.0, 0.01, 23)
    lasso = regularization_path(x, y, "l1", grid)
    expected = min(lam for lam in grid if lam >= 1.0)
    x2, y2 = correlated(0.9, (1.0, -0.1))
    ridge = regularization_path(x2, y2, "l2", [1.0, 0.01])
    caption = paths_caption(lasso, ridge)
    assert (
        f"at least half the coefficients are exactly zero at every λ ≥ {expected:.3g} "
        "(the smallest such λ on the path's 23-point grid)"
    ) in caption
    assert (
        "ridge shrinks the coefficients together and sets no coefficient exactly to zero" in caption
    )
    assert "1 of them changes sign as λ grows" in caption
    orthonormal_ridge = regularization_path(x, y, "l2", grid)
    assert "sign" not in paths_caption(lasso, orthonormal_ridge)


# --- the landscape: the L1 and L2 optima of a quadratic --------------------------------------


@pytest.mark.parametrize(
    ("params", "answer"),
    [
        # angle 0: H = diag(1/κ, 1), g = Hc; a diagonal H soft-thresholds g: min_j |g_j|.
        ({"center": (1.5, 0.5), "condition": 4.0, "angle": 0.0}, (0.375, 0)),
        ({"center": (-2.0, 0.3), "condition": 2.0, "angle": 0.0}, (0.3, 1)),
        # angle 90: H = diag(1, 1/κ), g = (1.5, 0.125).
        ({"center": (1.5, 0.5), "condition": 4.0, "angle": 90.0}, (0.125, 1)),
        # The minimum already on an axis: λ = 0.
        ({"center": (1.0, 0.0), "condition": 4.0, "angle": 30.0}, (0.0, 1)),
    ],
)
def test_l1_first_axis_on_diagonal_quadratics(params, answer):
    lam, j = l1_first_axis("quadratic", **params)
    assert (lam, j) == (pytest.approx(answer[0], rel=1e-12, abs=1e-15), answer[1])


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("quadratic", {}),
        ("quadratic", {"center": (-2.0, 0.7), "condition": 9.0, "angle": 30.0}),
        ("booth", {}),
        ("model", {}),
    ],
)
def test_l1_first_axis_is_where_the_exact_path_reaches_the_axis(name, params):
    lam, j = l1_first_axis(name, **params)
    before, after = regularized_path(name, "l1", [lam * 0.999, lam * 1.001], **params)
    assert np.all(before != 0) and after[j] == 0.0 and after[1 - j] != 0.0


def test_the_default_bowl_reaches_an_axis_at_its_closed_form():
    # H = R diag(1/4, 1) Rᵀ at −60°, w* = (1.5, 0.5): w(λ) = w* − λH⁻¹(1, 1) reaches
    # w₂ = 0 at λ = 0.5 / (H⁻¹(1, 1))₂.
    H, _ = objective("quadratic").quadratic
    expected = 0.5 / np.linalg.solve(H, np.ones(2))[1]
    assert l1_first_axis("quadratic") == (pytest.approx(expected, rel=1e-12), 1)
    assert f"{expected:.3g}" == "0.256"


def test_l2_zero_crossings_closed_form():
    # angle 45, κ = 19: H = [[10, −9], [−9, 10]]/19, c = (1, 0.1), g = Hc = (9.1, −8)/19;
    # w₂ = 0 at λ = (H₂₁g₁/g₂ − H₁₁)/2 = (81.9/152 − 80/152)/2 = 0.00625.
    params = {"center": (1.0, 0.1), "condition": 19.0, "angle": 45.0}
    ((lam, j),) = l2_zero_crossings("quadratic", **params)
    assert (lam, j) == (pytest.approx(0.00625, rel=1e-12), 1)
    below, at, above = regularized_path("quadratic", "l2", [lam * 0.9, lam, lam * 1.1], **params)
    assert below[1] > 0 > above[1] and abs(at[1]) < 1e-15  # passes through, does not stay
    assert l2_zero_crossings("quadratic", center=(1.5, 0.5), angle=0.0) == []  # diagonal H
    assert l2_zero_crossings("quadratic", center=(1.5, 0.0), angle=0.0) == [(0.0, 1)]  # g₂ = 0
    assert l2_zero_crossings("quadratic") == []  # the default bowl


def test_closed_forms_reject_objectives_without_one():
    text = (
        "The 'function' parameter of l1_first_axis must be a quadratic objective "
        "('quadratic', 'booth', 'matyas', 'model'). Got 'rosenbrock'."
    )
    with pytest.raises(ValueError, match=re.escape(text)):
        l1_first_axis("rosenbrock")
    with pytest.raises(ValueError, match="parameter of l2_zero_crossings must be a quadratic"):
        l2_zero_crossings("himmelblau")


def test_landscape_caption_prints_the_closed_forms():
    caption = landscape_caption()
    assert "first reaches an axis (w₂ exactly 0) at λ = 0.256;" in caption
    start, stop = regularized_path("quadratic", "l2", [0.0, 1.5])
    assert (
        f"({start[0]:.2f}, {start[1]:.2f}) at λ = 0 to ({stop[0]:.2f}, {stop[1]:.2f}) at λ = 1.5"
        in caption
    )
    assert caption.endswith("and lies on no axis at any λ ≥ 0.")


# --- the runs' captions ------------------------------------------------------------------------


def test_percent_never_rounds_to_none_or_all():
    assert [percent(f) for f in (0.0, 1.0, 0.25, 0.004, 0.0004, 0.996, 0.9996)] == [
        "0%",
        "100%",
        "25%",
        "0.4%",
        "<0.1%",
        "99.6%",
        ">99.9%",
    ]


def test_seed_statistics_skip_diverged_seeds():
    values = [0.5, math.nan, 1.5, math.inf]
    assert finite_mean(values) == 1.0 and seed_spread(values) == 1.0
    assert math.isnan(finite_mean([math.nan])) and math.isnan(seed_spread([]))
    assert best_setting({"a": 2.0, "b": math.nan, "c": 1.0}, higher=False) == "c"
    assert best_setting({"a": 2.0, "b": math.nan, "c": 1.0}, higher=True) == "a"
    assert best_setting({"b": math.nan}, higher=True) is None


def test_first_and_last_hidden_skip_the_output_layer():
    assert first_and_last_hidden([4.0, 2.0, 1.0, 100.0]) == (4.0, 1.0)
    assert variance_caption({"x": [4.0, 2.0, 1.0, 100.0]}) == (
        "First to last hidden layer: x: Var(z) 4 → 1."
    )


def test_collapsed_needs_every_seed_under_the_bound():
    fractions = {"zeros": [1 / 16, 1 / 8], "he": [1.0, 1.0], "one_seed": [0.1, 0.6]}
    assert collapsed(fractions) == {"zeros": 0.125}
    caption = init_loss_caption("val_mse", {"zeros": [2.0, 4.0], "he": [0.5, math.nan]}, fractions)
    assert caption.startswith(
        "Final val_mse, mean over seeds: zeros 3; he 0.5 (1 of 2 seeds not finite, left out)."
    )
    assert " Best: he." in caption  # MSE: lower is better
    assert caption.endswith("zeros (at most 12% distinct).")


def test_gap_and_weight_captions():
    caption = gap_caption({"none": [3.0, 3.2], "l1": [2.0, 2.6], "l2": [1.0, math.nan]})
    assert "none 3.1 (max − min over seeds 0.2)" in caption
    assert "l1 2.3 (max − min over seeds 0.6)" in caption
    assert "l2 1 (max − min over seeds 0; 1 of 2 seeds not finite, left out)" in caption
    assert caption.endswith(
        "Smallest: l2. It narrows the gap by 2.1 compared with no regularization."
    )
    text = weights_caption([("l1", 0.9996), ("l2", 0.0)], 0.0, same_seed=False)
    assert text.startswith("l1 set >99.9% of weights to exactly zero; l2 set 0% of weights")
    assert text.endswith("not every run has the unregularized run's init and seed.")
