"""Regularization: a registry of terms (loss penalties, update rules for any optimizer,
dropout layers), the functions built on it, and which parameters to regularize.

Every regularizer is a registered term (:mod:`weightlab.regularize.terms`); a run's
regularization is a string of terms (``"l2(1e-4)+dropout(0.3)"``) parsed by
:func:`parse_regularization`.  See :mod:`weightlab.regularize.registry`.
"""

from weightlab._validate import POSITIVE, PROBABILITY, REAL, STRENGTH, UNIT, Interval, OneOf
from weightlab.regularize import terms as terms
from weightlab.regularize.arrays import STACKED, TORCH, ArrayOps, TorchOps
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
from weightlab.regularize.registry import (
    BOOL,
    REGISTRY,
    Canonical,
    Param,
    Regularization,
    Term,
    TermEntry,
    load_plugins,
    make_term,
    parse_regularization,
    parse_term,
    register,
    term_names,
    terms_of_kind,
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

# Validation rules for the parameters of a term of your own (see register).
__all__ = [
    "BOOL",
    "CONVENTIONS",
    "DROPOUT_MODULES",
    "L1_RULES",
    "MODES",
    "NORM_MODULES",
    "POSITIVE",
    "PROBABILITY",
    "REAL",
    "REGISTRY",
    "STACKED",
    "STRENGTH",
    "TORCH",
    "UNIT",
    "ArrayOps",
    "Canonical",
    "Convention",
    "Dropout",
    "DropoutMode",
    "Interval",
    "L1Rule",
    "OneOf",
    "Param",
    "Regularization",
    "RegularizedOptimizer",
    "Term",
    "TermEntry",
    "TorchOps",
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
    "load_plugins",
    "make_term",
    "mc_dropout",
    "mc_predict",
    "param_groups",
    "parse_regularization",
    "parse_term",
    "register",
    "select_params",
    "term_names",
    "terms",
    "terms_of_kind",
    "torch_weight_decay",
]

load_plugins()  # terms that installed packages register (entry points "weightlab.terms")
