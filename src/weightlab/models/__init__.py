"""Model builders (MLP, CNN) and loading a user's own module by import path."""

from weightlab.models.cnn import cnn
from weightlab.models.load import check_input_shape, load_model, parse_shape
from weightlab.models.mlp import ACTIVATION_MODULES, mlp

__all__ = ["ACTIVATION_MODULES", "check_input_shape", "cnn", "load_model", "mlp", "parse_shape"]
