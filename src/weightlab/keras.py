"""Keras 3 initializers, regularizers, update-rule callbacks and dropout from weightlab.

Write ``from weightlab.keras import Initializer, L2, L1Step, Dropout``; the objects are
defined in :mod:`weightlab.interop.keras`, whose docstring explains the layout
conversion and the conventions.  Needs the extra: ``pip install 'weightlab[keras]'``.
"""

from weightlab.interop.keras import (
    L1,
    L2,
    DecoupledDecay,
    Dropout,
    ElasticNet,
    Initializer,
    KerasRule,
    L1Step,
    WeightRules,
    decoupled_decay,
    initializer_schemes,
    is_kernel,
    l1_step,
    to_keras_layout,
    to_torch_layout,
)

__all__ = [
    "L1",
    "L2",
    "DecoupledDecay",
    "Dropout",
    "ElasticNet",
    "Initializer",
    "KerasRule",
    "L1Step",
    "WeightRules",
    "decoupled_decay",
    "initializer_schemes",
    "is_kernel",
    "l1_step",
    "to_keras_layout",
    "to_torch_layout",
]
