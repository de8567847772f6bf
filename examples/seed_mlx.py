"""Seed 001's MLX listing, corrected so that it runs, and the same model with weightlab.mlx.

Seed 001 ("Regularization, mathematical and practical") prints one MLX program: an
``nn.Sequential`` of ``Linear(784, 128) → ReLU → Dropout(0.5) → Linear(128, 64) → ReLU →
Dropout(0.5) → Linear(64, 10)`` trained for ten epochs with AdamW (learning rate 0.001,
weight decay 0.01) on a cross-entropy loss.  As printed it does not run: it is PyTorch's
API with MLX's names.  The corrections, each checked against MLX 0.32:

- ``from mlx import nn, optim``: there is no ``mlx.optim`` (ImportError); the modules
  are ``mlx.core``, ``mlx.nn`` and ``mlx.optimizers``.
- ``optim.AdamW(model.parameters(), lr=0.001, weight_decay=0.01)``: MLX optimizers take
  no parameter list and the rate is ``learning_rate`` (TypeError: unexpected keyword
  argument 'lr'); it becomes ``optim.AdamW(learning_rate=0.001, weight_decay=0.01)``.
- ``optimizer.zero_grad()``: MLX accumulates no gradients, and optimizers have no such
  method (AttributeError); the line goes.
- ``loss = nn.CrossEntropyLoss(output, target)``: ``mlx.nn`` has no ``CrossEntropyLoss``
  (AttributeError); the loss is the function ``nn.losses.cross_entropy``, whose default
  reduction is ``'none'`` (one loss per sample), so ``reduction="mean"`` is passed.
- ``loss.backward()`` / ``optimizer.step()``: an ``mx.array`` has no ``backward``
  (AttributeError) and ``optimizer.step`` is the step counter, not a method.  Gradients
  come from ``nn.value_and_grad(model, loss_fn)``, which needs the loss as a function of
  the model, and are applied with ``optimizer.update(model, grads)``; MLX is lazy, so
  each step ends with ``mx.eval(model.parameters(), optimizer.state)``.

Changed to run on this data, as in the Keras and PyTorch scripts:

- ``nn.Linear(784, 128)`` became ``nn.Linear(64, 128)``: 784 is a flattened 28×28 MNIST
  image; the data are scikit-learn's digits, 8×8 = 64 features, 10 classes (1348 training
  and 449 validation images, standardized with training statistics), loaded by
  ``weightlab.data.load_dataset("digits", seed=0)``, which needs no download.
- ``train_loader`` is not defined in the listing: here shuffled batches of 32 from a
  seeded numpy generator.  ``mx.random.seed(0)`` fixes MLX's default init and dropout;
  ``model.eval()`` turns dropout off for measuring, on the whole training and validation
  sets after training.

MLX's ``AdamW`` is kept with its defaults, so it differs from ``torch.optim.AdamW`` in
one way: ``bias_correction=False``.  It decays every parameter, biases included.

The weightlab version (``weightlab.mlx``):

- ``apply(model, "he_normal(nonlinearity='relu')", seed=0)`` draws He normal
  ``N(0, 2/fan_in)`` for the Linear layers followed by ReLU (He et al. 2015), and
  ``initializer("lecun_normal", seed=1)`` redraws the output layer with ``N(0, 1/fan_in)``,
  as no ReLU follows it; biases start at 0.  MLX's default is ``U(±1/√fan_in)``.
- ``Dropout(0.5, mode="classic", seed=...)``: the rule the seed's text describes ("during
  testing, all neurons are used, but their activations are scaled down"): kept units are
  unscaled while training and every activation is multiplied by ``1 − p`` at test time.
  ``nn.Dropout`` is inverted.  Both have the same expected activations.
- ``RegularizedOptimizer(optim.Adam(learning_rate=0.001, bias_correction=True),
  decoupled_decay(0.01))``: Adam with bias correction followed by the decoupled decay
  ``w ← w − lr·0.01·w_prev`` on the weight matrices (not the biases), which is
  ``torch.optim.AdamW(lr=0.001, weight_decay=0.01)`` on those weights.
- ``weightlab[l2+dropout]`` does what the listing's comment says ("L2 regularization")
  literally, as the seed's Keras listing does: Adam with ``l2(model, 0.01,
  convention="sum_sq")``, Keras's ``l2(0.01)`` penalty ``0.01·Σw²``, added to the loss.
  With Adam this is not the same as decoupled decay, which is the seed's reason to
  recommend AdamW.

Run: ``python examples/seed_mlx.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
import torch

from weightlab import mlx as wmlx
from weightlab.data import load_dataset

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


@dataclass(frozen=True)
class Digits:
    """scikit-learn's digits as numpy arrays: x float32 [N, 64], y int64 [N]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


class Batches:
    """The listing's ``train_loader``: shuffled ``(data, target)`` batches of the training
    set, a new order on every pass, from a seeded generator."""

    def __init__(self, digits: Digits, batch_size: int, seed: int) -> None:
        self.x = digits.x_train
        self.y = digits.y_train
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[tuple[mx.array, mx.array]]:
        order = self.rng.permutation(len(self.y))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            yield mx.array(self.x[index]), mx.array(self.y[index])


