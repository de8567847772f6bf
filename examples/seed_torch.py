"""Seed 001's PyTorch listings, made to run, and the same models written with weightlab.

Seed 001 ("Regularization, mathematical and practical") prints two PyTorch programs, both
a ``Net`` of three Linear layers ``784 → 128 → 64 → 10`` with ``torch.relu`` after the
hidden ones, ``nn.CrossEntropyLoss`` and a ten-epoch loop over ``train_loader``:

- "L2 Regularization in PyTorch": ``optim.AdamW(model.parameters(), lr=0.001,
  weight_decay=0.01)``;
- "Dropout in PyTorch": ``nn.Dropout(0.5)`` after each hidden ReLU and
  ``optim.Adam(model.parameters(), lr=0.001)``.

This script keeps the layers, dropout, optimizers, learning rate, decay, loss and the
training loop as printed.  What was changed so that they run here, and why:

- ``nn.Linear(784, 128)`` became ``nn.Linear(64, 128)``: 784 is a flattened 28×28 MNIST
  image; the data here are scikit-learn's digits, 8×8 = 64 features, 10 classes (1348
  training and 449 validation images, standardized with training statistics), loaded by
  ``weightlab.data.load_dataset("digits", seed=0)``, which needs no download.
- ``train_loader`` is not defined in the listing: here it is a ``DataLoader`` over the
  training set with batches of 32 (Keras's default, as in the seed's Keras listings),
  shuffled by a seeded generator.
- Both listings call their class ``Net``; the dropout one is ``DropoutNet`` here so that
  both fit in one file.
- ``torch.manual_seed(0)`` before each model (the default Linear init and ``nn.Dropout``
  draw from the global generator), and ``model.eval()`` before measuring, so that dropout
  is off.  The listing stops at the training loop; the printed losses and accuracies are
  measured on the whole training and validation sets after training.

The weightlab version of each program:

- ``init_module(model, "he_normal", gain_from_activation=True, generator=...)``: He
  normal ``N(0, 2/fan_in)`` for ``fc1`` and ``fc2``, whose outputs go through ReLU, and
  gain 1 (``N(0, 1/fan_in)``) for ``fc3``, whose output does not (He et al. 2015; the
  activations are found by tracing ``forward``), instead of torch's default
  ``U(±1/√fan_in)``; biases start at 0.
- ``RegularizedOptimizer(optim.Adam(...), decoupled_decay(0.01), weights)`` is AdamW as
  Adam followed by a decoupled decay step ``w ← w − lr·0.01·w_prev`` (Loshchilov & Hutter
  2019), applied to the weights ``select_params`` picks (matrices, not biases).
  ``optim.AdamW`` decays the biases too; with ``select_params(model, biases=True)`` the
  update is AdamW's (the weights agree with ``optim.AdamW``'s to within 1e-5, float
  rounding, after the 430 steps of this script).
- ``Dropout(0.5, mode="classic", generator=...)`` replaces ``nn.Dropout(0.5)``: the rule
  the seed's text describes ("during testing, all neurons are used, but their
  activations are scaled down"): kept units are unscaled while training and every
  activation is multiplied by ``1 − p`` at test time.  ``nn.Dropout`` is inverted (kept
  units scaled by ``1/(1 − p)`` while training, nothing at test time).  Both have the
  same expected activations.

Run: ``python examples/seed_torch.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

from weightlab.data import Dataset, load_dataset
from weightlab.init import init_module
from weightlab.regularize import Dropout, RegularizedOptimizer, decoupled_decay, select_params

EPOCHS = 10  # as printed
BATCH_SIZE = 32
SEED = 0


@dataclass(frozen=True)
class Metrics:
    """Cross-entropy and accuracy on the training and validation sets after training."""

    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float

    def line(self, label: str) -> str:
        return (
            f"{label}: train_loss {self.train_loss:.4f} train_acc {self.train_acc:.4f} "
            f"val_loss {self.val_loss:.4f} val_acc {self.val_acc:.4f}"
        )


# ---------------------------------------------------------------------------
# The listings' models, as printed but for the input size.


class Net(nn.Module):
    """Seed 001's "L2 Regularization in PyTorch" network."""

    def __init__(self) -> None:
        super(Net, self).__init__()  # noqa: UP008  (as printed)
        self.fc1 = nn.Linear(64, 128)  # 784 in the listing (28×28 MNIST); digits are 8×8
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class DropoutNet(nn.Module):
    """Seed 001's "Dropout in PyTorch" network (``Net`` in the listing)."""

    def __init__(self) -> None:
        super(DropoutNet, self).__init__()  # noqa: UP008  (as printed)
        self.fc1 = nn.Linear(64, 128)  # 784 in the listing (28×28 MNIST); digits are 8×8
        self.drop1 = nn.Dropout(0.5)  # 50% dropout
        self.fc2 = nn.Linear(128, 64)
        self.drop2 = nn.Dropout(0.5)  # Another dropout
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc1(x))
        x = self.drop1(x)  # Apply dropout
        x = torch.relu(self.fc2(x))
        x = self.drop2(x)  # Apply dropout
        x = self.fc3(x)
        return x


