"""The built-in sweeps behind ``weightlab demo``: the whole story in about a minute on
two cores.

- ``demo-init``: zeros, too small, the seed's 1/n rule, Xavier, He and too large on a
  6-hidden-layer tanh MLP for scikit-learn's digits;
- ``demo-regularization``: none / L1 / L2 / dropout on an over-parameterized ReLU MLP
  trained on 1000 MNIST-1D series with SGD, three seeds: every regularizer narrows the
  train/validation gap, and L1 sets most weights to exactly zero.
"""

from __future__ import annotations

from typing import Any

from weightlab.sweep.spec import SweepSpec, load_spec

__all__ = ["DEMO_SWEEPS", "demo_specs"]

DEMO_SWEEPS: dict[str, dict[str, Any]] = {
    "demo-init": {
        "name": "demo-init",
        "dataset": {"name": "digits"},
        "model": {"arch": "mlp", "hidden": [64] * 6, "activation": "tanh"},
        "init": [
            "zeros",
            "normal(std=0.01)",
            "xavier_fan_in",
            "xavier_normal",
            "he_normal",
            "normal(std=1.0)",
        ],
        "regularization": "none",
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "train": {"steps": 600, "batch_size": 64, "eval_every": 50},
        "seeds": [0],
    },
    "demo-regularization": {
        "name": "demo-regularization",
        "dataset": {"name": "mnist1d", "n_train": 1000},
        "model": {"arch": "mlp", "hidden": [256, 256], "activation": "relu"},
        "init": "he_normal",
        "regularization": ["none", "l1(2e-3)", "l2(1e-2)", "dropout(0.5)"],
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "train": {"steps": 2000, "batch_size": 100, "eval_every": 100, "diagnose": False},
        "seeds": [0, 1, 2],
    },
}


def demo_specs() -> list[SweepSpec]:
    """The demo's sweeps, validated like any spec."""
    return [load_spec(spec) for spec in DEMO_SWEEPS.values()]
