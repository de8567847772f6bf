"""MNIST-1D: generated locally once, cached atomically, global random state untouched."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mnist1d.data
import numpy as np
import pytest
import torch

from weightlab.data import cache_dir, load_dataset
from weightlab.data import mnist1d as wl_mnist1d

from .conftest import msg, same


@dataclass(frozen=True)
class Generated:
    cache: Path
    states: tuple[Any, Any, Any, Any]  # numpy and python states before and after
    draws: tuple[float, float]  # the next global numpy and python draws after loading


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Generate MNIST-1D once (a few seconds) into a fresh cache for this module."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WEIGHTLAB_CACHE", str(cache))
        np.random.seed(123)
        random.seed(123)
        before = (np.random.get_state(), random.getstate())
        wl_mnist1d.mnist1d_arrays()
        after = (np.random.get_state(), random.getstate())
        draws = (float(np.random.rand()), random.random())
    yield Generated(cache, (*before, *after), draws)


@pytest.fixture
def cached(generated: Generated, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache at the generated file and make regeneration an error."""
    monkeypatch.setenv("WEIGHTLAB_CACHE", str(generated.cache))

    def regenerate(*args: object, **kwargs: object) -> None:
        raise AssertionError("MNIST-1D was regenerated instead of read from the cache")

    monkeypatch.setattr(mnist1d.data, "make_dataset", regenerate)
    return generated.cache


def test_shapes_classes_and_split(cached: Path) -> None:
    data = load_dataset("mnist1d")
    assert data.x_train.shape == (4000, 40) and data.x_val.shape == (1000, 40)
    assert data.y_train.dtype == torch.int64 and data.x_train.dtype == torch.float32
    assert data.n_classes == 10 and data.input_shape == (40,)
    assert set(data.y_train.tolist()) == set(range(10))
    assert set(data.y_val.tolist()) == set(range(10))


def test_the_cache_is_one_npz_file_and_is_read_back(cached: Path) -> None:
    files = sorted(p.name for p in cached.iterdir())
    assert len(files) == 1 and files[0].startswith("mnist1d-") and files[0].endswith(".npz")
    arrays = np.load(cached / files[0])
    assert arrays["x"].shape == (4000, 40) and arrays["x_test"].shape == (1000, 40)
    raw = load_dataset("mnist1d", standardize=False)
    assert np.array_equal(raw.x_train.numpy(), arrays["x"].astype(np.float32))


def test_reading_the_cache_does_not_import_the_generator(cached: Path) -> None:
    # The generator imports SciPy (about a second): a sweep's start-up should not.
    code = (
        "import sys; from weightlab.data import load_dataset; load_dataset('mnist1d'); "
        "print(sorted(m for m in sys.modules if m.startswith(('mnist1d', 'scipy.interp'))))"
    )
    env = {**os.environ, "WEIGHTLAB_CACHE": str(cached)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert len(list(cached.iterdir())) == 1  # read, not written again


def test_generation_leaves_the_global_random_state_alone(generated: Generated) -> None:
    np_before, py_before, np_after, py_after = generated.states
    assert np.array_equal(np_before[1], np_after[1]) and np_before[2] == np_after[2]
    assert py_before == py_after
    np.random.seed(123)
    random.seed(123)
    assert generated.draws == (float(np.random.rand()), random.random())


def test_channels_and_reproducibility(cached: Path) -> None:
    flat = load_dataset("mnist1d", val_fraction=0.2)
    channels = load_dataset("mnist1d", channels=True)
    assert channels.input_shape == (1, 40) and channels.x_val.shape == (1000, 1, 40)
    assert torch.equal(channels.x_train[:, 0], flat.x_train)
    assert same(flat, load_dataset("mnist1d", seed=9))  # the split is fixed


def test_n_train_subsamples_with_the_seed(cached: Path) -> None:
    a = load_dataset("mnist1d", n_train=100, seed=1)
    b = load_dataset("mnist1d", n_train=100, seed=1)
    c = load_dataset("mnist1d", n_train=100, seed=2)
    assert a.x_train.shape == (100, 40) and a.x_val.shape == (1000, 40)
    assert same(a, b) and not torch.equal(a.x_train, c.x_train)
    x = a.x_train.double()  # standardized on the 100 training series
    assert torch.allclose(x.mean(0), torch.zeros(40, dtype=x.dtype), atol=1e-5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"val_fraction": 0.3},
            "The 'val_fraction' parameter of load_dataset must be None or 0.2 for 'mnist1d' (its split is fixed). Got 0.3.",
        ),
        (
            {"n_train": 4001},
            "The 'n_train' parameter of load_dataset must be an int in [1, 4000] or None. Got 4001.",
        ),
        (
            {"channels": "yes"},
            "The 'channels' parameter of load_dataset must be a bool. Got 'yes'.",
        ),
    ],
)
def test_bad_parameters(params: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=msg(message)):
        load_dataset("mnist1d", **params)


def _fake(args: object) -> dict[str, np.ndarray]:
    """make_dataset's layout without its cost."""
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((4000, 40)),
        "y": np.arange(4000) % 10,
        "x_test": rng.standard_normal((1000, 40)),
        "y_test": np.arange(1000) % 10,
    }


def test_a_corrupt_cache_file_is_regenerated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIGHTLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(mnist1d.data, "make_dataset", _fake)
    wl_mnist1d.mnist1d_arrays()
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"not a zip file")
    assert wl_mnist1d.mnist1d_arrays()["x"].shape == (4000, 40)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left
    np.load(path)  # valid again


def test_an_unwritable_cache_warns_and_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("WEIGHTLAB_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(mnist1d.data, "make_dataset", _fake)
    with pytest.warns(UserWarning, match="could not cache MNIST-1D"):
        data = load_dataset("mnist1d")
    assert data.x_train.shape == (4000, 40)


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIGHTLAB_CACHE", str(tmp_path / "wl"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "wl"
    monkeypatch.setenv("WEIGHTLAB_CACHE", "")
    assert cache_dir() == tmp_path / "xdg" / "weightlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "weightlab"
