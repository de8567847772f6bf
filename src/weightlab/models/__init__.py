"""Model builders (MLP, CNN) and loading a user's own module by import path."""

from weightlab.models.build import ARCHS, build_model, linear
from weightlab.models.cnn import cnn
from weightlab.models.load import check_input_shape, load_model, parse_shape
from weightlab.models.mlp import ACTIVATION_MODULES, mlp

__all__ = [
    "ACTIVATION_MODULES",
    "ARCHS",
    "build_model",
    "check_input_shape",
    "cnn",
    "linear",
    "load_model",
    "mlp",
    "parse_shape",
]
