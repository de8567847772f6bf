"""What the trained sections show, computed with the library: networks, the per-layer
measurement with its flags, weight, gradient and activation histograms, decision
boundaries (or fitted surfaces) and Monte-Carlo dropout maps over the input plane.

Everything returns plain JSON-ready values (lists, floats, ints); non-finite floats are
left as they are and replaced at the JSON boundary.

Two gradient variances appear and are kept apart by name:

- ``train_grad_var``: the variance of each layer's weight gradient ``∂L/∂W`` of the
  training loss on the measured batch (what the gradient histograms show);
- ``probe_grad_var``: the variance of the weight gradient when a random unit-variance
  gradient arrives at the output (:func:`weightlab.diagnose.measure`'s probe, Glorot &
  Bengio's analysis), the one the theory and the flags are about.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

from weightlab.data import Dataset
from weightlab.diagnose import flags, measure, recommend
from weightlab.histogram import histogram
from weightlab.init import init_module, layers, resolve
from weightlab.lab.data import Plane
from weightlab.lab.schemas import Setup
from weightlab.models import build_model
from weightlab.regularize import Dropout, mc_predict
from weightlab.train.trainer import loss as task_loss

__all__ = [
    "BINS",
    "BOUNDARY_GRID",
    "MC_SAMPLES",
    "MEASURE_BATCH",
    "Pass",
    "activation_histograms",
    "blocks",
    "boundary",
    "build_network",
    "copy_weights",
    "gradient_histograms",
    "grid_size",
    "mc_dropout_map",
    "measurement",
    "network",
    "plane_pass",
    "saturated",
    "theory_note",
    "weight_histogram",
]

BINS = 40
MEASURE_BATCH = 128
INIT_BATCH = 256  # inputs LSUV rescales on (Mishkin & Matas use one minibatch)
BOUNDARY_GRID = 28
GRID_BUDGET = 1.2e8  # multiply-adds one pass over the plane's grid may cost
MIN_GRID = 14
MC_SAMPLES = 30
_SKIP = (Dropout, nn.Dropout, nn.Flatten)
Pass = tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]], int]
"""A network's inputs on a grid of the plane, every layer's ``(z, a)`` there, the grid
size (:func:`plane_pass`)."""


def network(
    setup: Setup, data: Dataset, *, dropout: float = 0.0, dropout_mode: str = "inverted"
) -> nn.Module:
    """The setup's MLP sized for ``data``, with torch's default weights."""
    spec = {"arch": "mlp", "hidden": setup.hidden(), "activation": setup.activation}
    return build_model(
        spec, data.input_shape, data.n_outputs, dropout=dropout, dropout_mode=dropout_mode
    )


def build_network(
    setup: Setup,
    data: Dataset,
    scheme: str,
    *,
    gain_from_activation: bool = False,
    generator: torch.Generator,
) -> nn.Module:
    """The setup's MLP, initialized by ``scheme`` (LSUV on a batch of training inputs)."""
    model = network(setup, data)
    init_module(
        model,
        resolve(scheme),
        generator=generator,
        data=data.x_train[:INIT_BATCH],
        gain_from_activation=gain_from_activation,
    )
    return model


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Give ``target`` the weights and biases of ``source``, layer by layer in order
    (the two may differ in dropout modules, so names need not match)."""
    with torch.no_grad():
        for (_, a), (_, b) in zip(layers(source), layers(target), strict=True):
            for name in ("weight", "bias"):
                x, y = getattr(a, name, None), getattr(b, name, None)
                if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
                    y.copy_(x)


def _layers_of(model: nn.Module, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out: list[tuple[torch.Tensor, torch.Tensor]] = []
    h = x
    for module in cast(nn.Sequential, model):
        h = module(h)
        if isinstance(module, _SKIP):
            continue
        if isinstance(module, nn.Linear):
            out.append((h, h))
        else:
            out[-1] = (out[-1][0], h)
    return out


def blocks(model: nn.Module, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(z, a)`` of every layer of an MLP in eval mode on ``x``: the Linear's output and
    what follows its activation (the output layer's ``a`` is its ``z``)."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return _layers_of(model, x)
    finally:
        model.train(was_training)


def gradient_histograms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str
) -> tuple[list[dict[str, Any]], list[float], list[tuple[torch.Tensor, torch.Tensor]]]:
    """Histogram and variance of each layer's weight gradient ``∂L/∂W`` of the training
    loss on ``(x, y)``, and the layers' ``(z, a)`` of that pass (as :func:`blocks`)."""
    named = list(layers(model))
    weights = [cast(torch.Tensor, layer.weight) for _, layer in named]
    was_training = model.training
    model.eval()
    try:
        passed = _layers_of(model, x)
        out = passed[-1][1]
        grads = torch.autograd.grad(task_loss(out, y, task), weights, allow_unused=True)
    finally:
        model.train(was_training)
    flat = [g if g is not None else torch.zeros(1) for g in grads]
    hists = [histogram(g, BINS, symmetric=True).to_json() for g in flat]
    variances = [float(g.double().var(unbiased=False)) for g in flat]
    return hists, variances, [(z.detach(), a.detach()) for z, a in passed]


