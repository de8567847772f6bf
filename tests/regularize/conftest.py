"""Helpers shared by the regularize tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import re

import pytest
import torch

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")),
]


def msg(text: str) -> str:
    """An error message as a literal ``pytest.raises(match=...)`` pattern."""
    return re.escape(text)
