"""load_dataset's shared contract: registry, validation, splits, standardization, seeds."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

from weightlab.data import DATASETS, REQUIRED, Dataset, dataset_params, load_dataset
from weightlab.data.base import REGISTRY

from .conftest import msg, same

# Everything that builds in milliseconds (mnist1d and file have their own modules).
FAST: dict[str, dict[str, Any]] = {
    "circle": {"n_samples": 60},
    "xor": {"n_samples": 60},
    "gauss": {"n_samples": 60},
    "spiral": {"n_samples": 60},
    "moons": {"n_samples": 60},
    "plane": {"n_samples": 60},
    "multigauss": {"n_samples": 60},
    "sparse_features": {"n_samples": 80, "n_features": 30},
    "multicollinear": {"n_samples": 80},
    "digits": {},
    "diabetes": {},
}
CLASSES = {
    "digits": 10,
    "diabetes": None,
    "multicollinear": None,
    "plane": None,
    "multigauss": None,
}


def test_registry_lists_every_dataset_in_order() -> None:
    assert set(DATASETS) == set(REGISTRY)
    assert tuple(REGISTRY) == DATASETS
    assert DATASETS[:5] == ("circle", "xor", "gauss", "spiral", "moons")
    assert set(FAST) | {"mnist1d", "file"} == set(DATASETS)


def test_dataset_params_report_defaults() -> None:
    assert dataset_params("circle") == {"n_samples": 400, "noise": 0.1}
    assert dataset_params("mnist1d") == {"channels": False, "n_train": None}
    assert dataset_params("sparse_features")["n_informative"] == 5
    assert dataset_params("multicollinear")["rho"] == 0.95
    assert dataset_params("file")["path"] is REQUIRED
    assert repr(REQUIRED) == "REQUIRED"
    params = dataset_params("circle")
    params["noise"] = 9.0  # a copy: the registry is untouched
    assert dataset_params("circle")["noise"] == 0.1


@pytest.mark.parametrize("name", FAST)
def test_shapes_dtypes_and_classes(name: str) -> None:
    data = load_dataset(name, **FAST[name])
    n_classes = CLASSES.get(name, 2)
    assert data.n_classes == n_classes
    assert data.n_outputs == (n_classes or 1)
    assert data.task == ("regression" if n_classes is None else "classification")
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        assert x.dtype == torch.float32
        assert tuple(x.shape[1:]) == data.input_shape
        assert y.shape == (len(x),)
        if n_classes is None:
            assert y.dtype == torch.float32
        else:
            assert y.dtype == torch.int64
            assert int(y.min()) >= 0 and int(y.max()) < n_classes
    if n_classes is not None:
        assert set(data.y_train.tolist()) == set(range(n_classes))
    assert data.info["params"] == {**dataset_params(name), **FAST[name]}


@pytest.mark.parametrize("name", FAST)
def test_same_seed_same_tensors_other_seed_other_split(name: str) -> None:
    a = load_dataset(name, seed=5, **FAST[name])
    b = load_dataset(name, seed=5, **FAST[name])
    c = load_dataset(name, seed=6, **FAST[name])
    assert same(a, b)
    assert not same(a, c)


@pytest.mark.parametrize("name", FAST)
def test_standardization_uses_training_statistics_only(name: str) -> None:
    data = load_dataset(name, seed=2, **FAST[name])
    raw = load_dataset(name, seed=2, standardize=False, **FAST[name])
    x = data.x_train.double().flatten(1)
    constant = raw.x_train.flatten(1).std(0) == 0
    assert torch.allclose(x.mean(0), torch.zeros(x.shape[1], dtype=x.dtype), atol=1e-5)
    std = x.std(0, unbiased=False)
    assert torch.allclose(std[~constant], torch.ones_like(std[~constant]), atol=1e-4)
    assert torch.all(x[:, constant] == 0)
    # Validation inputs use the training mean and std, so they are not standardized exactly.
    mean = torch.tensor(data.info["feature_mean"], dtype=torch.float64).flatten()
    scale = torch.tensor(data.info["feature_std"], dtype=torch.float64).flatten()
    expected = (raw.x_val.double().flatten(1) - mean) / scale
    assert torch.allclose(data.x_val.double().flatten(1), expected, atol=1e-5)
    assert data.x_val.double().flatten(1).mean(0)[~constant].abs().max() > 1e-3


def test_constant_features_get_std_one() -> None:
    data = load_dataset("digits")
    std = np.asarray(data.info["feature_std"])
    assert std[0] == 1.0  # pixel (0, 0) is blank in every digit
    assert torch.all(data.x_train[:, 0] == 0)


def test_changing_val_fraction_moves_samples_but_keeps_them() -> None:
    a = load_dataset("gauss", n_samples=50, standardize=False, val_fraction=0.2)
    b = load_dataset("gauss", n_samples=50, standardize=False, val_fraction=0.6)
    assert (len(a.y_train), len(a.y_val), len(b.y_train), len(b.y_val)) == (40, 10, 20, 30)

    def points(d: Dataset) -> set[tuple[float, ...]]:
        return {tuple(p) for p in torch.cat([d.x_train, d.x_val]).tolist()}

    assert points(a) == points(b)


def test_default_val_fractions() -> None:
    assert len(load_dataset("circle").y_val) == 200
    assert len(load_dataset("diabetes").y_val) == round(442 * 0.25)


def test_loading_leaves_global_random_state_alone() -> None:
    np_state, py_state, torch_state = (
        np.random.get_state(),
        random.getstate(),
        torch.get_rng_state(),
    )
    load_dataset("spiral", seed=3)
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert np.array_equal(after[1], np_state[1]) and after[2] == np_state[2]


def test_repr_is_short() -> None:
    data = load_dataset("multicollinear", n_samples=40)
    assert repr(data) == (
        "Dataset(name='multicollinear', task='regression', train=30, val=10, input_shape=(10,))"
    )


# --- errors ---------------------------------------------------------------------------------

NAMES = ", ".join(repr(n) for n in DATASETS)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: load_dataset("circel"),
            ValueError,
            f"The 'name' parameter of load_dataset must be one of {NAMES}. Got 'circel'.",
        ),
        (
            lambda: dataset_params("digitz"),
            ValueError,
            f"The 'name' parameter of dataset_params must be one of {NAMES}. Got 'digitz'.",
        ),
        (
            lambda: load_dataset("circle", nosie=0.3),
            ValueError,
            "The 'params' parameter of load_dataset must be keyword arguments accepted by 'circle' (n_samples, noise). Got nosie=0.3.",
        ),
        (
            lambda: load_dataset("diabetes", flatten=True),
            ValueError,
            "The 'params' parameter of load_dataset must be keyword arguments accepted by 'diabetes' (none). Got flatten=True.",
        ),
        (
            lambda: load_dataset("circle", noise=-1.0),
            ValueError,
            "The 'noise' parameter of load_dataset must be a float >= 0. Got -1.0.",
        ),
        (
            lambda: load_dataset("circle", n_samples=10.5),
            TypeError,
            "The 'n_samples' parameter of load_dataset must be an int >= 2. Got 10.5.",
        ),
        (
            lambda: load_dataset("circle", seed=-1),
            ValueError,
            "The 'seed' parameter of load_dataset must be an int >= 0. Got -1.",
        ),
        (
            lambda: load_dataset("circle", val_fraction=1.0),
            ValueError,
            "The 'val_fraction' parameter of load_dataset must be a float in (0, 1) or None. Got 1.0.",
        ),
        (
            lambda: load_dataset("circle", n_samples=10, val_fraction=0.01),
            ValueError,
            "The 'val_fraction' parameter of load_dataset must be a float in (0, 1) leaving at least one sample on each side of 10. Got 0.01.",
        ),
        (
            lambda: load_dataset("circle", standardize="yes"),
            TypeError,
            "The 'standardize' parameter of load_dataset must be a bool. Got 'yes'.",
        ),
        (
            lambda: load_dataset("digits", flatten=1),
            TypeError,
            "The 'flatten' parameter of load_dataset must be a bool. Got 1.",
        ),
        (
            lambda: load_dataset("sparse_features", n_features=4, n_informative=5),
            ValueError,
            "The 'n_informative' parameter of load_dataset must be an int in [1, n_features (4)]. Got 5.",
        ),
        (
            lambda: load_dataset("multicollinear", n_groups=11),
            ValueError,
            "The 'n_groups' parameter of load_dataset must be an int in [1, n_features (10)]. Got 11.",
        ),
        (
            lambda: load_dataset("multicollinear", rho=1.0),
            ValueError,
            "The 'rho' parameter of load_dataset must be a float in [0, 1). Got 1.0.",
        ),
        (
            lambda: load_dataset("file"),
            ValueError,
            "The 'path' parameter of load_dataset must be given for 'file'. Got nothing.",
        ),
    ],
)
def test_bad_input_names_the_parameter(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=msg(message)):
        call()


def test_integer_noise_is_the_same_dataset() -> None:
    a = load_dataset("xor", n_samples=30, noise=0)
    assert a.info["params"]["noise"] == 0.0 and isinstance(a.info["params"]["noise"], float)
    assert same(a, load_dataset("xor", n_samples=30, noise=0.0))
