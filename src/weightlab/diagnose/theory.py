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

import math
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import torch

__all__ = ["ACTIVATION_FNS", "chain_prediction", "one_step_prediction", "second_moment"]

ACTIVATION_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda z: z,
    "identity": lambda z: z,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "selu": torch.nn.functional.selu,
    "gelu": torch.nn.functional.gelu,
    "silu": torch.nn.functional.silu,
}


@cache
def _nodes() -> tuple[torch.Tensor, torch.Tensor]:
    x, w = np.polynomial.hermite_e.hermegauss(101)
    return torch.from_numpy(x), torch.from_numpy(w / math.sqrt(2 * math.pi))


def second_moment(activation: str, q: float, slope: float | None = None) -> float:
    """``E[φ(z)²]`` for ``z ~ N(0, q)``: exact for linear, ReLU and leaky ReLU,
    101-point Gauss–Hermite quadrature otherwise.

    Example:
        >>> second_moment("relu", 2.0)
        1.0
    """
    if not math.isfinite(q):
        return math.inf
    if activation in ("linear", "identity"):
        return q
    if activation == "relu":
        return q / 2
    if activation == "leaky_relu":
        a = 0.01 if slope is None else slope
        return q * (1 + a * a) / 2
    x, w = _nodes()
    phi = ACTIVATION_FNS[activation](x * math.sqrt(max(q, 0.0)))
    return float((w * phi.pow(2)).sum())


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
