"""Apply an initialization scheme to every layer of any ``nn.Module``.

Layers are ``nn.Linear`` and every convolution (transposed ones included, whose weight
is stored ``[in, out/groups, *kernel]`` and is initialized through its transpose so the
fans are right).  Biases are set to a constant.  With ``gain_from_activation=True`` each
layer's gain comes from the activation that follows it, found by tracing the module with
``torch.fx`` (functional calls such as ``F.relu`` included) or, if tracing fails, from
the order of modules inside ``nn.Sequential`` containers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weightlab._spec import parse_spec
from weightlab._validate import (
    GENERATOR,
    OPTIONAL,
    REAL,
    Constraint,
    Instance,
    OneOf,
    Tensor,
    check,
    fail,
    is_real,
)
from weightlab.activations import ACTIVATION_MODULES
from weightlab.init.fans import ACTIVATIONS, calculate_gain
from weightlab.init.schemes import Scheme, resolve

__all__ = [
    "LAYER_TYPES",
    "LayerInit",
    "detect_activations",
    "init_module",
    "layers",
    "scheme_gain",
    "weight_groups",
    "weight_view",
]

LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.modules.conv._ConvNd)

Activation = tuple[str, float | None]

_ACT_MODULES: dict[type[nn.Module], str] = {cls: name for name, cls in ACTIVATION_MODULES.items()}
_ACT_FUNCTIONS: dict[Callable[..., Any], str] = {
    torch.relu: "relu",
    F.relu: "relu",
    torch.tanh: "tanh",
    F.tanh: "tanh",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    F.leaky_relu: "leaky_relu",
    torch.selu: "selu",
    F.selu: "selu",
    F.gelu: "gelu",
    F.silu: "silu",
}
_ACT_METHODS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}


@dataclass(frozen=True)
class LayerInit:
    """What :func:`init_module` did to one layer."""

    name: str
    shape: tuple[int, ...]
    scheme: str
    activation: str
    gain: float | None


def layers(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Yield ``(name, layer)`` for every Linear and convolution, in registration order."""
    for name, sub in module.named_modules():
        if isinstance(sub, LAYER_TYPES):
            yield name, sub


def weight_view(layer: nn.Module) -> torch.Tensor:
    """The layer's weight as ``[out, in, *kernel]`` (a transposed view for ConvTranspose)."""
    weight: torch.Tensor = layer.weight  # type: ignore[assignment]
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        return weight.transpose(0, 1)
    return weight


def weight_groups(layer: nn.Module) -> list[torch.Tensor]:
    """Views ``[out/g, in/g, *kernel]`` whose fans are the layer's true fans.

    A grouped ConvTranspose stores ``[in, out/g, *kernel]``: each group is transposed
    separately so that ``fan_in = (in/g)·Πk``.  Every other layer is one view (a grouped
    Conv already stores ``[out, in/g, *kernel]``).
    """
    if isinstance(layer, nn.modules.conv._ConvTransposeNd) and layer.groups > 1:
        weight: torch.Tensor = layer.weight
        return [chunk.transpose(0, 1) for chunk in weight.chunk(layer.groups, dim=0)]
    return [weight_view(layer)]


# ---------------------------------------------------------------------------
# Which activation follows each layer.


_PASSTHROUGH: tuple[type[nn.Module], ...] = (
    nn.modules.dropout._DropoutNd,
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
)


def _is_passthrough(mod: nn.Module) -> bool:
    """Dropout and normalization sit between a layer and its activation without
    changing which activation that is."""
    return isinstance(mod, _PASSTHROUGH) or type(mod).__name__ == "Dropout"


def _module_activation(mod: nn.Module) -> Activation | None:
    name = _ACT_MODULES.get(type(mod))
    if name is None:
        return None
    slope = float(mod.negative_slope) if isinstance(mod, nn.LeakyReLU) else None
    return name, slope


def _node_activation(node: torch.fx.Node, root: nn.Module) -> Activation | None:
    if node.op == "call_module":
        return _module_activation(root.get_submodule(str(node.target)))
    if node.op == "call_function" and node.target in _ACT_FUNCTIONS:
        name = _ACT_FUNCTIONS[node.target]
        if name != "leaky_relu":
            return name, None
        slope = node.kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
        return name, float(slope)  # type: ignore[arg-type]
    if node.op == "call_method" and node.target in _ACT_METHODS:
        return _ACT_METHODS[str(node.target)], None
    return None


