"""weightlab for MLX: initializers, penalties, update rules and dropout.

Any registered term works by its string: ``penalty("l2(1e-4)")`` for a loss,
``rule("decoupled_decay(0.01)+max_norm(3)")`` or the string itself in
``RegularizedOptimizer(optimizer, "decoupled_decay(0.01)+max_norm(3)")`` after a step.
Needs the optional extra: ``pip install 'weightlab[mlx]'``.  See
:mod:`weightlab.interop.mlx` for the conventions.

Example:
    >>> import mlx.core as mx
    >>> from weightlab import mlx as wmlx
    >>> wmlx.initializer("xavier_uniform", seed=0)(mx.zeros((3, 2))).shape
    (3, 2)
    >>> wmlx.penalty("l1(0.1, rule=penalty)")(mx.array([1.0, -2.0]))
    array(0.3, dtype=float32)
"""

from weightlab.interop import mlx as _impl
from weightlab.interop.mlx import *  # noqa: F403 - the public names, listed once there

__all__ = list(_impl.__all__)
