"""Flags and a recommendation from a :class:`~weightlab.diagnose.propagation.Measurement`.

Flags say what is wrong (vanishing or exploding signal or gradients, saturation, dead
units, symmetry); the recommendation names the scheme and gain that fit the layers'
activations, with the reason in one sentence.

A layer whose pre-activation has variance exactly 0 passes no signal from the input: every
input gives it the same value (zero or constant weights).  Whatever variance the layers
after it show comes from their biases and weights, not from the input, so it is reported
as a symmetry ("no signal"), never as an exploding or vanishing signal.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from weightlab.diagnose.propagation import LayerReport, Measurement

__all__ = ["THRESHOLDS", "Flag", "Recommendation", "flags", "recommend"]

# Decades of change through the depth that count as vanishing or exploding; the range of
# the average per-layer factor of Var(z) that counts as steady; the
# fractions of saturated or dead units that are worth a flag; and the smallest
# Var(∂W)/Var(W) (with a unit-variance gradient arriving at the output) before a
# gradient step can no longer move the weights.
THRESHOLDS: dict[str, Any] = {
    "decades": 3.0,
    "drift": (0.7, 1.43),
    "saturated": 0.5,
    "dead": 0.5,
    "grad_to_weight": 1e-6,
}


@dataclass(frozen=True)
class Flag:
    """One problem: its kind, the first layer where it shows, and a sentence."""

    kind: str
    layer: str
    message: str


@dataclass(frozen=True)
class Recommendation:
    """A scheme spec string, whether to derive gains per layer, and why."""

    scheme: str
    gain_from_activation: bool
    reason: str


def _amount(change: float) -> str:
    return (
        "to exactly 0 (below float range)" if math.isinf(change) else f"{abs(change):.3g} decades"
    )


def _decades(a: float, b: float) -> float:
    if a <= 0 or b <= 0:
        return -math.inf if b <= 0 < a else (math.inf if a <= 0 < b else 0.0)
    return math.log10(b / a)


def _silent(layers: list[LayerReport]) -> LayerReport | None:
    """The first layer whose pre-activation is one value for every input and unit."""
    return next((r for r in layers if r.finite and r.pre_var == 0), None)


def _forward_flags(layers: list[LayerReport]) -> list[Flag]:
    bad = next((r for r in layers if not r.finite), None)
    if bad is not None:
        return [
            Flag("exploding_forward", bad.name, f"Activations become inf/NaN at layer {bad.name}.")
        ]
    if _silent(layers) is not None:
        return []  # no signal to grow or shrink: reported with the symmetry flag
    first, last = layers[0], layers[-1]
    change = _decades(first.pre_var, last.pre_var)
    if change <= -THRESHOLDS["decades"]:
        return [
            Flag(
                "vanishing_forward",
                last.name,
                f"Var(z) falls {_amount(change)} from layer {first.name} to {last.name}.",
            )
        ]
    if change >= THRESHOLDS["decades"]:
        return [
            Flag(
                "exploding_forward",
                last.name,
                f"Var(z) grows {change:.3g} decades from layer {first.name} to {last.name}.",
            )
        ]
    return _drift_flags(layers)


def _drift_flags(layers: list[LayerReport]) -> list[Flag]:
    """A per-layer factor away from 1, too small to cross the decades threshold at this
    depth but compounding all the same.  Only for positively homogeneous activations
    (ReLU, leaky ReLU, linear), whose variance map q ↦ c·q is linear, so the factor is
    the same at every depth (ReLU under Var(W) = 1/n: ×½ per layer); tanh-like maps
    converge to a fixed point instead, which the decades check covers."""
    hidden = layers[:-1]
    homogeneous = all(r.activation in ("relu", "leaky_relu", "linear") for r in hidden)
    if not homogeneous or len(hidden) < 3 or hidden[0].pre_var <= 0 or hidden[-1].pre_var <= 0:
        return []
    factor = (hidden[-1].pre_var / hidden[0].pre_var) ** (1 / (len(hidden) - 1))
    low, high = THRESHOLDS["drift"]
    if low <= factor <= high:
        return []
    kind = "vanishing_forward" if factor < low else "exploding_forward"
    at_30 = factor**29
    return [
        Flag(
            kind,
            hidden[-1].name,
            f"Var(z) changes by ×{factor:.2g} per layer on average: over 30 layers that "
            f"would be ×{at_30:.2g}.",
        )
    ]


def _gradient_flags(layers: list[LayerReport]) -> list[Flag]:
    first, last = layers[0], layers[-1]
    if not all(math.isfinite(r.weight_grad_var) for r in layers):
        return [Flag("exploding_gradient", first.name, "Weight gradients are inf/NaN.")]
    if first.weight_grad_var == 0:
        everywhere = all(r.weight_grad_var == 0 for r in layers)
        scope = "Every layer's" if everywhere else "The first layer's"
        message = f"{scope} weight gradient is exactly zero."
        return [Flag("vanishing_gradient", first.name, message)]
    change = _decades(last.weight_grad_var, first.weight_grad_var)
    if change <= -THRESHOLDS["decades"]:
        return [
            Flag(
                "vanishing_gradient",
                first.name,
                f"Weight-gradient variance falls {_amount(change)} from the output "
                f"layer back to layer {first.name}.",
            )
        ]
    if change >= THRESHOLDS["decades"]:
        return [
            Flag(
                "exploding_gradient",
                first.name,
                f"Weight-gradient variance grows {change:.3g} decades from the output "
                f"layer back to layer {first.name}.",
            )
        ]
    tiny = next(
        (
            r
            for r in layers
            if r.weight_var > 0 and r.weight_grad_var / r.weight_var < THRESHOLDS["grad_to_weight"]
        ),
        None,
    )
    if tiny is not None:
        ratio = tiny.weight_grad_var / tiny.weight_var
        return [
            Flag(
                "vanishing_gradient",
                tiny.name,
                f"Var(∂W)/Var(W) is {ratio:.2g} at layer {tiny.name}: gradient steps "
                f"cannot move these weights.",
            )
        ]
    return []


def _unit_flags(layers: list[LayerReport]) -> list[Flag]:
    out = []
    saturated = next(
        (r for r in layers if (r.saturated_fraction or 0) > THRESHOLDS["saturated"]), None
    )
    if saturated is not None:
        out.append(
            Flag(
                "saturation",
                saturated.name,
                f"{saturated.saturated_fraction:.0%} of {saturated.activation} units are "
                f"saturated at layer {saturated.name}, where their gradient is near 0.",
            )
        )
    dead = next((r for r in layers if (r.dead_fraction or 0) > THRESHOLDS["dead"]), None)
    if dead is not None:
        out.append(
            Flag(
                "dead_units",
                dead.name,
                f"{dead.dead_fraction:.0%} of ReLU units output 0 for every input at layer "
                f"{dead.name}.",
            )
        )
    hidden = layers[:-1] or layers
    silent = _silent(layers)
    same = next((r for r in hidden if r.units > 1 and r.distinct_units < r.units), None)
    if silent is not None:
        message = (
            f"No signal: Var(z) is exactly 0 at layer {silent.name}, so every input gives "
            "it the same value and nothing of the input reaches the layers after it (zero "
            "or constant weights); any variance further on comes from biases, not from the "
            "input."
        )
        layer = silent.name
        if same is not None:
            message = (
                f"Layer {same.name} has {same.distinct_units} distinct unit(s) out of "
                f"{same.units}: identical units get identical updates and stay copies. " + message
            )
            layer = same.name
        out.append(Flag("symmetry", layer, message))
    elif same is not None:
        out.append(
            Flag(
                "symmetry",
                same.name,
                f"Layer {same.name} has {same.distinct_units} distinct unit(s) out of "
                f"{same.units}: identical units get identical updates and stay copies.",
            )
        )
    else:
        tied = next((r for r in hidden if r.distinct_grad_rows < r.nonzero_grad_rows), None)
        if tied is not None:
            out.append(
                Flag(
                    "symmetry",
                    tied.name,
                    f"Layer {tied.name} has only {tied.distinct_grad_rows} distinct weight-"
                    f"gradient rows out of {tied.nonzero_grad_rows}.",
                )
            )
    return out


def flags(measurement: Measurement, *, names: Sequence[str] | None = None) -> list[Flag]:
    """Every problem the measurement shows, in the order forward, backward, units.

    Args:
        measurement: from :func:`~weightlab.diagnose.propagation.measure`.
        names: what to call each layer in the flags (their ``layer`` and messages), one
            per layer in forward order; default the layers' module names.  A page that
            numbers layers 1 … L passes ``["1", ..., "L"]``.

    Example:
        >>> import torch
        >>> from weightlab.diagnose import measure
        >>> from weightlab.init import init_module
        >>> from weightlab.models import mlp
        >>> net = mlp(4, [8, 8], 2, "tanh")
        >>> _ = init_module(net, "zeros")
        >>> m = measure(net, torch.randn(16, 4))
        >>> [(f.kind, f.layer) for f in flags(m, names=["1", "2", "3"])]
        [('vanishing_gradient', '1'), ('symmetry', '1')]
    """
    layers = measurement.layers
    if names is not None:
        layers = [dataclasses.replace(r, name=n) for r, n in zip(layers, names, strict=True)]
    return _forward_flags(layers) + _gradient_flags(layers) + _unit_flags(layers)


_RULES: dict[str, tuple[str, str]] = {
    "relu": (
        "he_normal",
        "ReLU zeroes half its input, so Var(W) = 2/fan_in keeps E[a²] "
        "constant from layer to layer (He et al. 2015).",
    ),
    "leaky_relu": (
        "he_normal",
        "a leaky ReLU of slope a keeps (1 + a²)/2 of E[z²], so "
        "Var(W) = 2/((1 + a²)·fan_in) keeps it constant (He et al. 2015).",
    ),
    "tanh": (
        "xavier_normal",
        "tanh is linear near 0, so Glorot's Var(W) = 2/(fan_in + fan_out) "
        "with gain 5/3 keeps activations and gradients near constant variance without "
        "saturating (Glorot & Bengio 2010).",
    ),
    "sigmoid": (
        "xavier_normal",
        "sigmoid is tanh rescaled, so Glorot's 2/(fan_in + fan_out) "
        "keeps activation and gradient variance near constant (Glorot & Bengio 2010).",
    ),
    "selu": (
        "lecun_normal",
        "SELU self-normalizes when Var(W) = 1/fan_in (Klambauer et al. 2017).",
    ),
    "gelu": (
        "he_normal",
        "GELU keeps about 1/2.35 of E[z²], so He's rule with GELU's gain "
        "(≈1.534) keeps E[a²] constant.",
    ),
    "silu": (
        "he_normal",
        "SiLU keeps about 1/2.81 of E[z²], so He's rule with SiLU's gain "
        "(≈1.677) keeps E[a²] constant.",
    ),
    "linear": (
        "lecun_normal",
        "without a nonlinearity, Var(W) = 1/fan_in keeps Var(z) constant (LeCun et al. 1998).",
    ),
}


def recommend(measurement: Measurement) -> Recommendation:
    """The scheme that fits the hidden layers' activations, and why, in one sentence."""
    hidden = [r.activation for r in measurement.layers[:-1]] or ["linear"]
    counts = Counter("linear" if a == "identity" else a for a in hidden)
    main, _ = counts.most_common(1)[0]
    scheme, reason = _RULES.get(main, _RULES["linear"])
    if main in ("gelu", "silu"):
        scheme = f"he_normal(nonlinearity={main!r})"
    per_layer = len(counts) > 1 or main in ("tanh", "leaky_relu")
    if len(counts) > 1:
        reason = (
            f"Layers use {', '.join(sorted(counts))}: initialize with {scheme} and "
            f"gain_from_activation=True so each layer gets its own gain; mostly, " + reason
        )
    return Recommendation(scheme, per_layer, reason[0].upper() + reason[1:])
