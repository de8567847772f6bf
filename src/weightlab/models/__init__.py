"""Model builders used by the CLI, the experiments and the tests."""

from weightlab.models.mlp import ACTIVATION_MODULES, mlp

__all__ = ["ACTIVATION_MODULES", "mlp"]