def _follow(node: torch.fx.Node, root: nn.Module) -> torch.fx.Node | None:
    """The single consumer of ``node``, skipping dropout modules; None if it branches."""
    current = node
    while len(current.users) == 1:
        (nxt,) = current.users
        if nxt.op == "call_module" and _is_passthrough(root.get_submodule(str(nxt.target))):
            current = nxt
            continue
        return nxt
    return None


def _traced_activations(module: nn.Module) -> dict[str, Activation]:
    graph = torch.fx.symbolic_trace(module).graph
    found: dict[str, Activation] = {}
    for node in graph.nodes:
        if node.op != "call_module":
            continue
        if not isinstance(module.get_submodule(str(node.target)), LAYER_TYPES):
            continue
        nxt = _follow(node, module)
        act = _node_activation(nxt, module) if nxt is not None else None
        found[str(node.target)] = act or ("linear", None)
    return found


def _sequential_activations(module: nn.Module) -> dict[str, Activation]:
    found: dict[str, Activation] = {}
    for prefix, seq in module.named_modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq.named_children())
        for i, (child_name, child) in enumerate(children):
            if not isinstance(child, LAYER_TYPES):
                continue
            rest = [c for _, c in children[i + 1 :] if not _is_passthrough(c)]
            act = _module_activation(rest[0]) if rest else None
            found[f"{prefix}.{child_name}" if prefix else child_name] = act or ("linear", None)
    return found


def _plain_sequential(module: nn.Module) -> bool:
    """Whether ``module`` is an ``nn.Sequential`` made only of containers of the same kind
    and of modules from ``torch.nn`` or weightlab (whose forward passes hide no
    functional activations)."""
    return isinstance(module, nn.Sequential) and all(
        isinstance(m, nn.Sequential) or type(m).__module__.startswith(("torch.nn.", "weightlab."))
        for m in module.modules()
    )


def detect_activations(module: nn.Module) -> dict[str, Activation]:
    """Map each layer's name to ``(activation, parameter)`` for the activation that
    consumes its output; ``("linear", None)`` when none does (or it cannot be told).

    Nested ``nn.Sequential`` containers of torch's own modules are read from their
    order, without tracing: ``torch.fx.symbolic_trace`` patches ``nn.Module.__call__``
    for the whole process while it traces, which breaks forward passes running in other
    threads at that moment (a server measuring one model while training another)."""
    if _plain_sequential(module):
        found = _sequential_activations(module)
    else:
        try:
            found = _traced_activations(module)
        except Exception:
            found = _sequential_activations(module)
    return {name: found.get(name, ("linear", None)) for name, _ in layers(module)}


def _parse_activation(text: str) -> Activation:
    name, args, kwargs = parse_spec(text, "init_module", "activations")
    check("init_module", {"activations": name}, {"activations": OneOf(ACTIVATIONS)})
    values = [*args, *kwargs.values()]
    if not values:
        return name, None
    slope = values[0]
    if name != "leaky_relu" or len(values) > 1 or not is_real(slope) or not math.isfinite(slope):
        expected = "an activation name, or 'leaky_relu(slope)' with one finite slope"
        raise fail("init_module", "activations", expected, text)
    return name, float(slope)


# ---------------------------------------------------------------------------
# Applying a scheme.


def _layer_scheme(scheme: Scheme, act: Activation) -> tuple[Scheme, float | None]:
    name, param = act
    gain_param = scheme.entry.gain_param
    if gain_param == "gain":
        gain = calculate_gain(name, param)
        return scheme.with_params(gain=gain), gain
    if gain_param == "nonlinearity":
        slope = param if name == "leaky_relu" and param is not None else 0.0
        return scheme.with_params(nonlinearity=name, a=abs(slope)), calculate_gain(name, slope)
    return scheme, None


def scheme_gain(scheme: Scheme) -> float | None:
    """The gain a bound scheme applies (its ``gain``, or the gain of its
    ``nonlinearity``), None for a scheme without one."""
    kw = scheme.kwargs()
    if scheme.entry.gain_param == "gain":
        return float(kw["gain"])
    if scheme.entry.gain_param == "nonlinearity":
        return calculate_gain(
            kw["nonlinearity"], kw["a"] if kw["nonlinearity"] == "leaky_relu" else None
        )
    return None


