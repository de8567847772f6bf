"""weightlab: neural-network weight initialization and regularization, implemented,
shown and measured."""

__version__ = "0.1.0"