def loss_fn(model: nn.Module, data: mx.array, target: mx.array) -> mx.array:
    """Mean cross-entropy; ``nn.losses.cross_entropy`` returns one value per sample by default."""
    return nn.losses.cross_entropy(model(data), target, reduction="mean")


def measure(model: nn.Module, digits: Digits) -> Metrics:
    """Cross-entropy and accuracy on both sets, with dropout off."""
    model.eval()
    scores = []
    for x, y in ((digits.x_train, digits.y_train), (digits.x_val, digits.y_val)):
        logits = model(mx.array(x))
        target = mx.array(y)
        loss = nn.losses.cross_entropy(logits, target, reduction="mean")
        accuracy = mx.mean(mx.argmax(logits, axis=1) == target)
        scores += [float(loss.item()), float(accuracy.item())]
    return Metrics(*scores)


# ---------------------------------------------------------------------------
# The listing, corrected.


def listing(digits: Digits) -> Metrics:
    """Seed 001's "L2 Regularization and Dropout in MLX", with the corrections above."""
    mx.random.seed(SEED)
    train_loader = Batches(digits, BATCH_SIZE, SEED)
    # Define a neural network model in MLX
    model = nn.Sequential(
        nn.Linear(64, 128),  # 784 in the listing (28×28 MNIST); digits are 8×8
        nn.ReLU(),
        nn.Dropout(0.5),  # Dropout layer with 50% probability
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Dropout(0.5),  # Another dropout layer
        nn.Linear(64, 10),
    )
    # Set up an optimizer with L2 regularization (weight decay)
    optimizer = optim.AdamW(learning_rate=0.001, weight_decay=0.01)  # L2 regularization
    loss_and_grad = nn.value_and_grad(model, loss_fn)
    # Training loop (simplified)
    for _epoch in range(EPOCHS):
        for data, target in train_loader:
            _loss, grads = loss_and_grad(model, data, target)
            optimizer.update(model, grads)
            mx.eval(model.parameters(), optimizer.state)
    return measure(model, digits)


# ---------------------------------------------------------------------------
# The same model with weightlab.mlx.


def weightlab_model() -> nn.Sequential:
    """The listing's layers with classic dropout, He init on the ReLU layers and LeCun
    init on the output layer, all seeded."""
    model = nn.Sequential(
        nn.Linear(64, 128),
        nn.ReLU(),
        wmlx.Dropout(0.5, mode="classic", seed=SEED + 2),
        nn.Linear(128, 64),
        nn.ReLU(),
        wmlx.Dropout(0.5, mode="classic", seed=SEED + 3),
        nn.Linear(64, 10),
    )
    wmlx.apply(model, "he_normal(nonlinearity='relu')", seed=SEED)
    output = model.layers[-1]
    output.weight = wmlx.initializer("lecun_normal", seed=SEED + 1)(output.weight)
    return model


def fit(
    model: nn.Module,
    optimizer: optim.Optimizer | wmlx.RegularizedOptimizer,
    loss: Callable[[nn.Module, mx.array, mx.array], mx.array],
    digits: Digits,
) -> Metrics:
    """The corrected listing's training loop, for the weightlab versions."""
    loss_and_grad = nn.value_and_grad(model, loss)
    train_loader = Batches(digits, BATCH_SIZE, SEED)
    for _epoch in range(EPOCHS):
        for data, target in train_loader:
            _, grads = loss_and_grad(model, data, target)
            optimizer.update(model, grads)
            mx.eval(model.parameters(), optimizer.state)
    return measure(model, digits)


def weightlab_adamw(digits: Digits) -> Metrics:
    """AdamW as Adam (bias-corrected, as torch's) followed by decoupled decay on the weights."""
    adam = optim.Adam(learning_rate=0.001, bias_correction=True)
    optimizer = wmlx.RegularizedOptimizer(adam, wmlx.decoupled_decay(0.01))
    return fit(weightlab_model(), optimizer, loss_fn, digits)


def l2_loss_fn(model: nn.Module, data: mx.array, target: mx.array) -> mx.array:
    """Mean cross-entropy plus Keras's ``l2(0.01)`` on the weight matrices: ``0.01·Σw²``."""
    return loss_fn(model, data, target) + wmlx.l2(model, 0.01, convention="sum_sq")


def weightlab_l2(digits: Digits) -> Metrics:
    """The listing's comment taken literally: Adam with an L2 penalty in the loss."""
    optimizer = optim.Adam(learning_rate=0.001, bias_correction=True)
    return fit(weightlab_model(), optimizer, l2_loss_fn, digits)


def main() -> dict[str, Metrics]:
    """Train the corrected listing and its weightlab versions; print one line per model."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = load_dataset("digits", seed=SEED)
    digits = Digits(
        data.x_train.numpy(), data.y_train.numpy(), data.x_val.numpy(), data.y_val.numpy()
    )
    runs = [
        ("listing[adamw+dropout]", listing),
        ("weightlab[adamw+dropout]", weightlab_adamw),
        ("weightlab[l2+dropout]", weightlab_l2),
    ]
    results: dict[str, Metrics] = {}
    for label, run in runs:
        results[label] = metrics = run(digits)
        print(metrics.line(label), flush=True)
    print(
        f"mlx {mx.__version__} on {mx.default_device()}, {EPOCHS} epochs each, "
        f"{time.perf_counter() - start:.1f} s"
    )
    return results


if __name__ == "__main__":
    main()
