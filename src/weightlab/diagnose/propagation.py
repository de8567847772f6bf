"""Measure signal propagation at initialization, layer by layer, beside the theory.

One forward and one backward pass on a batch.  For every Linear and convolution: the
pre-activation ``z`` and activation ``a = φ(z)`` (mean, variance, histogram), dead and
saturated units, the variance of the gradient of the layer's weight and of its output,
how many distinct units (and distinct weight-gradient rows) the layer really has, and
the predicted ``Var(z)`` from the derivation (see :mod:`weightlab.diagnose.theory`).

The backward pass uses ``L = Σ y·r`` with ``r ~ N(0, 1)``, so the gradient arriving at
the output has unit variance, as in Glorot & Bengio's analysis.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from weightlab._validate import GENERATOR, Constraint, Instance, Tensor, check, fail
from weightlab.activations import activate
from weightlab.diagnose.theory import chain_prediction, one_step_prediction
from weightlab.histogram import Histogram, histogram
from weightlab.init.apply import detect_activations, layers, weight_groups, weight_view
from weightlab.init.fans import fans

__all__ = ["Histogram", "LayerReport", "Measurement", "measure", "recording", "unit_noise"]

HIST_BINS = 40
_BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


@dataclass(frozen=True)
class LayerReport:
    """Everything measured for one layer (variances are population variances)."""

    name: str
    activation: str
    fan_in: int
    units: int
    weight_var: float
    input_sq: float
    pre_mean: float
    pre_var: float
    post_mean: float
    post_var: float
    pre_hist: Histogram
    post_hist: Histogram
    dead_fraction: float | None
    saturated_fraction: float | None
    weight_grad_var: float
    output_grad_var: float
    distinct_units: int
    distinct_grad_rows: int  # among the nonzero weight-gradient rows
    nonzero_grad_rows: int
    predicted_pre_var: float
    finite: bool


@dataclass
class Measurement:
    """A model's layers at initialization, with ratios and the chained prediction."""

    layers: list[LayerReport]
    input_sq: float
    chain: list[float] = field(default_factory=list)

    def ratios(self, key: str) -> list[float | None]:
        """``value_l / value_{l-1}`` for a numeric field; None for the first layer."""
        values = [float(getattr(r, key)) for r in self.layers]
        return [None] + [_ratio(b, a) for a, b in itertools.pairwise(values)]

    def end_to_end(self) -> dict[str, float]:
        """Measured and predicted ``Var(z^L) / E[x²]`` through the whole depth."""
        last = self.layers[-1]
        return {
            "measured": _ratio(last.pre_var, self.input_sq),
            "predicted": _ratio(self.chain[-1], self.input_sq) if self.chain else math.nan,
        }

    def to_json(self) -> dict[str, Any]:
        rows = []
        for i, r in enumerate(self.layers):
            row = _jsonable(r.__dict__)
            row["predicted_pre_var_chain"] = _clean(self.chain[i]) if self.chain else None
            for key in ("pre_var", "post_var", "weight_grad_var", "output_grad_var"):
                row[f"{key}_ratio"] = _clean(self.ratios(key)[i])
            rows.append(row)
        gain = {k: _clean(v) for k, v in self.end_to_end().items()}
        return {"input_sq": _clean(self.input_sq), "end_to_end_gain": gain, "layers": rows}


def _ratio(num: float, den: float) -> float:
    if den == 0 or not math.isfinite(den):
        return math.nan if num == 0 or not math.isfinite(num) else math.inf
    return num / den


def _clean(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return str(value)  # JSON has no inf/nan: "inf", "nan"


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Histogram):
            out[k] = {"low": _clean(v.low), "high": _clean(v.high), "counts": list(v.counts)}
        elif isinstance(v, float):
            out[k] = _clean(v)
        else:
            out[k] = v
    return out


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


