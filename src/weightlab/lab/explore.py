"""What the explorers show, computed with the library: datasets, networks, the per-layer
measurement with its flags, weight and gradient histograms, and decision boundaries.

Everything returns plain JSON-ready values (lists, floats, ints); non-finite floats are
left as they are and replaced at the JSON boundary.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from weightlab.data import Dataset, load_dataset
from weightlab.diagnose import flags, measure, recommend
from weightlab.histogram import histogram
from weightlab.init import init_module, layers, resolve
from weightlab.lab.schemas import TOY_SETS, Setup
from weightlab.models import build_model

__all__ = [
    "BINS",
    "MEASURE_BATCH",
    "boundary",
    "build_network",
    "copy_weights",
    "dataset",
    "gradient_histograms",
    "loss",
    "measurement",
    "network",
    "points",
    "warm_up",
    "weight_histogram",
]

BINS = 40
MEASURE_BATCH = 128
INIT_BATCH = 512
BOUNDARY_GRID = 28


@functools.lru_cache(maxsize=16)
def _load(name: str, n_samples: int | None, noise: float, seed: int) -> Dataset:
    params: dict[str, Any] = {}
    if name in TOY_SETS:
        params = {"n_samples": n_samples or 400, "noise": noise}
    elif name == "mnist1d" and n_samples is not None:
        params = {"n_train": n_samples}
    return load_dataset(name, seed=seed, **params)


def dataset(setup: Setup) -> Dataset:
    """The setup's dataset; the last few are kept, so changing only the network or the
    init does not load the data again."""
    noise = setup.noise if setup.dataset in TOY_SETS else 0.0
    return _load(setup.dataset, setup.n_samples, noise, setup.seed)


def network(
    setup: Setup, data: Dataset, *, dropout: float = 0.0, dropout_mode: str = "inverted"
) -> nn.Module:
    """The setup's MLP sized for ``data``, with torch's default weights."""
    spec = {"arch": "mlp", "hidden": [setup.width] * setup.depth, "activation": setup.activation}
    return build_model(
        spec, data.input_shape, data.n_outputs, dropout=dropout, dropout_mode=dropout_mode
    )


def build_network(setup: Setup, data: Dataset, *, generator: torch.Generator) -> nn.Module:
    """The setup's MLP, initialized by its scheme (LSUV on a batch of training inputs)."""
    model = network(setup, data)
    init_module(
        model,
        resolve(setup.init),
        generator=generator,
        data=data.x_train[:INIT_BATCH],
        gain_from_activation=setup.gain_from_activation,
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


def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy: every lab dataset is a classification task."""
    return F.cross_entropy(out, y)


def gradient_histograms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[dict[str, Any]]:
    """Histogram of each layer's weight gradient of the training loss on ``(x, y)``."""
    named = list(layers(model))
    weights = [cast(torch.Tensor, layer.weight) for _, layer in named]
    was_training = model.training
    model.eval()
    try:
        grads = torch.autograd.grad(loss(model(x), y), weights, allow_unused=True)
    finally:
        model.train(was_training)
    return [
        histogram(g if g is not None else torch.zeros(1), BINS, symmetric=True).to_json()
        for g in grads
    ]


def measurement(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> dict[str, Any]:
    """Per-layer activation and gradient statistics and histograms, the variance the
    theory predicts at each depth, and the flags and recommendation of
    :mod:`weightlab.diagnose`."""
    m = measure(model, x, generator=torch.Generator().manual_seed(seed))
    grads = gradient_histograms(model, x, y)
    rows = []
    for i, (r, grad) in enumerate(zip(m.layers, grads, strict=True)):
        rows.append(
            {
                "name": r.name,
                "activation": r.activation,
                "units": r.units,
                "fan_in": r.fan_in,
                "weight_var": r.weight_var,
                "pre_var": r.pre_var,
                "post_var": r.post_var,
                "predicted_pre_var": m.chain[i] if m.chain else math.nan,
                "weight_grad_var": r.weight_grad_var,
                "dead_fraction": r.dead_fraction,
                "saturated_fraction": r.saturated_fraction,
                "distinct_units": r.distinct_units,
                "pre_hist": r.pre_hist.to_json(),
                "post_hist": r.post_hist.to_json(),
                "grad_hist": grad,
            }
        )
    rec = recommend(m)
    return {
        "input_sq": m.input_sq,
        "layers": rows,
        "flags": [{"kind": f.kind, "layer": f.layer, "message": f.message} for f in flags(m)],
        "recommendation": {
            "scheme": rec.scheme,
            "gain_from_activation": rec.gain_from_activation,
            "reason": rec.reason,
        },
    }


def weight_histogram(weights: Sequence[torch.Tensor], bins: int = 60) -> dict[str, Any]:
    """One histogram over every regularized weight, exact zeros counted apart."""
    flat = torch.cat([w.detach().reshape(-1) for w in weights]) if weights else torch.zeros(1)
    return histogram(flat, bins, symmetric=True).to_json()


def points(data: Dataset, limit: int = 2000) -> dict[str, Any] | None:
    """The training points of a 2-D dataset, for the decision-boundary plot."""
    if data.input_shape != (2,):
        return None
    x, y = data.x_train[:limit], data.y_train[:limit]
    return {"x1": x[:, 0].tolist(), "x2": x[:, 1].tolist(), "label": y.tolist()}


@torch.no_grad()
def boundary(model: nn.Module, data: Dataset, grid: int = BOUNDARY_GRID) -> dict[str, Any] | None:
    """``P(class 1)`` on a grid over the data, for 2-D two-class datasets."""
    if data.input_shape != (2,) or data.n_outputs != 2:
        return None
    x = torch.cat([data.x_train, data.x_val])
    lo, hi = x.amin(dim=0) - 0.3, x.amax(dim=0) + 0.3
    a = torch.linspace(float(lo[0]), float(hi[0]), grid)
    b = torch.linspace(float(lo[1]), float(hi[1]), grid)
    g1, g2 = torch.meshgrid(a, b, indexing="xy")
    was_training = model.training
    model.eval()
    try:
        prob = torch.softmax(model(torch.stack([g1.reshape(-1), g2.reshape(-1)], dim=1)), dim=1)
    finally:
        model.train(was_training)
    z = prob[:, 1].reshape(grid, grid)
    return {
        "x1": [round(v, 4) for v in a.tolist()],
        "x2": [round(v, 4) for v in b.tolist()],
        "p": [[round(v, 3) for v in row] for row in z.tolist()],
    }


def warm_up() -> None:
    """Build, measure and draw one small network, so that the first request does not pay
    for torch's and the library's first-call costs."""
    from weightlab.lab.schemas import InitSetup

    setup = InitSetup(n_samples=40, depth=2, width=8)
    data = dataset(setup)
    model = build_network(setup, data, generator=torch.Generator().manual_seed(0))
    measurement(model, data.x_train, data.y_train, 0)
    boundary(model, data)
