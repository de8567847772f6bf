"""Layer-sequential unit-variance (LSUV) initialization, a data-dependent scheme.

Mishkin & Matas 2016, "All you need is a good init": start from orthonormal weights and
zero biases, then, layer by layer in forward order, feed a batch through the network and
divide the layer's weight by ``√Var(output)`` until ``|Var(output) − 1| < tol`` or
``max_iter`` rescalings have been made.  The output is the layer's own output (before
its activation), as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from weightlab._validate import Instance, Interval, Tensor, error_summary, fail
from weightlab.init.apply import LayerInit, layers, weight_groups
from weightlab.init.schemes import REGISTRY, register

__all__ = ["lsuv_"]


@contextmanager
def _capture(layer: nn.Module, store: list[torch.Tensor]) -> Iterator[None]:
    handle = layer.register_forward_hook(lambda _m, _i, out: store.append(out.detach()))
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.train(training)


def _forward_order(module: nn.Module, data: torch.Tensor) -> list[tuple[str, nn.Module]]:
    seen: list[nn.Module] = []
    handles = [
        layer.register_forward_hook(lambda m, _i, _o: seen.append(m) if m not in seen else None)
        for _, layer in layers(module)
    ]
    try:
        module(data)
    except Exception as error:  # any failure here means the data does not fit the model
        expected = f"a batch the model accepts ({error_summary(error)})"
        raise fail("lsuv", "data", expected, data) from None
    finally:
        for h in handles:
            h.remove()
    names = {id(layer): name for name, layer in layers(module)}
    return [(names[id(m)], m) for m in seen]


def _output_variance(module: nn.Module, layer: nn.Module, data: torch.Tensor) -> float:
    store: list[torch.Tensor] = []
    with _capture(layer, store):
        module(data)
    return float(store[0].float().var())


@register(
    {
        "data": Tensor(min_dim=1),
        "tol": Interval(0.0, 1.0, "neither"),
        "max_iter": Interval(1, 1000, integer=True),
    },
    target=Instance((nn.Module,), "an nn.Module"),
    data_dependent=True,
)
def lsuv_(
    module: nn.Module,
    data: torch.Tensor,
    tol: float = 0.1,
    max_iter: int = 10,
    *,
    generator: torch.Generator | None = None,
) -> list[LayerInit]:
    """LSUV: orthonormal init, then rescale each layer to unit output variance on ``data``.

    For each layer in forward order: ``W ← W / √Var(z)`` until ``|Var(z) − 1| < tol``
    (Mishkin & Matas 2016, tol 0.1, a few iterations).  The module's train/eval mode is
    restored afterwards and no gradient is recorded.

    Args:
        module: the model, modified in place.
        data: a batch of inputs, e.g. ``[batch, features]``.
        tol: accepted distance of the output variance from 1, in (0, 1).
        max_iter: most rescalings per layer.
        generator: source of randomness for the orthonormal start.

    Returns:
        One :class:`LayerInit` per layer; ``gain`` is the total rescaling applied.
    """
    records = []
    with _eval_mode(module), torch.no_grad():
        for _, layer in layers(module):
            for view in weight_groups(layer):
                REGISTRY["orthogonal"].raw(view, generator=generator)
            if getattr(layer, "bias", None) is not None:
                layer.bias.zero_()  # type: ignore[operator]
        reached = _forward_order(module, data)
        for name, layer in reached:
            scale = 1.0
            for _ in range(max_iter):
                var = _output_variance(module, layer, data)
                if abs(var - 1.0) < tol or not math.isfinite(var) or var <= 1e-12:
                    break
                layer.weight.div_(math.sqrt(var))  # type: ignore[operator]
                scale /= math.sqrt(var)
            records.append(
                LayerInit(name, tuple(layer.weight.shape), "lsuv", "linear", scale)  # type: ignore[arg-type]
            )
    seen = {name for name, _ in reached}
    records += [  # layers the data never reaches keep their orthonormal start
        LayerInit(name, tuple(layer.weight.shape), "orthogonal", "linear", 1.0)  # type: ignore[arg-type]
        for name, layer in layers(module)
        if name not in seen
    ]
    return records