def unit_noise(shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """A batch of ``N(0, 1)`` inputs of ``shape`` (batch first)."""
    return torch.randn(shape, generator=generator)


# ---------------------------------------------------------------------------
# Statistics of one tensor (internal: inputs trusted).


def _hist(t: torch.Tensor, bounds: tuple[float, float] | None) -> Histogram:
    return histogram(t, HIST_BINS, bounds=bounds)


class _Probe:
    """Two fixed random vectors, extended on demand from one generator, so that the
    same generator always gives the same probe whatever the layers' sizes."""

    def __init__(self, generator: torch.Generator | None) -> None:
        self.generator = generator
        self.values = torch.empty(0, 2)

    def take(self, n: int, like: torch.Tensor) -> torch.Tensor:
        if n > self.values.shape[0]:
            more = torch.randn(n - self.values.shape[0], 2, generator=self.generator)
            self.values = torch.cat([self.values, more])
        return self.values[:n].to(like.device, like.dtype)


def _projection(t: torch.Tensor, probe: _Probe) -> torch.Tensor:
    """``[2, units]`` for ``t`` with units on dimension 1: each unit's values dotted with
    two random vectors.  Identical units project identically; distinct ones almost
    surely do not, at the cost of one skinny matrix product instead of a sort."""
    if t.dim() == 2:
        return probe.take(t.shape[0], t).T @ t
    rows = t.transpose(0, 1).reshape(t.shape[1], -1)
    return (rows @ probe.take(rows.shape[1], rows)).T


@dataclass
class _Captured:
    fan_in: int
    input_sq: float = math.nan
    z: dict[str, Any] = field(default_factory=dict)
    output_grad_var: float = math.nan


def _count_distinct(h: torch.Tensor, *, skip_zero: bool) -> tuple[int, int]:
    """Distinct columns of the ``[2, units]`` projection: sorted by the first row, a
    column starts a new group when either entry differs from its neighbour's by more
    than 1e-5 relative (float32 products may differ in the last bits between identical
    columns).  With ``skip_zero``, all-zero columns (zero gradients) are not counted.
    Returns the number of distinct columns and of nonzero ones."""
    h = torch.nan_to_num(h.double(), nan=0.0, posinf=0.0, neginf=0.0)
    nonzero = (h != 0).any(dim=0)
    count = int(nonzero.sum())
    if skip_zero:
        h = h[:, nonzero]
    if h.shape[1] == 0:
        return 0, count
    s = h[:, torch.argsort(h[0])]
    gap = (s[:, 1:] - s[:, :-1]).abs()
    tol = 1e-5 * torch.maximum(s[:, 1:].abs(), s[:, :-1].abs())
    return 1 + int((gap > tol).any(dim=0).sum()), count


def _moments(t: torch.Tensor) -> tuple[float, float]:
    """Mean and population variance, two passes (exact 0 for a constant tensor)."""
    flat = t.detach().reshape(-1).float()
    lo, hi = torch.aminmax(flat)
    if bool(lo == hi):  # a constant tensor: exactly 0, not float round-off
        return float(lo), 0.0
    mean = flat.mean()
    centred = flat - mean
    return float(mean), float(torch.dot(centred, centred)) / max(flat.numel(), 1)


def _layer_stats(z: torch.Tensor, act: tuple[str, float | None], probe: _Probe) -> dict[str, Any]:
    name = act[0]
    a = activate(name, z, act[1])
    pre_mean, pre_var = _moments(z)
    finite = math.isfinite(pre_var)
    post_mean, post_var = _moments(a)
    other_dims = [d for d in range(z.dim()) if d != 1]
    dead = None
    if name in ("relu", "leaky_relu"):
        dead = float((torch.amax(z, dim=other_dims) <= 0).float().mean())
    saturated = None
    if name == "tanh":
        saturated = float((a.abs() > 0.99).float().mean())
    elif name == "sigmoid":
        saturated = float(((a < 0.01) | (a > 0.99)).float().mean())
    return {
        "pre_mean": pre_mean,
        "pre_var": pre_var,
        "post_mean": post_mean,
        "post_var": post_var,
        "pre_hist": _hist(z, None),
        "post_hist": _hist(a, _BOUNDED.get(name)),
        "dead_fraction": dead,
        "saturated_fraction": saturated,
        "units": z.shape[1],
        "finite": finite,
        "distinct_units": _count_distinct(_projection(z, probe), skip_zero=False)[0],
    }


# ---------------------------------------------------------------------------
# The measurement.

_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "model": Instance((nn.Module,), "an nn.Module"),
    "x": Tensor(min_dim=2),
    "train": Instance((bool,), "a bool"),
    "generator": GENERATOR,
}


@contextmanager
def _preserved(model: nn.Module, train: bool) -> Iterator[None]:
    """Set the mode for the measurement; restore every module's mode and every buffer
    (BatchNorm running statistics) afterwards."""
    modes = {m: m.training for m in model.modules()}
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    model.train(train)
    try:
        yield
    finally:
        for m, mode in modes.items():
            m.train(mode)
        with torch.no_grad():
            for k, v in model.named_buffers():
                v.copy_(buffers[k])


