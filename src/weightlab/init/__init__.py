"""Initialization schemes, fans and gains, applying a scheme to a model, and LSUV.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from weightlab import init
    >>> net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    >>> records = init.init_module(net, "he_normal", generator=torch.Generator().manual_seed(0))
    >>> [r.scheme for r in records]
    ['he_normal', 'he_normal']
    >>> init.resolve("he_normal(mode=fan_out)").variance().mode  # what a preset draws
    'fan_out'
"""

from weightlab.init.apply import LAYER_TYPES, LayerInit, detect_activations, init_module, layers
from weightlab.init.fans import ACTIVATIONS, calculate_gain, fan, fans, second_moment_gain
from weightlab.init.lsuv import lsuv_
from weightlab.init.schemes import (
    DISTRIBUTIONS,
    Scheme,
    Variance,
    constant_,
    he_normal_,
    he_uniform_,
    lecun_normal_,
    lecun_uniform_,
    normal_,
    orthogonal_,
    resolve,
    scheme_names,
    truncated_normal_,
    uniform_,
    variance_scaling_,
    xavier_fan_in_,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)

__all__ = [
    "ACTIVATIONS",
    "DISTRIBUTIONS",
    "LAYER_TYPES",
    "LayerInit",
    "Scheme",
    "Variance",
    "calculate_gain",
    "constant_",
    "detect_activations",
    "fan",
    "fans",
    "he_normal_",
    "he_uniform_",
    "init_module",
    "layers",
    "lecun_normal_",
    "lecun_uniform_",
    "lsuv_",
    "normal_",
    "orthogonal_",
    "resolve",
    "scheme_names",
    "second_moment_gain",
    "truncated_normal_",
    "uniform_",
    "variance_scaling_",
    "xavier_fan_in_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
