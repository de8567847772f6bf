"""Regularization: loss penalties, update rules for any optimizer, dropout, and which
parameters to regularize."""

from weightlab.regularize.dropout import (
    DROPOUT_MODULES,
    MODES,
    Dropout,
    DropoutMode,
    dropout,
    mc_dropout,
    mc_predict,
)
from weightlab.regularize.penalties import (
    CONVENTIONS,
    Convention,
    elastic_net,
    elastic_net_grad,
    l1,
    l2,
    torch_weight_decay,
)
from weightlab.regularize.select import NORM_MODULES, param_groups, select_params
from weightlab.regularize.updates import (
    L1_RULES,
    L1Rule,
    RegularizedOptimizer,
    WeightRule,
    apply_rule,
    chain,
    decoupled_decay,
    l1_clip,
    l1_proximal,
    l1_step,
    l1_subgradient,
)

__all__ = [
    "CONVENTIONS",
    "DROPOUT_MODULES",
    "L1_RULES",
    "MODES",
    "NORM_MODULES",
    "Convention",
    "Dropout",
    "DropoutMode",
    "L1Rule",
    "RegularizedOptimizer",
    "WeightRule",
    "apply_rule",
    "chain",
    "decoupled_decay",
    "dropout",
    "elastic_net",
    "elastic_net_grad",
    "l1",
    "l1_clip",
    "l1_proximal",
    "l1_step",
    "l1_subgradient",
    "l2",
    "mc_dropout",
    "mc_predict",
    "param_groups",
    "select_params",
    "torch_weight_decay",
]