def theory_note(layer_rows: Sequence[dict[str, Any]]) -> str | None:
    """Why the theory's ``Var(z)`` can be far from the measured one: it assumes
    zero-mean independent weights, which zero and constant weights are not."""
    constant = [
        r for r in layer_rows if r["weight_var"] == 0 and r["weight_mean"] != 0 and r["index"]
    ]
    if constant:
        first = constant[0]
        return (
            f"The theory's Var(z) assumes zero-mean, independent weights. Here every weight "
            f"of layer {first['index']} equals {first['weight_mean']:.3g} (Var(W) = 0), so "
            "it predicts Var(z) = 0, yet z = c·Σx still varies with the input; all units "
            "of the layer compute the same thing (symmetry)."
        )
    if all(r["weight_var"] == 0 for r in layer_rows):
        return (
            "Every weight is 0: Var(z) is 0 in theory and in the measurement, and the "
            "variance plot's log axis cannot show a 0 (no signal passes)."
        )
    return None


def measurement(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    task: str,
    passed: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> dict[str, Any]:
    """Per-layer activation and gradient statistics and histograms, the variance the
    theory predicts at each depth, and the flags (layers numbered 1 … L, as the plots
    number them) and recommendation of :mod:`weightlab.diagnose`.  ``passed``, when
    given, is filled with the layers' ``(z, a)`` on ``x`` (the network picture uses
    them)."""
    m = measure(model, x, generator=torch.Generator().manual_seed(seed))
    grads, grad_vars, on_batch = gradient_histograms(model, x, y, task)
    if passed is not None:
        passed[:] = on_batch
    weights = [cast(torch.Tensor, layer.weight).detach() for _, layer in layers(model)]
    rows = []
    for i, (r, grad, grad_var, w) in enumerate(
        zip(m.layers, grads, grad_vars, weights, strict=True)
    ):
        rows.append(
            {
                "index": i + 1,
                "name": r.name,
                "activation": r.activation,
                "units": r.units,
                "fan_in": r.fan_in,
                "weight_var": r.weight_var,
                "weight_mean": float(w.mean()),
                "pre_var": r.pre_var,
                "post_var": r.post_var,
                "predicted_pre_var": m.chain[i] if m.chain else math.nan,
                "probe_grad_var": r.weight_grad_var,
                "train_grad_var": grad_var,
                "dead_fraction": r.dead_fraction,
                "saturated_fraction": r.saturated_fraction,
                "distinct_units": r.distinct_units,
                "pre_hist": r.pre_hist.to_json(),
                "post_hist": r.post_hist.to_json(),
                "grad_hist": grad,
            }
        )
    rec = recommend(m)
    names = [str(i + 1) for i in range(len(m.layers))]
    return {
        "input_sq": m.input_sq,
        "layers": rows,
        "flags": [
            {"kind": f.kind, "layer": int(f.layer), "message": f.message}
            for f in flags(m, names=names)
        ],
        "recommendation": {
            "scheme": rec.scheme,
            "gain_from_activation": rec.gain_from_activation,
            "reason": rec.reason,
        },
        "theory_note": theory_note(rows),
    }


def saturated(a: torch.Tensor, activation: str) -> torch.Tensor:
    """Where a tanh or sigmoid output is within 0.01 of its bounds (gradient near 0);
    all False for other activations."""
    if activation == "tanh":
        return a.abs() > 0.99
    if activation == "sigmoid":
        return (a < 0.01) | (a > 0.99)
    return torch.zeros_like(a, dtype=torch.bool)


def activation_histograms(
    model: nn.Module, x: torch.Tensor, activation: str
) -> list[dict[str, Any]]:
    """Histogram of each hidden layer's activation ``a = φ(z)`` on ``x`` (forward only),
    its variance and the fraction of saturated values."""
    bounds = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(activation)
    out = []
    for _, a in blocks(model, x)[:-1]:
        out.append(
            {
                "hist": histogram(a, BINS, bounds=bounds).to_json(),
                "var": float(a.double().var(unbiased=False)),
                "saturated": float(saturated(a, activation).float().mean()),
            }
        )
    return out


def weight_histogram(
    weights: Sequence[torch.Tensor], bins: int = 60, bounds: tuple[float, float] | None = None
) -> dict[str, Any]:
    """One histogram over every regularized weight, exact zeros counted apart; ``bounds``
    puts twins on the same bins."""
    flat = torch.cat([w.detach().reshape(-1) for w in weights]) if weights else torch.zeros(1)
    return histogram(flat, bins, symmetric=bounds is None, bounds=bounds).to_json()


def weight_bounds(groups: Sequence[Sequence[torch.Tensor]]) -> tuple[float, float]:
    """A symmetric range holding every weight of every group: shared histogram axes."""
    top = max(
        (float(w.detach().abs().max()) for ws in groups for w in ws if w.numel()), default=1.0
    )
    top = top if math.isfinite(top) and top > 0 else 1.0
    return -top, top


def _rounded(z: torch.Tensor, digits: int = 3) -> list[list[float]]:
    return [[round(v, digits) for v in row] for row in z.tolist()]


@torch.no_grad()
def _predict(model: nn.Module, inputs: torch.Tensor, task: str) -> torch.Tensor:
    """``P(class 1)`` of a two-class model, or a regression model's output."""
    was_training = model.training
    model.eval()
    try:
        out = model(inputs)
    finally:
        model.train(was_training)
    return _prediction(out, task)


def _prediction(out: torch.Tensor, task: str) -> torch.Tensor:
    return torch.softmax(out, dim=1)[:, 1] if task == "classification" else out[:, 0]


def grid_size(model: nn.Module) -> int:
    """Points per axis of the plane's grid: :data:`BOUNDARY_GRID`, fewer (down to
    :data:`MIN_GRID`) for a network so large that the pass would hold up the frame."""
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    fits = int(math.sqrt(GRID_BUDGET / max(weights, 1)))
    return max(MIN_GRID, min(BOUNDARY_GRID, fits))


def plane_pass(model: nn.Module, plane: Plane, grid: int | None = None) -> Pass:
    """The network's inputs on a ``grid × grid`` grid of the plane (by default sized by
    :func:`grid_size`) and every layer's ``(z, a)`` there: one pass serves the boundary
    and the network picture."""
    grid = grid_size(model) if grid is None else grid
    _, _, points = plane.grid(grid)
    inputs = plane.inputs(points)
    return inputs, blocks(model, inputs), grid


def boundary(passes: Sequence[Pass], plane: Plane | None, task: str) -> dict[str, Any] | None:
    """Each model's ``P(class 1)`` (two classes) or prediction (regression) on one grid
    over the plane (from :func:`plane_pass`), so that twins share their axes; None
    beyond two dimensions."""
    if plane is None or not passes:
        return None
    grid = passes[0][2]
    a, b, _ = plane.grid(grid)
    return {
        "x1": [round(v, 4) for v in a.tolist()],
        "x2": [round(v, 4) for v in b.tolist()],
        "kind": "probability" if task == "classification" else "value",
        "z": [_rounded(_prediction(p[1][-1][1], task).reshape(grid, grid)) for p in passes],
    }


def mc_dropout_map(
    model: nn.Module, plane: Plane, task: str, seed: int, grid: int = BOUNDARY_GRID
) -> dict[str, Any]:
    """Monte-Carlo dropout over the plane: the mean and the spread (standard deviation)
    of ``MC_SAMPLES`` predictions with dropout on (:func:`weightlab.regularize.mc_predict`;
    probabilities for a classifier), beside the weight-scaling prediction (dropout off,
    the network as trained).  The masks come from their own generator, so drawing the
    map does not change the training's masks."""
    _, _, points = plane.grid(grid)
    inputs = plane.inputs(points)
    head: nn.Module = nn.Sequential(model, nn.Softmax(dim=1)) if task == "classification" else model
    dropouts = [m for m in model.modules() if isinstance(m, Dropout)]
    saved = [m.generator for m in dropouts]
    generator = torch.Generator().manual_seed(seed)
    for m in dropouts:
        m.generator = generator
    try:
        mean, std = mc_predict(head, inputs, MC_SAMPLES)
    finally:
        for m, g in zip(dropouts, saved, strict=True):
            m.generator = g
    column = 1 if task == "classification" else 0
    scaled = _predict(model, inputs, task)
    mean_c, std_c = mean[:, column], std[:, column]
    return {
        "samples": MC_SAMPLES,
        "mean": _rounded(mean_c.reshape(grid, grid)),
        "std": _rounded(std_c.reshape(grid, grid)),
        "largest_std": float(std_c.max()),
        "difference": float((mean_c - scaled).abs().mean()),
    }
