"""What the derivations predict for signal variance through depth.

For a layer ``z = W a + b`` with ``n`` inputs per unit, zero-mean i.i.d. weights
independent of the input (Glorot & Bengio 2010; He et al. 2015):

    Var(z^l) = n^{l-1} · Var(W^l) · E[(a^{l-1})²] + Var(b^l)

and, for a zero-mean Gaussian pre-activation of variance ``q``, the next layer's input
second moment is the "length map" ``E[φ(z)²] = M_φ(q)`` (Poole et al. 2016):
``M_relu(q) = q/2`` (the ReLU factor ½ of He et al.), ``M_linear(q) = q``, and for tanh,
sigmoid, GELU, SiLU, SELU a Gauss–Hermite integral.  Chaining the two from the input
gives the predicted variance at every depth and the end-to-end gain.
"""

from __future__ import annotations

from collections.abc import Sequence

from weightlab.activations import second_moment

__all__ = ["chain_prediction", "one_step_prediction", "second_moment"]


def one_step_prediction(fan_in: int, weight_var: float, input_sq: float, bias_var: float) -> float:
    """``n · Var(W) · E[a²] + Var(b)``, using the measured second moment of the layer's
    actual input: the derivation's step without its Gaussian assumption."""
    return fan_in * weight_var * input_sq + bias_var


def chain_prediction(
    input_sq: float,
    fan_ins: Sequence[int],
    weight_vars: Sequence[float],
    bias_vars: Sequence[float],
    activations: Sequence[tuple[str, float | None]],
) -> list[float]:
    """Predicted ``Var(z^l)`` for every layer of a sequential stack, from the input's
    second moment alone: ``q_l = n_l·Var(W_l)·E[a_{l-1}²] + Var(b_l)`` with
    ``E[a_{l-1}²] = M_φ(q_{l-1})``."""
    predictions = []
    second = input_sq
    for n, wv, bv, (act, slope) in zip(fan_ins, weight_vars, bias_vars, activations, strict=True):
        q = one_step_prediction(n, wv, second, bv)
        predictions.append(q)
        second = second_moment(act, q, slope)
    return predictions
