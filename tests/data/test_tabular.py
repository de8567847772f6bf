"""scikit-learn's digits and diabetes: sizes, layouts, target standardization."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits

from weightlab.data import load_dataset


def test_digits_shapes_and_classes() -> None:
    data = load_dataset("digits")
    assert (len(data.y_train), len(data.y_val)) == (1348, 449)
    assert data.input_shape == (64,) and data.n_classes == 10
    assert data.info["feature_names"][:2] == ["pixel_0_0", "pixel_0_1"]


def test_digits_images_hold_the_same_values() -> None:
    flat = load_dataset("digits", standardize=False, seed=4)
    images = load_dataset("digits", standardize=False, seed=4, flatten=False)
    assert images.input_shape == (1, 8, 8)
    assert torch.equal(images.x_train.flatten(1), flat.x_train)
    assert torch.equal(images.y_val, flat.y_val)
    everything = np.sort(torch.cat([flat.x_train, flat.x_val]).numpy(), axis=0)
    assert np.array_equal(everything, np.sort(load_digits().data.astype(np.float32), axis=0))


def test_diabetes_target_is_standardized_with_training_statistics() -> None:
    data = load_dataset("diabetes", seed=1)
    raw = load_dataset("diabetes", seed=1, standardize=False)
    assert data.input_shape == (10,) and data.n_classes is None and data.n_outputs == 1
    assert float(data.y_train.double().mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(data.y_train.double().std(unbiased=False)) == pytest.approx(1.0)
    mean, std = data.info["target_mean"], data.info["target_std"]
    assert mean == pytest.approx(float(raw.y_train.double().mean()))
    assert torch.allclose(data.y_val * std + mean, raw.y_val, rtol=1e-5)
    assert sorted(torch.cat([raw.y_train, raw.y_val]).tolist()) == sorted(
        load_diabetes().target.tolist()
    )
    assert data.info["feature_names"][:3] == ["age", "sex", "bmi"]