_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "module": Instance((nn.Module,), "an nn.Module"),
    "activations": (Instance((Mapping,), "a mapping from layer names to activations"), OPTIONAL),
    "bias": (REAL, OPTIONAL),
    "gain_from_activation": Instance((bool,), "a bool"),
    "data": (Tensor(min_dim=1), OPTIONAL),
    "generator": GENERATOR,
}


def init_module(
    module: nn.Module,
    scheme: str | Scheme = "he_normal",
    *,
    bias: float | None = 0.0,
    gain_from_activation: bool = False,
    activations: Mapping[str, str] | None = None,
    data: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> list[LayerInit]:
    """Initialize every Linear and convolution weight of ``module`` with ``scheme``.

    A per-tensor scheme fills each layer's weight ``[out, in, *kernel]`` on its own (for a
    variance-scaling one, ``Var(W) = scale / n`` with the layer's fan ``n``).  A
    data-dependent scheme (``lsuv``, Mishkin & Matas 2016) takes the whole module and a
    batch ``data``, which it requires.  ``data`` is accepted for every scheme, so a caller
    can always pass a batch: per-tensor schemes ignore it, and data-dependent ones ignore
    ``gain_from_activation`` and ``activations`` (they set each layer's scale from the
    data).

    Args:
        module: any ``nn.Module``; modified in place.
        scheme: a spec string (``"he_normal"``, ``"normal(std=0.01)"``) or a Scheme.
        bias: constant for every layer bias (default 0); ``None`` leaves biases alone.
        gain_from_activation: set each layer's gain from the activation that follows it
            (``gain`` for Xavier/LeCun/orthogonal, ``nonlinearity`` for He).
        activations: override detection, e.g. ``{"net.0": "tanh", "net.2":
            "leaky_relu(0.2)"}``.
        data: a batch of inputs ``[batch, *input]`` the module accepts; required by
            data-dependent schemes (``lsuv``), ignored by the others.
        generator: source of randomness; layers are drawn in registration order.

    Returns:
        One :class:`LayerInit` per layer, saying what was applied.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        >>> [r.gain for r in init_module(net, "xavier_normal", gain_from_activation=True)]
        [1.6666666666666667, 1.0]
        >>> x = torch.randn(32, 4)
        >>> [r.scheme for r in init_module(net, "lsuv", data=x)]  # the same call for any scheme
        ['lsuv', 'lsuv']
    """
    check(
        "init_module",
        {
            "module": module,
            "bias": bias,
            "gain_from_activation": gain_from_activation,
            "activations": activations,
            "data": data,
            "generator": generator,
        },
        _TABLE,
    )
    resolved = resolve(scheme)
    if resolved.data_dependent:
        if bias not in (0.0, None):
            expected = (
                f"0 or None for {resolved.name!r}, which zeroes biases (Mishkin & Matas 2016)"
            )
            raise fail("init_module", "bias", expected, bias)
        return resolved.entry.fn(  # type: ignore[no-any-return]
            module, data, generator=generator, **resolved.kwargs()
        )
    if activations is not None and not gain_from_activation:
        expected = "given only with gain_from_activation=True (it sets per-layer gains)"
        raise fail("init_module", "activations", expected, dict(activations))
    acts = _activations_for(module, gain_from_activation, activations)
    records = []
    for name, layer in layers(module):
        act = acts.get(name, ("linear", None))
        layer_scheme, gain = (
            _layer_scheme(resolved, act)
            if gain_from_activation
            else (resolved, scheme_gain(resolved))
        )
        with torch.no_grad():
            for view in weight_groups(layer):
                layer_scheme(view, generator=generator)
            if bias is not None and getattr(layer, "bias", None) is not None:
                layer.bias.fill_(bias)  # type: ignore[operator]
        records.append(
            LayerInit(name, tuple(layer.weight.shape), str(layer_scheme), act[0], gain)  # type: ignore[arg-type]
        )
    return records


def _activations_for(
    module: nn.Module, detect: bool, overrides: Mapping[str, str] | None
) -> dict[str, Activation]:
    acts = detect_activations(module) if detect or overrides else {}
    if overrides:
        names = {n for n, _ in layers(module)}
        for key in overrides:
            if key not in names:
                known = ", ".join(sorted(names)) or "none"
                raise fail(
                    "init_module",
                    "activations",
                    f"the name of a layer of the module ({known})",
                    key,
                )
        acts.update({k: _parse_activation(v) for k, v in overrides.items()})
    return acts
