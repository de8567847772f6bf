"""2-D toy sets: TensorFlow Playground's geometry, noise, balance, and its two regression
sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from weightlab.data import load_dataset
from weightlab.data.toy2d import CLASSIFICATION_KINDS, REGRESSION_KINDS, TOY_KINDS, toy2d


def _raw(kind: str, noise: float, n: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_dataset(kind, n_samples=n, noise=noise, standardize=False, seed=11)
    return torch.cat([data.x_train, data.x_val]).double(), torch.cat([data.y_train, data.y_val])


def test_kinds() -> None:
    assert (*CLASSIFICATION_KINDS, *REGRESSION_KINDS) == TOY_KINDS
    assert REGRESSION_KINDS == ("plane", "multigauss")


@pytest.mark.parametrize("kind", CLASSIFICATION_KINDS)
@pytest.mark.parametrize("n", [7, 400])
def test_balanced_binary_labels(kind: str, n: int) -> None:
    x, y = _raw(kind, 0.0, n)  # noise flips circle's labels, so check balance without it
    assert x.shape == (n, 2)
    assert set(y.tolist()) <= {0, 1}
    if kind != "xor":  # xor's classes are balanced only in expectation
        assert int((y == 1).sum()) in (n // 2, n - n // 2)
    assert x.abs().max() < 8


def test_noiseless_circle_labels_follow_the_radius() -> None:
    x, y = _raw("circle", 0.0)
    radius = x.norm(dim=1)
    assert torch.equal(y == 1, radius < 2.5)
    assert radius[y == 0].min() >= 3.5 and radius.max() <= 5.0


def test_noise_flips_circle_labels_near_the_border() -> None:
    x, y = _raw("circle", 0.5)
    flipped = (y == 1) != (x.norm(dim=1) < 2.5)
    assert 0 < int(flipped.sum()) < 200


def test_noiseless_xor_labels_follow_the_quadrant() -> None:
    x, y = _raw("xor", 0.0)
    assert torch.equal(y == 1, x[:, 0] * x[:, 1] >= 0)
    assert x.abs().min() >= 0.3


def test_gauss_variance_follows_playground_noise_scale() -> None:
    # Playground maps noise in [0, 0.5] to variance in [0.5, 4]: v = 0.5 + 7 * noise.
    x, y = _raw("gauss", 0.2, n=4000)
    centred = torch.where((y == 1)[:, None], x - 2.0, x + 2.0)
    assert centred.var(0).tolist() == pytest.approx([1.9, 1.9], rel=0.1)


def test_noiseless_spiral_points_lie_on_two_arms() -> None:
    x, y = _raw("spiral", 0.0, n=40)
    r = x.norm(dim=1)
    theta = torch.atan2(x[:, 0], x[:, 1])  # the generator uses (r sin t, r cos t)
    expected = 1.75 * 2 * math.pi * r / 5 + torch.where(y == 1, 0.0, math.pi)
    diff = torch.remainder(theta - expected + math.pi, 2 * math.pi) - math.pi
    assert diff[r > 0].abs().max() < 1e-5  # float32 points


def test_noiseless_moons_lie_on_unit_arcs() -> None:
    x, y = _raw("moons", 0.0)
    unit = x / 2.5 + torch.tensor([0.5, 0.25], dtype=x.dtype)
    centre = torch.where(
        (y == 1)[:, None], torch.tensor([1.0, 0.5]).double(), torch.zeros(2).double()
    )
    assert torch.allclose((unit - centre).norm(dim=1), torch.ones(len(x), dtype=x.dtype))


def test_toy2d_is_deterministic_for_a_generator_seed() -> None:
    a = toy2d("moons", 20, 0.1, np.random.default_rng(4))
    b = toy2d("moons", 20, 0.1, np.random.default_rng(4))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert a.info["feature_names"] == ["x1", "x2"]


# -- regression: the Playground's plane and six Gaussian bumps --------------------------------


@pytest.mark.parametrize("kind", REGRESSION_KINDS)
def test_regression_sets_are_float_targets_on_the_playground_square(kind: str) -> None:
    data = load_dataset(kind, n_samples=300, noise=0.0, standardize=False, seed=3)
    assert (data.task, data.n_classes, data.n_outputs) == ("regression", None, 1)
    assert data.y_train.dtype == torch.float32 and data.y_train.shape == (150,)
    x, y = _raw(kind, 0.0)
    assert x.abs().max() <= 6.0 and x.abs().max() > 5.0  # U(-6, 6)^2
    assert y.abs().max() <= 1.2 + 1e-6


def test_noiseless_plane_is_the_sum_over_ten() -> None:
    x, y = _raw("plane", 0.0)
    assert torch.allclose(y.double(), (x[:, 0] + x[:, 1]) / 10, atol=1e-6)


def test_noisy_plane_reads_the_target_at_a_shifted_point() -> None:
    x, y = _raw("plane", 0.5)
    error = y.double() - (x[:, 0] + x[:, 1]) / 10
    # The shift is U(-3, 3) per coordinate: the sum moves by at most 6, the target by 0.6.
    assert float(error.abs().mean()) > 0.1 and float(error.abs().max()) <= 0.6 + 1e-6


def test_noiseless_multigauss_follows_the_nearest_bump() -> None:
    x, y = _raw("multigauss", 0.0, n=2000)
    centres = torch.tensor([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    signs = torch.tensor([1.0, -1, 1, -1, 1, -1], dtype=torch.float64)
    distance = torch.cdist(x, centres.double())
    nearest = distance.argmin(dim=1)
    expected = signs[nearest] * (1 - distance.min(dim=1).values / 2).clamp(min=0)
    assert torch.allclose(y.double(), expected, atol=1e-6)
    # Each bump's centre is its extreme value; far from every centre the target is 0.
    at = toy2d("multigauss", 1, 0.0, np.random.default_rng(0))
    assert at.task == "regression" and at.n_classes is None
    assert float((y == 0).double().mean()) > 0.2
    assert float(y.max()) > 0.9 and float(y.min()) < -0.9


@pytest.mark.parametrize("kind", REGRESSION_KINDS)
def test_regression_sets_are_deterministic_and_the_seed_matters(kind: str) -> None:
    a = load_dataset(kind, n_samples=50, seed=1)
    b = load_dataset(kind, n_samples=50, seed=1)
    c = load_dataset(kind, n_samples=50, seed=2)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_train, c.x_train)