def train(
    model: nn.Module,
    optimizer: optim.Optimizer | RegularizedOptimizer,
    train_loader: DataLoader[tuple[torch.Tensor, ...]],
) -> None:
    """The listings' training loop, as printed."""
    # Loss function
    criterion = nn.CrossEntropyLoss()
    # Training loop (simplified)
    for _epoch in range(EPOCHS):
        for data, target in train_loader:
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()


def loader(digits: Dataset) -> DataLoader[tuple[torch.Tensor, ...]]:
    """Shuffled batches of the training set, from a seeded generator."""
    return DataLoader(
        TensorDataset(digits.x_train, digits.y_train),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
    )


@torch.no_grad()
def measure(model: nn.Module, digits: Dataset) -> Metrics:
    """Cross-entropy and accuracy on both sets, with dropout off."""
    model.eval()
    scores = []
    for x, y in ((digits.x_train, digits.y_train), (digits.x_val, digits.y_val)):
        logits = model(x)
        scores += [F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()]
    return Metrics(*scores)


# ---------------------------------------------------------------------------
# The four runs.


def listing_adamw(digits: Dataset) -> Metrics:
    """Seed 001's "L2 Regularization in PyTorch"."""
    torch.manual_seed(SEED)
    # Initialize the network
    model = Net()
    # Use AdamW optimizer with L2 regularization (weight decay)
    optimizer = optim.AdamW(model.parameters(), lr=0.001, weight_decay=0.01)  # L2 regularization
    train(model, optimizer, loader(digits))
    return measure(model, digits)


def listing_dropout(digits: Dataset) -> Metrics:
    """Seed 001's "Dropout in PyTorch"."""
    torch.manual_seed(SEED)
    # Initialize the model
    model = DropoutNet()
    # Optimizer and loss
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    train(model, optimizer, loader(digits))
    return measure(model, digits)


def weightlab_adamw(digits: Dataset) -> Metrics:
    """The AdamW listing: He/LeCun init by activation, Adam then decoupled decay on the weights."""
    model = Net()
    generator = torch.Generator().manual_seed(SEED)
    init_module(model, "he_normal", gain_from_activation=True, generator=generator)
    weights = [p for _, p in select_params(model)]  # fc1/fc2/fc3 weights, not biases
    adam = optim.Adam(model.parameters(), lr=0.001)
    optimizer = RegularizedOptimizer(adam, decoupled_decay(0.01), weights)
    train(model, optimizer, loader(digits))
    return measure(model, digits)


def weightlab_dropout(digits: Dataset) -> Metrics:
    """The dropout listing: He/LeCun init by activation and classic dropout, seeded."""
    model = DropoutNet()
    generator = torch.Generator().manual_seed(SEED)
    init_module(model, "he_normal", gain_from_activation=True, generator=generator)
    # Replace the listing's nn.Dropout(0.5) modules.
    model.add_module("drop1", Dropout(0.5, mode="classic", generator=generator))
    model.add_module("drop2", Dropout(0.5, mode="classic", generator=generator))
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    train(model, optimizer, loader(digits))
    return measure(model, digits)


def main() -> dict[str, Metrics]:
    """Train the two listings and their weightlab versions; print one line per model."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    digits = load_dataset("digits", seed=SEED)
    runs = [
        ("listing[adamw]", listing_adamw),
        ("listing[dropout]", listing_dropout),
        ("weightlab[adamw]", weightlab_adamw),
        ("weightlab[dropout]", weightlab_dropout),
    ]
    results: dict[str, Metrics] = {}
    for label, run in runs:
        results[label] = metrics = run(digits)
        print(metrics.line(label), flush=True)
    print(f"torch {torch.__version__}, {EPOCHS} epochs each, {time.perf_counter() - start:.1f} s")
    return results


if __name__ == "__main__":
    main()
