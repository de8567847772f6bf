"""Load a user's own ``nn.Module`` from an import path ``package.module:factory``."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import torch
from torch import nn

from weightlab._validate import error_summary, fail

__all__ = ["check_input_shape", "load_model", "parse_shape"]

_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def load_model(path: str, *, search: str | Path | None = ".") -> nn.Module:
    """Import ``package.module`` and call ``factory()`` to build the model.

    ``search`` is put at the front of ``sys.path`` first (the current directory by
    default), so a file ``mymodels.py`` in the working directory loads as
    ``mymodels:build``.  Every failure raises ``ValueError`` in the project's format.

    Example:
        >>> load_model("torch.nn:Identity")
        Identity()
    """
    if not isinstance(path, str) or not _PATH.match(path):
        raise fail("load_model", "model", "an import path 'package.module:factory'", path)
    module_name, factory_name = path.split(":")
    if search is not None and str(search) not in sys.path:
        sys.path.insert(0, str(search))
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise fail(
            "load_model", "model", f"an importable module ({error_summary(error)})", path
        ) from None
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise fail("load_model", "model", f"a callable '{factory_name}' in {module_name}", path)
    try:
        model = factory()
    except Exception as error:
        raise fail(
            "load_model", "model", f"a factory that builds a model ({error_summary(error)})", path
        ) from None
    if not isinstance(model, nn.Module):
        raise fail("load_model", "model", "a factory returning an nn.Module", path)
    return model


def parse_shape(text: str, owner: str = "inspect") -> tuple[int, ...]:
    """``"3,32,32"`` → ``(3, 32, 32)``: positive ints, without the batch dimension."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise fail(owner, "input_shape", "comma-separated positive ints such as '3,32,32'", text)
    return shape


def check_input_shape(model: nn.Module, shape: tuple[int, ...], owner: str = "inspect") -> None:
    """Run two zero inputs of ``shape`` through ``model``; a shape the model cannot take
    raises ``ValueError`` naming the shape and the model's complaint."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        with torch.no_grad():
            model(torch.zeros(2, *shape, device=device))
    except Exception as error:
        expected = f"a shape the model accepts ({error_summary(error)})"
        raise fail(owner, "input_shape", expected, ",".join(map(str, shape))) from None
