"""Seed 001's Keras listings, made to run, and the same models written with weightlab.keras.

Seed 001 ("Regularization, mathematical and practical") prints two Keras models for
10-class classification: ``Dense(128, relu) → Dense(64, relu) → Dense(10, softmax)`` with
``kernel_regularizer=regularizers.l2(0.01)`` on both hidden layers, and the same stack
with ``layers.Dropout(0.5)`` after each hidden layer instead.  Both are compiled with
``optimizer='adam'`` and ``loss='sparse_categorical_crossentropy'`` and trained with
``model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val))``.  This script
keeps every layer, regularizer, rate and optimizer setting as printed, and the default
batch size of 32.

What was changed so that the listings run here, and why:

- ``import tensorflow as tf`` / ``from tensorflow.keras import layers, regularizers``
  became ``import keras`` / ``from keras import layers, regularizers`` and
  ``tf.keras.Sequential`` became ``keras.Sequential``: this is Keras 3 on its torch
  backend (TensorFlow is not installed).  ``regularizers.l2`` is Keras 3's alias of
  ``regularizers.L2``, so that line is unchanged.
- ``X_train, y_train, X_val, y_val`` are not defined in the listing.  They are
  scikit-learn's digits here (8×8 images, 64 features, 10 classes; 1348 training and
  449 validation images, standardized with training statistics), loaded by
  ``weightlab.data.load_dataset("digits", seed=0)``, which needs no download.
- ``epochs=5`` instead of 10, to keep the script short on one core: importing Keras
  takes about 5 s of it, and at ten epochs the five models bring it to about 17 s of CPU
  time, at five to about 11 s.  Every model has learned the digits by then (the
  validation accuracies are above 0.91).
- ``keras.utils.set_random_seed(0)`` before each model and ``verbose=0`` in ``fit``, so
  that runs repeat and print only the summary lines.
- The printed losses are the cross-entropy alone (without the L2 term Keras adds to its
  own training loss), on the whole training and validation sets after training, with
  dropout off, so that every model is measured the same way.

The weightlab version of each model (``weightlab.keras``):

- ``Initializer("he_normal(nonlinearity='relu')", seed=...)`` on the ReLU layers and
  ``Initializer("lecun_normal", seed=...)`` on the softmax layer, each layer with its own
  seed, instead of Keras's default ``glorot_uniform``: He et al. (2015) derive
  ``Var(W) = 2/fan_in`` for ReLU layers, LeCun et al. (1998) ``1/fan_in`` for a linear one.
- ``L2(0.01, convention="sum_sq")`` is the listing's penalty exactly: Keras's
  ``l2(0.01)`` adds ``0.01·Σw²`` with no ½ (torch's ``weight_decay`` would be 0.02).
- ``Dropout(0.5, mode="classic", seed=...)`` is the rule the seed's text describes ("during
  testing, all neurons are used, but their activations are scaled down"): kept units are
  unscaled while training and every activation is multiplied by ``1 − p`` at test time.
  ``layers.Dropout`` is inverted (kept units scaled by ``1/(1 − p)`` while training,
  nothing at test time).  Both have the same expected activations.
- ``weightlab[adamw]`` follows the seed's own advice ("If using the Adam optimizer,
  switch to AdamW"): no penalty in the loss, and the ``DecoupledDecay(0.01)`` callback
  shrinks the kernels by ``lr·0.01·w`` after every Adam step (Loshchilov & Hutter 2019).

Run: ``python examples/seed_keras.py``.
"""

from __future__ import annotations

import os

# Keras chooses its backend once, when first imported.
os.environ.setdefault("KERAS_BACKEND", "torch")

import time
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import torch
from keras import layers, regularizers

from weightlab.data import load_dataset
from weightlab.keras import L2, DecoupledDecay, Dropout, Initializer

EPOCHS = 5  # 10 in the listing; see the module docstring
SEED = 0

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


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


def load_digits() -> Arrays:
    """scikit-learn's digits as numpy arrays: x float32 [N, 64], y int64 [N]."""
    data = load_dataset("digits", seed=SEED)
    return (
        data.x_train.numpy(),
        data.y_train.numpy(),
        data.x_val.numpy(),
        data.y_val.numpy(),
    )


def cross_entropy_and_accuracy(
    model: keras.Model, x: np.ndarray, y: np.ndarray
) -> tuple[float, float]:
    """Mean cross-entropy of the softmax outputs (clipped at 1e-7, as Keras does) and
    accuracy, with dropout off and no regularization term."""
    probs = np.asarray(model.predict(x, batch_size=len(x), verbose=0))
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.log(picked).mean()), float((probs.argmax(axis=1) == y).mean())


