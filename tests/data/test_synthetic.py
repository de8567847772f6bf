"""Seed 001's cases: sparse informative features (L1) and multicollinear features (L2)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression

from weightlab.data import load_dataset

# scikit-learn 1.8 replaced penalty="l1" by l1_ratio=1.
L1 = (
    {"l1_ratio": 1.0}
    if tuple(map(int, sklearn.__version__.split(".")[:2])) >= (1, 8)
    else {"penalty": "l1"}
)


def test_sparse_features_record_their_true_coefficients() -> None:
    data = load_dataset("sparse_features", seed=3)
    informative = data.info["informative"]
    coef = np.asarray(data.info["coef"])
    assert data.input_shape == (200,) and len(coef) == 200
    assert informative == sorted(informative) and len(set(informative)) == 5
    assert np.flatnonzero(coef).tolist() == informative
    assert np.all((np.abs(coef[informative]) >= 1) & (np.abs(coef[informative]) <= 2))


def test_noiseless_sparse_labels_are_the_sign_of_the_logit() -> None:
    data = load_dataset("sparse_features", seed=3, noise=0.0, standardize=False)
    coef = torch.tensor(data.info["coef"])
    assert torch.equal(data.y_train, (data.x_train @ coef > 0).long())


def test_l1_logistic_regression_recovers_the_informative_features() -> None:
    # Statistical: n = 400 samples, 200 features, 5 informative with |coef| in [1, 2] at
    # the default noise; an L1 fit's 5 largest weights should be (almost) the true 5.
    data = load_dataset("sparse_features", seed=0)
    model = LogisticRegression(C=0.1, solver="liblinear", **L1)
    model.fit(data.x_train.numpy(), data.y_train.numpy())
    top = set(np.argsort(-np.abs(model.coef_[0]))[:5].tolist())
    assert len(top & set(data.info["informative"])) >= 4
    assert model.score(data.x_val.numpy(), data.y_val.numpy()) > 0.8
    assert np.count_nonzero(model.coef_) < 30  # and ignores most of the other 195


def _corr(x: torch.Tensor) -> np.ndarray:
    return np.corrcoef(x.double().numpy(), rowvar=False)


def test_multicollinear_features_correlate_rho() -> None:
    # With 2000 samples a correlation near 0.9 has a standard error of about 0.004.
    data = load_dataset("multicollinear", n_samples=2000, rho=0.9, standardize=False, seed=1)
    c = _corr(torch.cat([data.x_train, data.x_val]))
    off = c[~np.eye(10, dtype=bool)]
    assert off.mean() == pytest.approx(0.9, abs=0.01)
    assert np.abs(off - 0.9).max() < 0.03


def test_multicollinear_groups_are_uncorrelated_with_each_other() -> None:
    data = load_dataset(
        "multicollinear", n_samples=2000, n_features=6, n_groups=2, standardize=False
    )
    assert data.info["groups"] == [0, 0, 0, 1, 1, 1]
    c = _corr(torch.cat([data.x_train, data.x_val]))
    assert c[:3, :3][~np.eye(3, dtype=bool)].min() > 0.9
    assert np.abs(c[:3, 3:]).max() < 0.08  # 4 standard errors of a zero correlation


def test_multicollinear_target_is_linear_in_the_features() -> None:
    data = load_dataset("multicollinear", n_samples=2000, noise=0.5, standardize=False)
    x = torch.cat([data.x_train, data.x_val]).double().numpy()
    y = torch.cat([data.y_train, data.y_val]).double().numpy()
    coef = np.asarray(data.info["coef"])
    assert np.std(y - x @ coef) == pytest.approx(0.5, rel=0.05)
    assert np.all((np.abs(coef) >= 0.5) & (np.abs(coef) <= 1.5))
    # Plain least squares finds the coefficients from many samples...
    fit = LinearRegression().fit(x, y)
    assert np.abs(fit.coef_ - coef).max() < 0.2


def test_independent_features_when_rho_is_zero() -> None:
    data = load_dataset("multicollinear", n_samples=2000, rho=0.0, standardize=False)
    c = _corr(torch.cat([data.x_train, data.x_val]))
    assert np.abs(c[~np.eye(10, dtype=bool)]).max() < 0.08
