"""MNIST-1D: 4000 training and 1000 test series of length 40 in 10 classes.

Generated locally by the ``mnist1d`` package with its default arguments (Greydanus 2020,
"Scaling down deep learning"): each digit's 1-D template is padded, scaled, translated,
sheared and given correlated and i.i.d. noise.  Never downloaded: ``get_dataset`` would
fetch a pickle, so this calls ``make_dataset`` and caches the arrays as ``.npz`` in
:func:`cache_dir`; later loads read that file.

``make_dataset`` seeds the global ``random`` and ``numpy.random`` states; both are saved
and restored around the call, so loading never changes the caller's random state.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import os
import random
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import OPTIONAL, Interval
from weightlab.data.base import BOOL, Arrays, register

__all__ = ["cache_dir", "mnist1d_arrays"]

Array = npt.NDArray[Any]

N_TRAIN = 4000
_KEYS = ("x", "y", "x_test", "y_test")


def cache_dir() -> Path:
    """``$WEIGHTLAB_CACHE``, else ``$XDG_CACHE_HOME/weightlab``, else
    ``~/.cache/weightlab`` (empty variables count as unset)."""
    if os.environ.get("WEIGHTLAB_CACHE"):
        return Path(os.environ["WEIGHTLAB_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "weightlab"
    return Path.home() / ".cache" / "weightlab"


@contextlib.contextmanager
def _global_rng_preserved() -> Iterator[None]:
    """Save and restore the global states a third-party generator may seed."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _cache_key() -> str:
    """The cache file's key: the installed ``mnist1d`` release (its default arguments are
    fixed per release), found without importing the package, which takes about a second
    (it imports SciPy); from the arguments themselves when no release is recorded."""
    try:
        made_by = f"mnist1d {importlib.metadata.version('mnist1d')}"
    except importlib.metadata.PackageNotFoundError:
        args = importlib.import_module("mnist1d.data").get_dataset_args(as_dict=True)
        args.pop("url", None)
        made_by = json.dumps(args, sort_keys=True)
    return hashlib.sha256(made_by.encode()).hexdigest()[:12]


def _generate(data: Any) -> dict[str, Array]:
    with _global_rng_preserved():
        made = data.make_dataset(data.get_dataset_args())
    return {
        "x": np.asarray(made["x"], dtype=np.float64),
        "y": np.asarray(made["y"], dtype=np.int64),
        "x_test": np.asarray(made["x_test"], dtype=np.float64),
        "y_test": np.asarray(made["y_test"], dtype=np.int64),
    }


def _read(path: Path) -> dict[str, Array] | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: np.asarray(archive[k]) for k in _KEYS}
    except Exception:  # missing, partial or foreign file: regenerate
        return None
    return arrays if len(arrays["y"]) == N_TRAIN else None


def _write(path: Path, arrays: dict[str, Array]) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see a
    partial file, and concurrent writers each replace it whole."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(
                    handle,
                    x=arrays["x"],
                    y=arrays["y"],
                    x_test=arrays["x_test"],
                    y_test=arrays["y_test"],
                )
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as error:
        warnings.warn(f"weightlab could not cache MNIST-1D in {path}: {error}", stacklevel=3)


def mnist1d_arrays() -> dict[str, Array]:
    """The MNIST-1D arrays ``x [4000, 40]``, ``y``, ``x_test [1000, 40]``, ``y_test``,
    read from the cache or generated (a few seconds) and cached."""
    path = cache_dir() / f"mnist1d-{_cache_key()}.npz"
    arrays = _read(path)
    if arrays is None:
        arrays = _generate(importlib.import_module("mnist1d.data"))
        _write(path, arrays)
    return arrays


@register(
    "mnist1d",
    {"channels": BOOL, "n_train": (Interval(1, N_TRAIN, integer=True), OPTIONAL)},
    val_fraction=0.2,
    fixed_split=True,
)
def _mnist1d(
    rng: np.random.Generator, channels: bool = False, n_train: int | None = None
) -> Arrays:
    """MNIST-1D (Greydanus 2020): the package's 4000/1000 split, input (40,) or (1, 40)."""
    arrays = mnist1d_arrays()
    x, y = arrays["x"], arrays["y"]
    if n_train is not None:
        keep = rng.choice(len(y), n_train, replace=False)
        x, y = x[keep], y[keep]
    x_val = arrays["x_test"]
    if channels:
        x, x_val = x[:, None, :], x_val[:, None, :]
    info = {"source": "mnist1d.data.make_dataset (generated locally, cached)"}
    return Arrays(x, y, "classification", 10, info, x_val, arrays["y_test"])
