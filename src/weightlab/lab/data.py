"""The lab's data: a registered dataset, and for the 2-D sets the plane it lives on.

A 2-D set is drawn in the Playground's coordinates (about ``[-6, 6]²``); the network sees
the chosen feature transforms of each point (``x1``, ``x2``, ``x1²``, ``x2²``, ``x1·x2``,
``sin x1``, ``sin x2``, as TensorFlow Playground offers them), each standardized with
the training part's mean and standard deviation, so the inputs have unit scale whatever
the features, as the init theory assumes.  With the default features ``x1, x2`` that is
exactly what :func:`weightlab.data.load_dataset` gives.  The :class:`Plane` keeps the raw
points for drawing and maps any point of the plane (a grid for a decision boundary) to
the network's inputs the same way.

Example:
    >>> from weightlab.lab.schemas import InitSetup
    >>> lab = load(InitSetup(dataset="xor", n_samples=40, features=["x1", "x2", "x1_x2"]))
    >>> lab.data.x_train.shape, lab.plane.features
    (torch.Size([20, 3]), ('x1', 'x2', 'x1_x2'))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from weightlab.data import Dataset, load_dataset
from weightlab.lab.schemas import PLANE_SETS, Setup

__all__ = ["FEATURE_FUNCTIONS", "FEATURE_LABELS", "LabData", "Plane", "load"]

FEATURE_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1_sq": lambda a, b: a * a,
    "x2_sq": lambda a, b: b * b,
    "x1_x2": lambda a, b: a * b,
    "sin_x1": lambda a, b: torch.sin(a),
    "sin_x2": lambda a, b: torch.sin(b),
}
FEATURE_LABELS = {
    "x1": "x₁",
    "x2": "x₂",
    "x1_sq": "x₁²",
    "x2_sq": "x₂²",
    "x1_x2": "x₁x₂",
    "sin_x1": "sin x₁",
    "sin_x2": "sin x₂",
}
MARGIN = 0.3  # the drawn window reaches this far beyond the data


@dataclass(frozen=True, eq=False)
class Plane:
    """The raw 2-D points of a toy set and the map from a point to the network's inputs."""

    features: tuple[str, ...]
    mean: torch.Tensor  # [F], of the training part's features
    std: torch.Tensor  # [F]
    train: torch.Tensor  # raw points [N, 2]
    val: torch.Tensor
    y_train: torch.Tensor
    y_val: torch.Tensor
    window: tuple[float, float, float, float]  # x1 from, x1 to, x2 from, x2 to

    def raw_features(self, points: torch.Tensor) -> torch.Tensor:
        """The feature columns ``[N, F]`` of raw points ``[N, 2]``, not standardized."""
        a, b = points[:, 0], points[:, 1]
        return torch.stack([FEATURE_FUNCTIONS[f](a, b) for f in self.features], dim=1)

    def inputs(self, points: torch.Tensor) -> torch.Tensor:
        """What the network sees for raw points ``[N, 2]``."""
        return (self.raw_features(points) - self.mean) / self.std

    def grid(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` positions along each axis of the window and the ``n²`` points of the
        grid, row by row (``x2`` fixed along a row), as a heatmap wants them."""
        x0, x1, y0, y1 = self.window
        a, b = torch.linspace(x0, x1, n), torch.linspace(y0, y1, n)
        g2, g1 = torch.meshgrid(b, a, indexing="ij")
        return a, b, torch.stack([g1.reshape(-1), g2.reshape(-1)], dim=1)

    def points(self) -> dict[str, Any]:
        """The training and validation points with their labels or targets, rounded."""

        def side(x: torch.Tensor, y: torch.Tensor) -> dict[str, list[Any]]:
            label = y.tolist() if y.dtype == torch.int64 else [round(v, 4) for v in y.tolist()]
            return {
                "x1": [round(v, 4) for v in x[:, 0].tolist()],
                "x2": [round(v, 4) for v in x[:, 1].tolist()],
                "label": label,
            }

        return {**side(self.train, self.y_train), "val": side(self.val, self.y_val)}


@dataclass(frozen=True, eq=False)
class LabData:
    """What a section trains on, and the plane for the 2-D sets (None otherwise)."""

    data: Dataset
    plane: Plane | None


def load(setup: Setup) -> LabData:
    """The setup's data; the last few are kept, so a change of the network, the init or
    the optimizer does not load it again."""
    val = None if setup.train_fraction is None else round(1.0 - setup.train_fraction, 6)
    if setup.dataset in PLANE_SETS:
        n = setup.n_samples or 400
        return _plane(setup.dataset, n, setup.noise, setup.seed, val, tuple(setup.features))
    return _other(setup.dataset, setup.n_samples, setup.seed, val)


@functools.lru_cache(maxsize=16)
def _other(name: str, n_samples: int | None, seed: int, val: float | None) -> LabData:
    params: dict[str, Any] = {}
    if name == "mnist1d" and n_samples is not None:
        params = {"n_train": n_samples}
    return LabData(load_dataset(name, seed=seed, val_fraction=val, **params), None)


@functools.lru_cache(maxsize=16)
def _plane(
    name: str, n: int, noise: float, seed: int, val: float | None, features: tuple[str, ...]
) -> LabData:
    raw = load_dataset(
        name, seed=seed, val_fraction=val, standardize=False, n_samples=n, noise=noise
    )
    points = torch.cat([raw.x_train, raw.x_val])
    lo, hi = points.amin(dim=0) - MARGIN, points.amax(dim=0) + MARGIN
    window = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
    train = Plane(
        features, torch.zeros(0), torch.ones(0), raw.x_train, raw.x_val, raw.y_train,
        raw.y_val, window,
    ).raw_features(raw.x_train)  # fmt: skip
    mean, std = train.mean(dim=0), train.std(dim=0, unbiased=False)
    constant = train.amax(dim=0) == train.amin(dim=0)
    mean = torch.where(constant, train[0], mean)
    std = torch.where(constant, torch.ones_like(std), std)
    plane = Plane(features, mean, std, raw.x_train, raw.x_val, raw.y_train, raw.y_val, window)
    data = Dataset(
        name=name,
        task=raw.task,
        x_train=plane.inputs(raw.x_train),
        y_train=raw.y_train,
        x_val=plane.inputs(raw.x_val),
        y_val=raw.y_val,
        n_classes=raw.n_classes,
        input_shape=(len(features),),
        info={**raw.info, "feature_names": list(features)},
    )
    return LabData(data, plane)