def train(model: keras.Model, data: Arrays, callbacks: list[Any] | None = None) -> Metrics:
    """The listing's compile and fit, then the metrics."""
    X_train, y_train, X_val, y_val = data
    # Compile the model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # Train the model
    model.fit(
        X_train,
        y_train,
        epochs=EPOCHS,
        validation_data=(X_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )
    train_loss, train_acc = cross_entropy_and_accuracy(model, X_train, y_train)
    val_loss, val_acc = cross_entropy_and_accuracy(model, X_val, y_val)
    return Metrics(train_loss, train_acc, val_loss, val_acc)


# ---------------------------------------------------------------------------
# The listings as printed (Keras 3 imports).


def listing_l2() -> keras.Model:
    """Seed 001's "L2 Regularization in TensorFlow/Keras"."""
    # Define a simple Sequential model with L2 regularization
    model = keras.Sequential(
        [
            layers.Dense(128, activation="relu", kernel_regularizer=regularizers.l2(0.01)),
            layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(0.01)),
            layers.Dense(10, activation="softmax"),  # Output layer for classification
        ]
    )
    return model


def listing_dropout() -> keras.Model:
    """Seed 001's "Dropout in TensorFlow/Keras"."""
    # Define a model with dropout regularization
    model = keras.Sequential(
        [
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),  # Dropout with 50% probability
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.5),  # Another Dropout layer
            layers.Dense(10, activation="softmax"),  # Output layer for classification
        ]
    )
    return model


# ---------------------------------------------------------------------------
# The same models with weightlab.keras.


def he_relu(seed: int) -> Initializer:
    """He normal for a layer followed by ReLU: N(0, 2/fan_in)."""
    return Initializer("he_normal(nonlinearity='relu')", seed=seed)


def lecun(seed: int) -> Initializer:
    """LeCun normal for the output layer (no ReLU after it): N(0, 1/fan_in)."""
    return Initializer("lecun_normal", seed=seed)


def weightlab_l2() -> keras.Model:
    """The L2 listing: seeded He/LeCun kernels, the same penalty with its convention named."""
    return keras.Sequential(
        [
            layers.Dense(
                128,
                activation="relu",
                kernel_initializer=he_relu(1),
                kernel_regularizer=L2(0.01, convention="sum_sq"),
            ),
            layers.Dense(
                64,
                activation="relu",
                kernel_initializer=he_relu(2),
                kernel_regularizer=L2(0.01, convention="sum_sq"),
            ),
            layers.Dense(10, activation="softmax", kernel_initializer=lecun(3)),
        ]
    )


def weightlab_dropout() -> keras.Model:
    """The dropout listing: seeded He/LeCun kernels and classic dropout, as the text describes."""
    return keras.Sequential(
        [
            layers.Dense(128, activation="relu", kernel_initializer=he_relu(1)),
            Dropout(0.5, mode="classic", seed=4),
            layers.Dense(64, activation="relu", kernel_initializer=he_relu(2)),
            Dropout(0.5, mode="classic", seed=5),
            layers.Dense(10, activation="softmax", kernel_initializer=lecun(3)),
        ]
    )


def weightlab_plain() -> keras.Model:
    """Seeded He/LeCun kernels, no penalty: decay comes from the DecoupledDecay callback."""
    return keras.Sequential(
        [
            layers.Dense(128, activation="relu", kernel_initializer=he_relu(1)),
            layers.Dense(64, activation="relu", kernel_initializer=he_relu(2)),
            layers.Dense(10, activation="softmax", kernel_initializer=lecun(3)),
        ]
    )


def main() -> dict[str, Metrics]:
    """Train the two listings and their weightlab versions; print one line per model."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = load_digits()
    runs = [
        ("listing[l2]", listing_l2, None),
        ("listing[dropout]", listing_dropout, None),
        ("weightlab[l2]", weightlab_l2, None),
        ("weightlab[dropout]", weightlab_dropout, None),
        ("weightlab[adamw]", weightlab_plain, [DecoupledDecay(0.01)]),
    ]
    results: dict[str, Metrics] = {}
    for label, build, callbacks in runs:
        keras.utils.set_random_seed(SEED)
        results[label] = metrics = train(build(), data, callbacks)
        print(metrics.line(label), flush=True)
    print(
        f"keras {keras.__version__} on {keras.backend.backend()}, {EPOCHS} epochs each, "
        f"{time.perf_counter() - start:.1f} s"
    )
    return results


if __name__ == "__main__":
    main()
