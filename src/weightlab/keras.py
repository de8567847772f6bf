"""Keras 3 initializers, regularizers, update-rule callbacks and dropout from weightlab.

Write ``from weightlab.keras import Initializer, L2, L1Step, Dropout``, or name any
registered term by its string: ``Penalty("l2(1e-4)")`` as a ``kernel_regularizer``,
``WeightRules.from_spec("decoupled_decay(0.01)+max_norm(3)")`` as a ``fit`` callback.  The
objects are defined in :mod:`weightlab.interop.keras`, whose docstring explains the layout
conversion, the conventions and the backends: TensorFlow, JAX or torch, chosen by
``KERAS_BACKEND`` (torch when unset).  Needs the extra: ``pip install 'weightlab[keras]'``.
"""

from weightlab.interop import keras as _impl
from weightlab.interop.keras import *  # noqa: F403 - the public names, listed once there

__all__ = list(_impl.__all__)
