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


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Generated datasets (MNIST-1D) go to a temporary cache, not the user's."""
    import os

    os.environ.setdefault("WEIGHTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
