"""Keras' backends: which ones a translation was checked on, and what differs between them.

Keras 3 runs the same optimizers, regularizers, initializers and layers on TensorFlow, JAX
and torch, and weightlab's equivalence tests train and draw every Keras mapping on each of
the three (:data:`KERAS_BACKENDS`).  What running them showed (Keras 3.15, TensorFlow
2.21, JAX 0.10, torch 2.13, on CPU):

- ``weight_decay`` is decoupled and applied before the update on every backend,
  ``w ← w − lr·d·w``; the torch backend computes it as ``w·(1 − lr·d)``
  (``torch._foreach_mul_``), TensorFlow and JAX as ``w − d·lr·w``.  That is float32
  rounding: every exact mapping stays below 10⁻⁶ over the tests' 20 steps on each backend.
- Adam: every backend runs Keras' own update, ``ε̂`` added to ``√v`` and ``β₁ᵗ``, ``β₂ᵗ``
  in float32, so the ε caveat and the float32 caveat hold alike on all three.
- A ``weight_decay`` changed between steps (the per-step recipe that turns Keras' AdamW
  into MLX's uncorrected one) is a Python number that Keras reads when it builds the
  training step: TensorFlow's ``tf.function`` (its default) and JAX's ``jax.jit`` (its
  default, ``jit_compile=True``) keep the value they were traced with, so the recipe
  compiles with ``run_eagerly=True``; torch reads it every step.  Without it the
  trajectories part by 1.7·10⁻² over 20 steps on TensorFlow and on jitted JAX.
- Random draws (Keras' initializers, ``Dropout`` masks) come from each backend's own
  generator: the same seed draws different numbers on each, from the same distribution.
  Keras' truncated normal on torch keeps about 4·10⁻⁶ of its values beyond the cut (see
  the initializer caveat); TensorFlow and JAX cut exactly.
- dtype: JAX computes in float32 unless ``jax_enable_x64`` is set, so ``float64``
  initializers and variables come back float32 there.
"""

from __future__ import annotations

from collections.abc import Sequence

from weightlab.interop.translate.components import Call
from weightlab.interop.translate.meanings import (
    DropoutMeaning,
    InitMeaning,
    Meaning,
    UpdateMeaning,
)

__all__ = ["KERAS_BACKENDS", "TRACED_DECAY_GAP", "keras_backend_notes", "traced_decay_caveat"]

KERAS_BACKENDS: tuple[str, ...] = ("tensorflow", "jax", "torch")
"""The Keras 3 backends every Keras mapping is checked on (Keras' numpy and openvino
backends have no training)."""

TRACED_DECAY_GAP = 1.7e-2
"""How far the per-step ``weight_decay`` recipe ends from the source over 20 steps where
a traced step keeps the first value (measured on TensorFlow and on jitted JAX)."""

_CHECKED = {
    "update": "20 training steps beside the source on each, within the tolerance",
    "init": "large draws from both sides' initializers on each, the same distribution",
    "dropout": "the layers' kept values, dropped share and evaluation output on each",
}
_WEIGHT_DECAY = (
    "weight_decay: every backend applies it before the update, w ← w − lr·d·w (the torch "
    "backend as w·(1 − lr·d), tensorflow and jax as w − d·lr·w): float32 rounding apart, "
    "below 10⁻⁶ over the tests' 20 steps."
)
_ADAM = (
    "Adam: every backend runs Keras' own update (ε̂ added to √v; β₁ᵗ and β₂ᵗ in float32), "
    "the same on tensorflow, jax and torch."
)
_DRAWS = (
    "Keras draws with each backend's own random generator: the same seed gives different "
    "{what} on tensorflow, jax and torch (the same distribution)."
)
_FLOAT64 = (
    "dtype: jax computes in float32 unless jax_enable_x64 is set; dtype='float64' comes "
    "back float32 there."
)


def _names(backends: Sequence[str]) -> str:
    return ", ".join(backends[:-1]) + f" and {backends[-1]}"


def keras_backend_notes(
    calls: Sequence[Call], meaning: Meaning
) -> tuple[list[str], str, list[str]]:
    """For a translation with Keras on either side: the backends it was checked on, what
    was checked, and what differs between the backends; empty where Keras is not
    involved."""
    keras = [c for c in calls if c.framework == "keras"]
    if not keras:
        return [], "", []
    backends = list(KERAS_BACKENDS)
    checked = f"Checked on Keras' {_names(backends)} backends: {_CHECKED[meaning.kind]}."
    notes: list[str] = []
    if isinstance(meaning, UpdateMeaning):
        if any(c.component.kind == "optimizer" and c.arg("weight_decay") for c in keras):
            notes.append(_WEIGHT_DECAY)
        if any(c.component.eps_hat for c in keras):
            notes.append(_ADAM)
    elif isinstance(meaning, InitMeaning):
        notes += [_DRAWS.format(what="numbers"), _FLOAT64]
    elif isinstance(meaning, DropoutMeaning):
        notes.append(_DRAWS.format(what="masks"))
    return backends, checked, notes


def traced_decay_caveat(calls: Sequence[Call]) -> str | None:
    """The caveat for Keras' per-step ``weight_decay`` recipe, where the setting has one."""
    recipe = any(c.framework == "keras" and c.name == "no_bias_correction" for c in calls)
    decays = any(
        c.framework == "keras" and c.component.kind == "optimizer" and c.arg("weight_decay")
        for c in calls
    )
    if not (recipe and decays):
        return None
    return (
        "The per-step weight_decay is a Python number that Keras reads when it builds the "
        "training step: on the tensorflow backend (tf.function) and on jax (jit, its "
        "default) the step keeps its first value, so compile with run_eagerly=True, as "
        "written; the torch backend reads it every step. Without it the trajectories part "
        "by 1.7·10⁻² over the tests' 20 steps on tensorflow and jitted jax."
    )
