"""The landscape's penalties: values, the L2 convention, the registry terms behind them
and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightlab.landscape import objective, penalized, penalty_term, penalty_value
from weightlab.landscape.arrays import POINTS
from weightlab.regularize import elastic_net, l1, l2, make_term

from .conftest import msg


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


def test_penalties_are_the_registry_terms():
    assert str(penalty_term("l1", 0.5)) == "l1(0.5, rule='penalty')"
    assert str(penalty_term("l2", 0.5)) == "l2(0.5, convention='sum_sq')"
    assert penalty_term("none", 0.5) is None
    assert penalty_term("l1", 0.5).kind == penalty_term("l2", 0.5).kind == "penalty"


def test_penalty_values_agree_with_the_torch_penalties_point_by_point():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(6, 2)) * 3
    lam = 0.7
    got_l1 = penalty_value("l1", points[:, 0], points[:, 1], lam=lam)
    got_l2 = penalty_value("l2", points[:, 0], points[:, 1], lam=lam)
    for w, a, b in zip(points, got_l1, got_l2, strict=True):
        t = torch.from_numpy(w)
        assert a == pytest.approx(float(l1([t], lam)), rel=1e-15)
        assert b == pytest.approx(float(l2([t], lam, convention="sum_sq")), rel=1e-15)
        half = float(elastic_net([t], lam, 0.5, convention="sum_sq"))
        assert half == pytest.approx((a + b) / 2, rel=1e-14)
    np.testing.assert_array_equal(penalty_value("none", points[:, 0], points[:, 1]), 0.0)


def test_penalty_value_broadcasts_and_keeps_scalars():
    grid = penalty_value("l2", np.ones((3, 1)), np.arange(4.0))
    assert grid.shape == (3, 4)
    np.testing.assert_array_equal(grid, np.broadcast_to(1.0 + np.arange(4.0) ** 2, (3, 4)))
    one = penalty_value("l1", 1.0, -2.0)
    assert isinstance(one, np.floating) and one == 3.0
    with pytest.raises(
        ValueError, match=msg("The 'lam' parameter of penalty_value must be a float >= 0. Got -1.")
    ):
        penalty_value("l1", 1.0, 1.0, lam=-1)


def test_point_ops_run_every_term_rule_per_point():
    """Each point is one model: the registry's L1 rules on points match the torch rules."""
    prev = np.array([[0.3, -0.2], [1.0, 0.05]])
    proposed = np.array([[-0.1, -0.3], [0.9, -0.02]])
    for rule in ("proximal", "clip", "subgradient"):
        term = make_term("l1", strength=0.5, rule=rule)
        ours = term.rule(POINTS)(prev, proposed, 0.2)
        torch_rule = term.rule()(torch.from_numpy(prev), torch.from_numpy(proposed), 0.2)
        np.testing.assert_array_equal(ours, torch_rule.numpy())
    np.testing.assert_allclose(POINTS.unit_norm(prev)[:, 0], np.hypot(*prev.T))
