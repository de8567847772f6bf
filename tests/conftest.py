"""Shared fixtures: seeded generators, never global seeding."""

from __future__ import annotations

import pytest
import torch

# Small models train far faster on one thread on small machines; tests are small models.
torch.set_num_threads(1)


@pytest.fixture
def gen() -> torch.Generator:
    """A fresh CPU generator with a fixed seed for each test."""
    return torch.Generator().manual_seed(20240601)
