"""Seed 001's TensorFlow/Keras listings, made to run, and the same models with weightlab.keras.

Seed 001 ("Regularization, mathematical and practical") prints two TensorFlow/Keras
programs for 10-class classification, each with ``import tensorflow as tf`` and
``from tensorflow.keras import layers, regularizers``: ``tf.keras.Sequential`` of
``Dense(128, relu) → Dense(64, relu) → Dense(10, softmax)`` with
``kernel_regularizer=regularizers.l2(0.01)`` on both hidden layers, and the same stack with
``layers.Dropout(0.5)`` after each hidden layer instead.  Both are compiled with
``optimizer='adam'``, ``loss='sparse_categorical_crossentropy'`` and
``metrics=['accuracy']`` and trained with
``model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val))``.

``listing_l2`` and ``listing_dropout`` below are those programs line for line, imports
included, and they run on TensorFlow when it is installed (``pip install tensorflow``).
What was changed so that they run here, and why:

- ``X_train, y_train, X_val, y_val`` are not defined in the listings.  They are
  scikit-learn's digits here (8×8 images, 64 features, 10 classes; 1348 training and 449
  validation images, standardized with training statistics), loaded by
  ``weightlab.data.load_dataset("digits", seed=0)``, which needs no download, and passed
  to each listing as arguments.
- ``epochs=10`` became ``epochs=EPOCHS``, 10 on TensorFlow as printed; 5 where the script
  falls back to Keras' torch backend (below), whose per-batch work is slower, to keep the
  script short on one core.  Every model has learned the digits by then.

Around the listings, not in them: ``KERAS_BACKEND`` is set to ``tensorflow`` before
TensorFlow is imported (the listings are TensorFlow code, and Keras 3 reads the variable
once, on its first import); ``tf.keras.utils.set_random_seed(0)`` runs before each model,
so that runs repeat; and the printed losses are the cross-entropy alone (without the L2
term Keras adds to its training loss), on the whole training and validation sets after
training, with dropout off, so that every model is measured the same way.  The listings'
``fit`` keeps its default ``verbose``, so Keras prints its own line per epoch.

Without TensorFlow the script says so on its first line and runs the same listing code on
Keras 3 with its torch backend: ``tf.keras`` is then the ``keras`` package itself (in
Keras 3 ``tf.keras.Sequential`` is ``keras.Sequential``) and ``layers, regularizers`` come
from ``keras``.  ``regularizers.l2`` is Keras 3's alias of ``regularizers.L2``.

The weightlab version of each model (``weightlab.keras``, on the same backend):

- ``Initializer("he_normal(nonlinearity='relu')", seed=...)`` on the ReLU layers and
  ``Initializer("lecun_normal", seed=...)`` on the softmax layer, each layer with its own
  seed, instead of Keras's default ``glorot_uniform``: He et al. (2015) derive
  ``Var(W) = 2/fan_in`` for ReLU layers, LeCun et al. (1998) ``1/fan_in`` for a linear one.
  weightlab draws them with torch, so they are the same numbers on every backend.
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

# The listings are TensorFlow code; Keras 3 picks its backend once, when first imported.
os.environ["KERAS_BACKEND"] = "tensorflow"

from types import SimpleNamespace

try:
    import tensorflow as tf
    from tensorflow.keras import layers, regularizers

    FALLBACK = ""
except ModuleNotFoundError as error:
    if error.name != "tensorflow":
        raise
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    from keras import layers, regularizers

    tf = SimpleNamespace(keras=keras)  # Keras 3: tf.keras.Sequential is keras.Sequential
    FALLBACK = (
        "Note: TensorFlow is not installed (pip install tensorflow), so the listings run "
        "on Keras 3 with its torch backend: tf.keras is keras, and layers, regularizers "
        "come from keras."
    )

import time
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import torch

from weightlab.data import load_dataset
from weightlab.keras import L2, DecoupledDecay, Dropout, Initializer

EPOCHS = 10 if not FALLBACK else 5  # 10 in the listings; see the module docstring
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


def cross_entropy_and_accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy of the softmax outputs (clipped at 1e-7, as Keras does) and
    accuracy, with dropout off and no regularization term."""
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.log(picked).mean()), float((probs.argmax(axis=1) == y).mean())


def measure(model: Any, data: Arrays) -> Metrics:
    X_train, y_train, X_val, y_val = data
    train_loss, train_acc = cross_entropy_and_accuracy(model, X_train, y_train)
    val_loss, val_acc = cross_entropy_and_accuracy(model, X_val, y_val)
    return Metrics(train_loss, train_acc, val_loss, val_acc)


# ---------------------------------------------------------------------------
# The listings as printed (epochs=EPOCHS; the data are the arguments).


def listing_l2(X_train: Any, y_train: Any, X_val: Any, y_val: Any) -> Any:
    """Seed 001's "L2 Regularization in TensorFlow/Keras"."""
    # Define a simple Sequential model with L2 regularization
    model = tf.keras.Sequential(
        [
            layers.Dense(128, activation="relu", kernel_regularizer=regularizers.l2(0.01)),
            layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(0.01)),
            layers.Dense(10, activation="softmax"),  # Output layer for classification
        ]
    )
    # Compile the model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # Train the model
    model.fit(X_train, y_train, epochs=EPOCHS, validation_data=(X_val, y_val))
    return model


def listing_dropout(X_train: Any, y_train: Any, X_val: Any, y_val: Any) -> Any:
    """Seed 001's "Dropout in TensorFlow/Keras"."""
    # Define a model with dropout regularization
    model = tf.keras.Sequential(
        [
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),  # Dropout with 50% probability
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.5),  # Another Dropout layer
            layers.Dense(10, activation="softmax"),  # Output layer for classification
        ]
    )
    # Compile the model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # Train the model
    model.fit(X_train, y_train, epochs=EPOCHS, validation_data=(X_val, y_val))
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


def train_weightlab(model: keras.Model, data: Arrays, callbacks: list[Any] | None) -> None:
    """The listings' compile and fit, without Keras' per-epoch lines."""
    X_train, y_train, X_val, y_val = data
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        X_train,
        y_train,
        epochs=EPOCHS,
        validation_data=(X_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )


def main() -> dict[str, Metrics]:
    """Train the two listings and their weightlab versions; print one line per model."""
    if FALLBACK:
        print(FALLBACK, flush=True)
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = load_digits()
    results: dict[str, Metrics] = {}
    for label, listing in [("listing[l2]", listing_l2), ("listing[dropout]", listing_dropout)]:
        tf.keras.utils.set_random_seed(SEED)
        results[label] = measure(listing(*data), data)
    versions = [
        ("weightlab[l2]", weightlab_l2, None),
        ("weightlab[dropout]", weightlab_dropout, None),
        ("weightlab[adamw]", weightlab_plain, [DecoupledDecay(0.01)]),
    ]
    for label, build, callbacks in versions:
        keras.utils.set_random_seed(SEED)
        model = build()
        train_weightlab(model, data, callbacks)
        results[label] = measure(model, data)
    for label, metrics in results.items():
        print(metrics.line(label), flush=True)
    version = torch.__version__ if FALLBACK else tf.__version__
    print(
        f"keras {keras.__version__} on {keras.backend.backend()} {version}, "
        f"{EPOCHS} epochs each, {time.perf_counter() - start:.1f} s"
    )
    return results


if __name__ == "__main__":
    main()
