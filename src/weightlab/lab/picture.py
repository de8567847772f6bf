"""The network picture: every input and hidden unit as a small heatmap of its output over
the input plane, the weights between them, and each unit's state on a batch of data.

As in TensorFlow Playground, a unit's heatmap is its activation at each point of a grid
over the 2-D input window (for other datasets there is no plane and no heatmap); edges
carry the weights.  Beyond the Playground, each unit is marked when it is *dead* (a
ReLU-like unit whose pre-activation is ≤ 0 for every input of the batch, so its gradient
is 0), *saturated* (a tanh or sigmoid unit within 0.01 of its bounds for most inputs) or
*constant* (the same output for every input: no signal, as after a zero init), and
carries the histogram of its activation over the batch.

Large networks are drawn in part: the first :data:`SHOWN_UNITS` units of each layer
(the counts say how many there are).  Heatmaps travel as base64 bytes: value ``v`` of a
layer with scale ``s`` is ``round(255 · (v/s + 1)/2)``.
"""

from __future__ import annotations

import base64
from typing import Any, cast

import torch
from torch import nn

from weightlab.lab.data import FEATURE_LABELS, Plane
from weightlab.lab.explore import Pass, blocks, saturated

__all__ = ["SHOWN_UNITS", "UNIT_BINS", "encode", "network_picture", "unit_histograms"]

SHOWN_UNITS = 16
UNIT_BINS = 20
DEAD_LIKE = ("relu", "leaky_relu")


def encode(values: torch.Tensor, scale: float) -> str:
    """Values in ``[-scale, scale]`` as base64 bytes (0 ↦ 127.5, ±scale ↦ 255 or 0)."""
    unit = ((values / scale).clamp(-1.0, 1.0) + 1.0) * 127.5
    data = unit.round().to(torch.uint8).numpy().tobytes()
    return base64.b64encode(data).decode("ascii")


def _scale(values: torch.Tensor) -> float:
    top = float(values.abs().max()) if values.numel() else 0.0
    return top if top > 0 and top == top and top != float("inf") else 1.0


def _round(values: torch.Tensor) -> list[Any]:
    return [[float(f"{v:.3g}") for v in row] for row in values.tolist()]


def unit_histograms(a: torch.Tensor, low: float, high: float, bins: int) -> list[list[int]]:
    """The histogram of each column of ``a`` ``[N, units]`` on the same ``bins`` bins."""
    index = ((a.double() - low) / (high - low) * bins).long().clamp_(0, bins - 1)
    counts = torch.zeros(a.shape[1], bins, dtype=torch.long)
    counts.scatter_add_(1, index.T.contiguous(), torch.ones_like(index.T, dtype=torch.long))
    out: list[list[int]] = counts.tolist()
    return out


def network_picture(
    model: nn.Module,
    plane: Plane | None,
    batch: torch.Tensor,
    activation: str,
    *,
    grid: Pass | None = None,
    task: str = "classification",
    on_batch: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    shown: int = SHOWN_UNITS,
) -> dict[str, Any]:
    """Everything the page needs to draw the network: inputs, hidden layers (heatmaps,
    marks, unit histograms), weights and biases of the units shown.

    ``grid``: the inputs on a ``g × g`` grid of the plane, their :func:`blocks` and
    ``g`` (the trainer has them from the decision boundary); every other point of it
    makes the heatmaps.  ``on_batch``: the layers' ``(z, a)`` on ``batch`` when already
    computed.  A two-class network is drawn with one output unit, ``P(class
    1)``, whose weights are the differences of the two output rows."""
    linears = [m for m in cast(nn.Sequential, model) if isinstance(m, nn.Linear)]
    two_class = task == "classification" and linears[-1].out_features == 2
    n_in = linears[0].in_features
    k_in = min(n_in, shown)
    on_batch = on_batch or blocks(model, batch)
    heats: list[tuple[torch.Tensor, torch.Tensor]] = []
    inputs: list[dict[str, Any]] = []
    size = None
    if plane is not None and grid is not None:
        points, passed, g = grid
        keep = torch.arange(0, g, 2)
        rows = (keep[:, None] * g + keep[None, :]).reshape(-1)
        size = len(keep)
        x = points[rows]
        heats = [(z[rows], a[rows]) for z, a in passed]
        scale = _scale(x)
        inputs = [
            {"name": f, "label": FEATURE_LABELS[f], "heat": encode(x[:, i], scale)}
            for i, f in enumerate(plane.features)
        ]
    else:
        inputs = [
            {"name": f"in{i + 1}", "label": f"input {i + 1}", "heat": None} for i in range(k_in)
        ]
    hidden = []
    for index, (z, a) in enumerate(on_batch[:-1]):
        units = a.shape[1]
        k = min(units, shown)
        heat = heats[index][1][:, :k] if heats else None
        bounded = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(activation)
        low, high = bounded if bounded else (float(a.min()), float(a.max()))
        if not high > low:
            low, high = low - 0.5, high + 0.5
        scale = 1.0 if bounded else (_scale(heat) if heat is not None else 1.0)
        sat = saturated(a[:, :k], activation).float().mean(dim=0)
        dead = (
            (z[:, :k] <= 0).all(dim=0)
            if activation in DEAD_LIKE
            else torch.zeros(k, dtype=torch.bool)
        )
        constant = (a[:, :k].amax(dim=0) - a[:, :k].amin(dim=0)) == 0
        hidden.append(
            {
                "units": units,
                "shown": k,
                "scale": scale,
                "heat": [encode(heat[:, u], scale) for u in range(k)] if heat is not None else None,
                "dead": dead.tolist(),
                "saturated": (sat > 0.5).tolist(),
                "constant": constant.tolist(),
                "dead_fraction": float((z <= 0).all(dim=0).float().mean())
                if activation in DEAD_LIKE
                else 0.0,
                "saturated_fraction": float(
                    (saturated(a, activation).float().mean(dim=0) > 0.5).float().mean()
                ),
                "hist": {
                    "low": low,
                    "high": high,
                    "counts": unit_histograms(a[:, :k], low, high, UNIT_BINS),
                },
            }
        )
    weights, biases = [], []
    previous = k_in
    for index, linear in enumerate(linears):
        w = linear.weight.detach()
        bias = linear.bias.detach() if linear.bias is not None else torch.zeros(len(w))
        if index == len(linears) - 1 and two_class:
            # P(class 1) = σ((w₁ − w₀)·a + b₁ − b₀): one output unit, as the Playground.
            w, bias = (w[1] - w[0])[None, :], (bias[1] - bias[0])[None]
        k_out = min(len(w), shown)
        weights.append(_round(w[:k_out, :previous]))
        biases.append([float(f"{v:.3g}") for v in bias[:k_out].tolist()])
        previous = k_out
    largest = max((float(m.weight.detach().abs().max()) for m in linears), default=1.0)
    return {
        "grid": size,
        "inputs": inputs,
        "n_inputs": n_in,
        "hidden": hidden,
        "outputs": 1 if two_class else linears[-1].out_features,
        "output": "P(class 1)" if two_class else "output",
        "weights": weights,
        "biases": biases,
        "largest_weight": largest if largest == largest else None,
    }
