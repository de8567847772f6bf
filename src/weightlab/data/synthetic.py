"""Seed 001's example scenarios, generated with known true coefficients.

- ``sparse_features`` (where L1 helps: "only a few words matter"): many features, few of
  them informative.  ``x ~ N(0, I)``, ``coef`` zero except at ``n_informative`` random
  indices where it is ``±U(1, 2)``, and ``y = 1[x·coef + noise·ε > 0]``, ``ε ~ N(0, 1)``.
  ``info["informative"]`` lists the true indices, ``info["coef"]`` the coefficients.
- ``multicollinear`` (where L2 helps): features split into ``n_groups`` contiguous groups,
  each driven by one latent factor, ``x_j = √ρ·f_g(j) + √(1−ρ)·e_j`` with ``f, e ~ N(0, 1)``,
  so every feature has unit variance and two features of one group correlate ``ρ`` (of
  different groups, 0).  ``y = x·coef + noise·ε`` with ``coef = ±U(0.5, 1.5)``; plain
  least squares then has coefficient variance growing like ``1/(1−ρ)`` (Hoerl &
  Kennard 1970, "Ridge Regression").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import Interval, fail
from weightlab.data.base import Arrays, register

__all__: list[str] = []

Array = npt.NDArray[Any]

COUNT = Interval(2, math.inf, "left", integer=True)
NOISE = Interval(0.0, math.inf, "left")


def _signed(rng: np.random.Generator, count: int, low: float, high: float) -> Array:
    return rng.choice([-1.0, 1.0], count) * rng.uniform(low, high, count)


def _at_most_features(values: Mapping[str, Any], name: str) -> None:
    if values[name] > values["n_features"]:
        expected = f"an int in [1, n_features ({values['n_features']})]"
        raise fail("load_dataset", name, expected, values[name])


@register(
    "sparse_features",
    {
        "n_samples": COUNT,
        "n_features": Interval(1, math.inf, "left", integer=True),
        "n_informative": Interval(1, math.inf, "left", integer=True),
        "noise": NOISE,
    },
    val_fraction=0.25,
    cross=lambda values: _at_most_features(values, "n_informative"),
)
def _sparse_features(
    rng: np.random.Generator,
    n_samples: int = 400,
    n_features: int = 200,
    n_informative: int = 5,
    noise: float = 0.5,
) -> Arrays:
    """Binary classification from a sparse linear logit (seed 001's case for L1)."""
    x = rng.standard_normal((n_samples, n_features))
    informative = np.sort(rng.choice(n_features, n_informative, replace=False))
    coef = np.zeros(n_features)
    coef[informative] = _signed(rng, n_informative, 1.0, 2.0)
    logit = x @ coef + noise * rng.standard_normal(n_samples)
    info = {
        "informative": informative.tolist(),
        "coef": coef.tolist(),
        "source": "synthetic: y = 1[x·coef + noise·ε > 0], coef sparse",
    }
    return Arrays(x, (logit > 0).astype(np.int64), "classification", 2, info)


@register(
    "multicollinear",
    {
        "n_samples": COUNT,
        "n_features": Interval(1, math.inf, "left", integer=True),
        "rho": Interval(0.0, 1.0, "left"),
        "n_groups": Interval(1, math.inf, "left", integer=True),
        "noise": NOISE,
    },
    val_fraction=0.25,
    cross=lambda values: _at_most_features(values, "n_groups"),
)
def _multicollinear(
    rng: np.random.Generator,
    n_samples: int = 200,
    n_features: int = 10,
    rho: float = 0.95,
    n_groups: int = 1,
    noise: float = 0.5,
) -> Arrays:
    """Regression on correlated features (seed 001's case for L2)."""
    groups = np.arange(n_features) * n_groups // n_features
    latent = rng.standard_normal((n_samples, n_groups))
    own = rng.standard_normal((n_samples, n_features))
    x = math.sqrt(rho) * latent[:, groups] + math.sqrt(1.0 - rho) * own
    coef = _signed(rng, n_features, 0.5, 1.5)
    y = x @ coef + noise * rng.standard_normal(n_samples)
    info = {
        "coef": coef.tolist(),
        "groups": groups.tolist(),
        "source": "synthetic: x_j = √ρ·f_group + √(1−ρ)·e_j, y = x·coef + noise·ε",
    }
    return Arrays(x, y, "regression", None, info)
