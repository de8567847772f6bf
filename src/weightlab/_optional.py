"""Optional dependencies: import them on demand, and name the extra to install when one
is missing."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["MissingExtraError", "installed", "pip_command", "require"]


class MissingExtraError(ImportError):
    """An optional framework is not installed; the message names the pip extra."""


def pip_command(extra: str) -> str:
    """The one command that installs an extra: ``pip install 'weightlab[ray]'``."""
    return f"pip install 'weightlab[{extra}]'"


def installed(module: str) -> bool:
    """Whether ``module``'s top-level package can be imported (without importing it).

    Example:
        >>> installed("math"), installed("no_such_module_xyz")
        (True, False)
    """
    return importlib.util.find_spec(module.split(".")[0]) is not None


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``weightlab[extra]``.

    Example:
        >>> require("math", "none", "arithmetic").sqrt(4.0)
        2.0
        >>> require("no_such_module_xyz", "keras", "Keras initializers")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        weightlab._optional.MissingExtraError: Keras ... pip install 'weightlab[keras]'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but one of its own imports failed
        raise MissingExtraError(
            f"{purpose} need the optional package {module.split('.')[0]!r}, which is not "
            f"installed. Install it with: {pip_command(extra)}"
        ) from None
