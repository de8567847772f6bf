"""The built-in sweeps behind ``weightlab demo``: the whole story in about a minute on
two cores.

- ``demo-init``: zeros, too small, the seed's 1/n rule, Xavier, He and too large on a
  6-hidden-layer tanh MLP for scikit-learn's digits, three seeds;
- ``demo-regularization``: none / L1 / L2 / dropout / decoupled decay on an
  over-parameterized ReLU MLP trained on 1000 MNIST-1D series with SGD, three seeds:
  every regularizer narrows the train/validation gap, and L1 sets most weights to
  exactly zero.

Each states its claims, judged after training like any spec's.
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
        "seeds": [0, 1, 2],
        "claims": [
            {
                "metric": "min_distinct_units_fraction",
                "of": "zeros",
                "below": 0.05,
                "says": "zero init leaves every hidden unit a copy of the others",
            },
            {
                "metric": "init_signal",
                "of": "normal(std=0.01)",
                "below": 1e-6,
                "says": "N(0, 0.01²) shrinks the signal a millionfold by the output",
            },
            {
                "metric": "init_saturated",
                "of": "normal(std=1.0)",
                "above": 0.5,
                "says": "N(0, 1) saturates most tanh units at init",
            },
            {
                "metric": "val_acc",
                "of": "xavier_normal",
                "above": "zeros",
                "by": 0.5,
                "says": "Xavier trains; zeros does not",
            },
            {
                "metric": "val_acc",
                "of": "xavier_normal",
                "above": "normal(std=1.0)",
                "says": "Xavier beats the too-large init",
            },
        ],
    },
    "demo-regularization": {
        "name": "demo-regularization",
        "dataset": {"name": "mnist1d", "n_train": 1000},
        "model": {"arch": "mlp", "hidden": [256, 256], "activation": "relu"},
        "init": "he_normal",
        "regularization": [
            "none",
            "l1(2e-3)",
            "l2(1e-2)",
            "dropout(0.5)",
            "decoupled_decay(0.1)",
        ],
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "train": {"steps": 2000, "batch_size": 100, "eval_every": 100, "diagnose": False},
        "seeds": [0, 1, 2],
        "claims": [
            {"metric": "gap", "of": reg, "below": "none", "says": f"{reg} narrows the gap"}
            for reg in ("l1(2e-3)", "l2(1e-2)", "dropout(0.5)", "decoupled_decay(0.1)")
        ]
        + [
            {
                "metric": "sparsity_zero",
                "of": "l1(2e-3)",
                "above": 0.5,
                "says": "L1 sets most weights to exactly 0",
            },
            {
                "metric": "sparsity_zero",
                "of": "l2(1e-2)",
                "below": 0.01,
                "says": "L2 sets none to exactly 0",
            },
        ],
    },
}


def demo_specs() -> list[SweepSpec]:
    """The demo's sweeps, validated like any spec."""
    return [load_spec(spec) for spec in DEMO_SWEEPS.values()]
