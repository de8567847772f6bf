"""scikit-learn's bundled datasets: ``digits`` (classification) and ``diabetes``
(regression).  Both ship inside scikit-learn; nothing is downloaded.

- digits: 1797 handwritten digits as 8×8 images with values 0–16, 10 classes (UCI
  "Optical Recognition of Handwritten Digits", Alpaydin & Kaynak 1998).
- diabetes: 442 patients, 10 raw baseline features (age, sex, BMI, blood pressure, six
  serum measurements), target a disease-progression score one year later (Efron, Hastie,
  Johnstone & Tibshirani 2004, "Least Angle Regression").  The target is standardized
  with the training statistics when ``standardize=True``.
"""

from __future__ import annotations

import numpy as np

from weightlab.data.base import BOOL, Arrays, register

__all__: list[str] = []


@register("digits", {"flatten": BOOL}, val_fraction=0.25)
def _digits(rng: np.random.Generator, flatten: bool = True) -> Arrays:
    """scikit-learn's 8×8 digits, 10 classes; ``flatten`` gives (64,), else (1, 8, 8)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64)
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    info = {"feature_names": list(bunch.feature_names), "source": "scikit-learn load_digits"}
    return Arrays(x, np.asarray(bunch.target, dtype=np.int64), "classification", 10, info)


@register("diabetes", {}, val_fraction=0.25, scale_target=True)
def _diabetes(rng: np.random.Generator) -> Arrays:
    """scikit-learn's diabetes regression: 10 raw features, progression target."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)
    info = {"feature_names": list(bunch.feature_names), "source": "scikit-learn load_diabetes"}
    x = np.asarray(bunch.data, dtype=np.float64)
    return Arrays(x, np.asarray(bunch.target, dtype=np.float64), "regression", None, info)
