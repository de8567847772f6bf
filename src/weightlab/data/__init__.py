"""Datasets as train/validation tensors: 2-D toy sets, scikit-learn's digits and
diabetes, MNIST-1D, seed 001's sparse and multicollinear cases, and the user's own files.

Example:
    >>> data = load_dataset("moons", n_samples=100, noise=0.2, seed=3)
    >>> data.x_train.shape, data.n_classes, "moons" in DATASETS
    (torch.Size([50, 2]), 2, True)
"""

from weightlab.data import files, mnist1d, synthetic, tabular, toy2d
from weightlab.data.base import REGISTRY as _REGISTRY
from weightlab.data.base import REQUIRED, TASKS, Dataset, dataset_params, load_dataset
from weightlab.data.mnist1d import cache_dir

DATASETS: tuple[str, ...] = (
    *toy2d.TOY_KINDS,
    "digits",
    "diabetes",
    "mnist1d",
    "sparse_features",
    "multicollinear",
    "file",
)
# List the names in this order in errors too (modules register in import order).
for _name in DATASETS:
    _REGISTRY[_name] = _REGISTRY.pop(_name)

__all__ = [
    "DATASETS",
    "REQUIRED",
    "TASKS",
    "Dataset",
    "cache_dir",
    "dataset_params",
    "files",
    "load_dataset",
    "mnist1d",
    "synthetic",
    "tabular",
    "toy2d",
]
