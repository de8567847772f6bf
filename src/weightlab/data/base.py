"""The :class:`Dataset` record, the dataset registry and :func:`load_dataset`.

Every dataset family is one builder function registered under one or more names with a
constraint table for its parameters.  :func:`load_dataset` does what all of them share:

1. validate the name, the common arguments and the dataset's own parameters;
2. build the arrays with a data generator drawn from the seed;
3. split train/validation with an independent generator drawn from the same seed;
4. standardize with statistics of the training part only;
5. convert to tensors (float32 inputs, int64 class labels or float32 targets).

The seed is split with :class:`numpy.random.SeedSequence` into a data stream and a split
stream, so changing ``val_fraction`` moves samples between the parts without changing the
samples themselves.  Nothing here touches a global random state.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from weightlab._validate import (
    OPTIONAL,
    Constraint,
    Described,
    Instance,
    Interval,
    OneOf,
    check,
    fail,
)

__all__ = [
    "BOOL",
    "REGISTRY",
    "REQUIRED",
    "TASKS",
    "Arrays",
    "Dataset",
    "dataset_params",
    "load_dataset",
    "register",
]

TASKS: tuple[str, ...] = ("classification", "regression")

Array = npt.NDArray[Any]
Table = Mapping[str, Constraint | tuple[Constraint, ...] | None]
B = TypeVar("B", bound=Callable[..., "Arrays"])

BOOL = Instance((bool,), "a bool")
SEED = Interval(0, math.inf, "left", integer=True)
FRACTION = (Interval(0.0, 1.0, "neither"), OPTIONAL)


class _Required:
    """Marks a dataset parameter without a default in :func:`dataset_params`."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: train and validation tensors and what a model needs to fit them.

    ``x_*`` are float32 ``[N, *input_shape]``; ``y_*`` are int64 ``[N]`` class indices in
    ``[0, n_classes)`` for classification and float32 ``[N]`` for regression.  ``info``
    holds what the source knows (feature names, true coefficients, standardization
    statistics, the parameters used).  Compared by identity: tensors have no truth value.
    """

    name: str
    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int | None
    input_shape: tuple[int, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_outputs(self) -> int:
        """Output units a model needs: ``n_classes`` for classification, 1 for regression."""
        return self.n_classes if self.n_classes is not None else 1

    def __repr__(self) -> str:
        classes = f", n_classes={self.n_classes}" if self.n_classes is not None else ""
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, train={len(self.y_train)}, "
            f"val={len(self.y_val)}, input_shape={self.input_shape}{classes})"
        )


@dataclass(frozen=True)
class Arrays:
    """What a builder returns: float64 inputs ``x [N, *shape]``, labels or targets ``y``,
    and, for datasets with a fixed split, the validation part in ``x_val``/``y_val``."""

    x: Array
    y: Array
    task: str
    n_classes: int | None
    info: dict[str, Any]
    x_val: Array | None = None
    y_val: Array | None = None


@dataclass(frozen=True)
class _Entry:
    build: Callable[..., Arrays]
    defaults: Mapping[str, Any]
    table: Table
    val_fraction: float
    fixed_split: bool
    scale_target: bool
    cross: Callable[[Mapping[str, Any]], None] | None
    summary: str


REGISTRY: dict[str, _Entry] = {}


def register(
    name: str,
    table: Table,
    *,
    val_fraction: float,
    fixed_split: bool = False,
    scale_target: bool = False,
    cross: Callable[[Mapping[str, Any]], None] | None = None,
) -> Callable[[B], B]:
    """Register ``build(rng, **params) -> Arrays`` as dataset ``name``.

    The builder's keyword parameters and their defaults are the dataset's parameters (no
    default: required), validated from ``table`` and then by ``cross`` for rules between
    parameters.  ``val_fraction`` is the default validation share; with ``fixed_split``
    the builder returns its own validation part and ``val_fraction`` is the only value
    accepted besides ``None``.  ``scale_target`` standardizes regression targets too.
    """

    def decorate(build: B) -> B:
        params = list(inspect.signature(build).parameters.values())[1:]
        doc = (build.__doc__ or "").strip().splitlines()
        REGISTRY[name] = _Entry(
            build=build,
            defaults={p.name: REQUIRED if p.default is p.empty else p.default for p in params},
            table=table,
            val_fraction=val_fraction,
            fixed_split=fixed_split,
            scale_target=scale_target,
            cross=cross,
            summary=doc[0] if doc else name,
        )
        return build

    return decorate


def _entry(owner: str, name: object) -> _Entry:
    check(owner, {"name": name}, {"name": OneOf(tuple(REGISTRY))})
    return REGISTRY[str(name)]


def dataset_params(name: str) -> dict[str, Any]:
    """The parameters dataset ``name`` accepts with their defaults (``REQUIRED`` when it
    has none), besides the common ``seed``, ``val_fraction`` and ``standardize``.

    Example:
        >>> dataset_params("circle")
        {'n_samples': 400, 'noise': 0.1}
    """
    return dict(_entry("dataset_params", name).defaults)


def _bind(name: str, entry: _Entry, params: Mapping[str, Any]) -> dict[str, Any]:
    unknown = [k for k in params if k not in entry.defaults]
    if unknown:
        allowed = ", ".join(entry.defaults) or "none"
        given = ", ".join(f"{k}={params[k]!r}" for k in unknown)
        expected = f"keyword arguments accepted by {name!r} ({allowed})"
        raise fail("load_dataset", "params", expected, Described(given))
    values = {k: _coerce(params.get(k, d), d) for k, d in entry.defaults.items()}
    for key, value in values.items():
        if value is REQUIRED:
            raise fail("load_dataset", key, f"given for {name!r}", Described("nothing"))
    check("load_dataset", values, entry.table)
    if entry.cross is not None:
        entry.cross(values)
    return values


def _coerce(value: Any, default: Any) -> Any:
    # noise=0 and noise=0.0 are the same dataset: keep the default's type.
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    val_fraction: float | None = None,
    standardize: bool = True,
    **params: Any,
) -> Dataset:
    """Load a registered dataset as train/validation tensors.

    Standardization maps each input feature to ``(x − μ_train) / σ_train`` with the mean
    and (population) standard deviation of the training part only, so no validation
    information leaks into the inputs; a feature constant on the training part gets
    ``σ = 1``.  Datasets that say so (``diabetes``) standardize their regression target
    the same way; ``info["target_mean"]``/``info["target_std"]`` undo it.

    Args:
        name: one of :data:`DATASETS`.
        seed: non-negative int; the same name, parameters and seed give identical tensors.
        val_fraction: share of samples in the validation part, in (0, 1); ``None`` takes
            the dataset's default (0.5 for the 2-D toy sets, 0.25 for tabular data, the
            fixed 4000/1000 split for ``mnist1d``).
        standardize: standardize inputs with training statistics.
        params: the dataset's own parameters, see :func:`dataset_params`.

    Example:
        >>> data = load_dataset("circle", n_samples=40, seed=1)
        >>> data.x_train.shape, data.x_val.shape, data.n_outputs
        (torch.Size([20, 2]), torch.Size([20, 2]), 2)
        >>> data.x_train.dtype, data.y_train.dtype, data.task
        (torch.float32, torch.int64, 'classification')
    """
    entry = _entry("load_dataset", name)
    check(
        "load_dataset",
        {"seed": seed, "val_fraction": val_fraction, "standardize": standardize},
        {"seed": SEED, "val_fraction": FRACTION, "standardize": BOOL},
    )
    values = _bind(name, entry, params)
    fraction = _fraction(name, entry, val_fraction)
    data_seed, split_seed = np.random.SeedSequence(seed).spawn(2)
    arrays = entry.build(np.random.default_rng(data_seed), **values)
    x_train, y_train, x_val, y_val = _split(arrays, fraction, np.random.default_rng(split_seed))
    info = {**arrays.info, "params": values, "seed": seed, "val_fraction": fraction}
    if standardize:
        x_train, x_val, info["feature_mean"], info["feature_std"] = _standardize(x_train, x_val)
        if entry.scale_target and arrays.task == "regression":
            y_train, y_val, info["target_mean"], info["target_std"] = _standardize(y_train, y_val)
    return Dataset(
        name=name,
        task=arrays.task,
        x_train=_inputs(x_train),
        y_train=_targets(y_train, arrays.task),
        x_val=_inputs(x_val),
        y_val=_targets(y_val, arrays.task),
        n_classes=arrays.n_classes,
        input_shape=tuple(int(s) for s in arrays.x.shape[1:]),
        info=info,
    )


def _fraction(name: str, entry: _Entry, val_fraction: float | None) -> float:
    if val_fraction is None:
        return entry.val_fraction
    if entry.fixed_split and val_fraction != entry.val_fraction:
        expected = f"None or {entry.val_fraction} for {name!r} (its split is fixed)"
        raise fail("load_dataset", "val_fraction", expected, val_fraction)
    return float(val_fraction)


def _split(
    arrays: Arrays, fraction: float, rng: np.random.Generator
) -> tuple[Array, Array, Array, Array]:
    if arrays.x_val is not None and arrays.y_val is not None:
        return arrays.x, arrays.y, arrays.x_val, arrays.y_val
    n = len(arrays.y)
    n_val = round(n * fraction)
    if not 1 <= n_val <= n - 1:
        expected = f"a float in (0, 1) leaving at least one sample on each side of {n}"
        raise fail("load_dataset", "val_fraction", expected, fraction)
    order = rng.permutation(n)
    val, train = order[:n_val], order[n_val:]
    return arrays.x[train], arrays.y[train], arrays.x[val], arrays.y[val]


def _standardize(train: Array, val: Array) -> tuple[Array, Array, list[Any], list[Any]]:
    """Per-feature ``(x − mean) / std`` with training statistics; constant features get
    std 1 and their exact value as mean, so they become exactly 0."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    constant = train.max(axis=0) == train.min(axis=0)
    mean = np.where(constant, train[0], mean)
    std = np.where(constant, 1.0, std)
    return (train - mean) / std, (val - mean) / std, mean.tolist(), std.tolist()


def _inputs(x: Array) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _targets(y: Array, task: str) -> torch.Tensor:
    dtype = np.int64 if task == "classification" else np.float32
    return torch.from_numpy(np.ascontiguousarray(y, dtype=dtype))
