"""Training runs: configs, the steppable trainer, the training loop of a stored run, and
the stacked engine (:mod:`weightlab.train.stacked`)."""

from weightlab.regularize import Regularization, parse_regularization
from weightlab.train.config import RunConfig
from weightlab.train.loop import RunOutput, train_run, versions
from weightlab.train.trainer import Batches, Trainer, evaluate, make_optimizer, metric_row

__all__ = [
    "Batches",
    "Regularization",
    "RunConfig",
    "RunOutput",
    "Trainer",
    "evaluate",
    "make_optimizer",
    "metric_row",
    "parse_regularization",
    "train_run",
    "versions",
]
