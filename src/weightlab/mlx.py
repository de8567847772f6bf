"""weightlab for MLX: initializers, penalties, update rules and dropout.

Needs the optional extra: ``pip install 'weightlab[mlx]'``.  See
:mod:`weightlab.interop.mlx` for the conventions.

Example:
    >>> import mlx.core as mx
    >>> from weightlab import mlx as wmlx
    >>> wmlx.initializer("xavier_uniform", seed=0)(mx.zeros((3, 2))).shape
    (3, 2)
"""

from weightlab.interop import mlx as _impl
from weightlab.interop.mlx import *  # noqa: F403 - the public names, listed once there

__all__ = list(_impl.__all__)
