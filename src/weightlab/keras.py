"""Keras 3 initializers, regularizers, update-rule callbacks and dropout from weightlab.

Write ``from weightlab.keras import Initializer, L2, L1Step, Dropout``; the objects are
defined in :mod:`weightlab.interop.keras`, whose docstring explains the layout
conversion and the conventions.  Needs the extra: ``pip install 'weightlab[keras]'``.
"""

from weightlab.interop import keras as _impl
from weightlab.interop.keras import *  # noqa: F403 - the public names, listed once there

__all__ = list(_impl.__all__)
