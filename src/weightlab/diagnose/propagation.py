"""Signal propagation at initialization: per-layer activation and gradient statistics.

Glorot & Bengio (2010) and He et al. (2015) derive ``Var(z^l) = n^{l-1}·Var(W^l)·E[(a^{l-1})²]``:
with the right ``Var(W)`` the forward signal and the backward gradient keep their scale
through depth; too small a variance makes both vanish, too large makes them explode, and
a constant init leaves every unit of a layer identical (symmetry).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from weightlab._validate import Instance, Tensor, check
from weightlab.init.apply import layers

__all__ = ["LayerSignal", "forward_backward_stats", "recording"]


@dataclass(frozen=True)
class LayerSignal:
    """Statistics of one layer at initialization."""

    name: str
    activation_std: float
    weight_grad_std: float
    distinct_units: int
    units: int


@contextmanager
def recording(modules: dict[str, nn.Module]) -> Iterator[dict[str, torch.Tensor]]:
    """Record each module's forward output under its name while inside the block.

    The hooks remove themselves on exit, also when the block raises.
    """
    outputs: dict[str, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(
            lambda _m, _i, out, key=name: outputs.__setitem__(key, out.detach())
        )
        for name, module in modules.items()
    ]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def _following_activation(model: nn.Module) -> dict[str, nn.Module]:
    """For each layer, the module whose output is the layer's activation: the next
    sibling in a Sequential if it has no parameters, else the layer itself."""
    found: dict[str, nn.Module] = {}
    for prefix, seq in model.named_modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq.named_children())
        for i, (name, child) in enumerate(children):
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(child, (nn.Linear, nn.modules.conv._ConvNd)):
                nxt = children[i + 1][1] if i + 1 < len(children) else child
                found[full] = nxt if not list(nxt.parameters()) else child
    for name, layer in layers(model):
        found.setdefault(name, layer)
    return found


def _distinct_units(out: torch.Tensor) -> int:
    """Units whose outputs differ by more than 1e-6 of the layer's largest output."""
    per_unit = out.transpose(0, 1).reshape(out.shape[1], -1).double()
    scale = per_unit.abs().max()
    if scale == 0:
        return 1
    return int(torch.unique((per_unit / scale).round(decimals=6), dim=0).shape[0])


def forward_backward_stats(model: nn.Module, x: torch.Tensor) -> list[LayerSignal]:
    """One forward and backward pass on ``x``; per-layer activation std, weight-gradient
    std, and how many distinct units each layer really has.

    The backward pass uses ``sum(output²)/2`` as the loss, a stand-in with unit
    sensitivity.  Parameters and train/eval mode are left as they were; gradients are
    cleared afterwards.

    Example:
        >>> from weightlab.models import mlp
        >>> stats = forward_backward_stats(mlp(8, [16, 16], 2, "tanh"), torch.randn(32, 8))
        >>> len(stats)
        3
    """
    check(
        "forward_backward_stats",
        {"model": model, "x": x},
        {"model": Instance((nn.Module,), "an nn.Module"), "x": Tensor(min_dim=2)},
    )
    targets = _following_activation(model)
    saved = [p.grad for p in model.parameters()]
    try:
        with recording(targets) as outs:
            y = model(x)
            (0.5 * y.pow(2).sum()).backward()
        return [
            LayerSignal(
                name=name,
                activation_std=float(outs[name].float().std()),
                weight_grad_std=float(layer.weight.grad.float().std()),  # type: ignore[union-attr,operator]
                distinct_units=_distinct_units(outs[name]),
                units=outs[name].shape[1],
            )
            for name, layer in layers(model)
        ]
    finally:
        for p, g in zip(model.parameters(), saved, strict=True):
            p.grad = g
