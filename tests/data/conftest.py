"""Helpers shared by the data tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import re

import torch

from weightlab.data import Dataset


def msg(text: str) -> str:
    """An error message as a literal ``pytest.raises(match=...)`` pattern."""
    return re.escape(text)


def same(a: Dataset, b: Dataset) -> bool:
    """True when two datasets hold identical tensors."""
    pairs = [(a.x_train, b.x_train), (a.y_train, b.y_train), (a.x_val, b.x_val), (a.y_val, b.y_val)]
    return all(x.shape == y.shape and torch.equal(x, y) for x, y in pairs)
