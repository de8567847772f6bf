"""weightlab for MLX: initializers, penalties, update rules and dropout.

Needs the optional extra: ``pip install 'weightlab[mlx]'``.  See
:mod:`weightlab.interop.mlx` for the conventions.

Example:
    >>> import mlx.core as mx
    >>> from weightlab import mlx as wmlx
    >>> wmlx.initializer("xavier_uniform", seed=0)(mx.zeros((3, 2))).shape
    (3, 2)
"""

from weightlab.interop.mlx import (
    LAYER_TYPES,
    Dropout,
    Initializer,
    MLXWeightRule,
    Predicate,
    RegularizedOptimizer,
    apply,
    chain,
    decoupled_decay,
    elastic_net,
    initializer,
    is_weight,
    l1,
    l1_step,
    l2,
    layers,
    select,
)

__all__ = [
    "LAYER_TYPES",
    "Dropout",
    "Initializer",
    "MLXWeightRule",
    "Predicate",
    "RegularizedOptimizer",
    "apply",
    "chain",
    "decoupled_decay",
    "elastic_net",
    "initializer",
    "is_weight",
    "l1",
    "l1_step",
    "l2",
    "layers",
    "select",
]