def measure(
    model: nn.Module,
    x: torch.Tensor,
    *,
    train: bool = False,
    generator: torch.Generator | None = None,
) -> Measurement:
    """Measure every Linear and convolution of ``model`` on the batch ``x``.

    Args:
        model: any ``nn.Module`` returning one tensor; not modified (parameters, buffers,
            ``.grad`` and train/eval mode are as before afterwards).
        x: a batch of inputs, batch first, on the model's device.
        train: measure in training mode (dropout on, BatchNorm batch statistics).
        generator: a CPU generator for the backward probe ``r`` and the symmetry
            projection.

    Returns:
        A :class:`Measurement`: one :class:`LayerReport` per layer in forward order,
        and the chained prediction ``Var(z^l)`` from the input.

    Example:
        >>> from weightlab.models import mlp
        >>> m = measure(mlp(16, [32, 32], 4, "relu"), torch.randn(64, 16))
        >>> [r.activation for r in m.layers]
        ['relu', 'relu', 'linear']
    """
    check("measure", {"model": model, "x": x, "train": train, "generator": generator}, _TABLE)
    named = list(layers(model))
    if not named:
        raise fail("measure", "model", "a module with at least one Linear or Conv layer", model)
    acts = detect_activations(model)
    probe = _Probe(generator)
    captured = {name: _Captured(fan_in=fans(weight_groups(layer)[0])[0]) for name, layer in named}
    order: list[str] = []

    def hook_for(name: str) -> Any:
        def hook(_m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            c = captured[name]
            if c.z:
                return  # a layer called twice is measured on its first call
            with torch.no_grad():
                c.input_sq = float(inputs[0].detach().float().pow(2).mean())
                c.z = _layer_stats(out.detach(), acts[name], probe)
            order.append(name)
            if out.requires_grad:
                out.register_hook(  # type: ignore[no-untyped-call]
                    lambda g: setattr(c, "output_grad_var", _moments(g)[1])
                )

        return hook

    handles = [layer.register_forward_hook(hook_for(name)) for name, layer in named]
    try:
        with _preserved(model, train):
            grads = _forward_backward(model, x, [layer for _, layer in named], probe)
    finally:
        for h in handles:
            h.remove()
    grad_of = {name: g for (name, _), g in zip(named, grads, strict=True)}
    layer_of = dict(named)
    reports = [
        _report(name, layer_of[name], captured[name], grad_of[name], acts[name][0], probe)
        for name in order
    ]
    input_sq = float(x.detach().float().pow(2).mean())
    chain = chain_prediction(
        input_sq,
        [r.fan_in for r in reports],
        [r.weight_var for r in reports],
        [_bias_var(layer_of[r.name]) for r in reports],
        [acts[r.name] for r in reports],
    )
    return Measurement(reports, input_sq, chain)


def _forward_backward(
    model: nn.Module, x: torch.Tensor, modules: list[nn.Module], probe: _Probe
) -> list[torch.Tensor | None]:
    y = model(x)
    if not isinstance(y, torch.Tensor):
        raise fail("measure", "model", "a module returning one tensor", type(y).__name__)
    r = torch.randn(y.shape, generator=probe.generator).to(y.device, y.dtype)
    weights: list[torch.Tensor] = [m.weight for m in modules]  # type: ignore[misc]
    return list(torch.autograd.grad((y * r).sum(), weights, allow_unused=True))


def _report(
    name: str,
    layer: nn.Module,
    c: _Captured,
    grad: torch.Tensor | None,
    activation: str,
    probe: _Probe,
) -> LayerReport:
    weight_var = _moments(weight_view(layer).detach())[1]
    if grad is not None and isinstance(layer, nn.modules.conv._ConvTransposeNd):
        grad = grad.transpose(0, 1)
    distinct_grad, nonzero_grad = 0, 0
    if grad is not None:
        # A zero row projects to exactly 0; a nonzero one almost surely does not.
        grad_rows = grad.reshape(grad.shape[0], -1).T
        distinct_grad, nonzero_grad = _count_distinct(_projection(grad_rows, probe), skip_zero=True)
    return LayerReport(
        name=name,
        activation=activation,
        fan_in=c.fan_in,
        weight_var=weight_var,
        input_sq=c.input_sq,
        weight_grad_var=_moments(grad)[1] if grad is not None else 0.0,
        output_grad_var=c.output_grad_var,
        distinct_grad_rows=distinct_grad,
        nonzero_grad_rows=nonzero_grad,
        predicted_pre_var=one_step_prediction(c.fan_in, weight_var, c.input_sq, _bias_var(layer)),
        **c.z,
    )


def _bias_var(layer: nn.Module) -> float:
    bias = getattr(layer, "bias", None)
    return _moments(bias.detach())[1] if bias is not None and bias.numel() > 1 else 0.0
