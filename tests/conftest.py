"""Shared fixtures: seeded generators, never global seeding."""

from __future__ import annotations

import os

import pytest
import torch

# Keras picks its backend when first imported, from this variable or ~/.keras/keras.json;
# the suite tests Keras on torch, whatever a developer's own configuration says.
os.environ.setdefault("KERAS_BACKEND", "torch")

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
