"""Training runs: configs, regularization settings and the training loop."""

from weightlab.train.config import RunConfig
from weightlab.train.loop import RunOutput, train_run, versions
from weightlab.train.regularization import Regularization, parse_regularization

__all__ = [
    "Regularization",
    "RunConfig",
    "RunOutput",
    "parse_regularization",
    "train_run",
    "versions",
]
