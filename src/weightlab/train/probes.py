"""Measurements of a trained network that the stories of the seeds need, taken once at
the end of a run (both engines call them on the same module, with generators seeded by
the run's seed, so they agree).

- **Dropout as an ensemble** (Srivastava et al. 2014, §7.5; Gal & Ghahramani 2016): the
  weight-scaling prediction (dropout off) against the average of ``MC_SAMPLES`` masked
  passes: ``mc_agreement`` (share of validation examples where the two predict the same
  class), ``mc_acc`` (accuracy of the averaged prediction), ``mc_acc_gain`` (that minus
  the weight-scaling accuracy), ``mc_uncertainty`` (mean
  standard deviation, over masks, of the probability of the predicted class) and
  ``mc_uncertainty_ratio`` (that spread on misclassified examples over the spread on
  correctly classified ones: above 1 when the uncertainty flags the errors).
- **Co-adaptation** (Srivastava et al. 2014, §7.1; Hinton et al. 2012): ``ablation_drop``,
  the validation accuracy lost when a random half of every hidden layer's units is
  removed at test time (the rest scaled by 2, as inverted dropout does), averaged over
  ``ABLATION_MASKS`` masks; and ``unit_correlation``, the mean absolute correlation
  between the last hidden layer's units on validation inputs.  Units that rely on each
  other lose more when their partners go.
- **Coefficients** of a linear regression model (``coef/i``), so that their spread
  across seeds (or bootstrap resamples) can be measured.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from weightlab.activations import ACTIVATION_MODULES
from weightlab.data import Dataset
from weightlab.regularize import DROPOUT_MODULES, TORCH, Dropout, mc_dropout
from weightlab.regularize.dropout import bit_words, keep_bits, keep_threshold
from weightlab.regularize.terms import dropout_layer

__all__ = [
    "ABLATION_MASKS",
    "MC_SAMPLES",
    "fast_probe_metrics",
    "probe_metrics",
    "stacked_probe_metrics",
]

MC_SAMPLES = 30
ABLATION_MASKS = 10
MAX_COEFFICIENTS = 100
_ACTIVATIONS = tuple(ACTIVATION_MODULES.values())


def probe_metrics(model: nn.Module, data: Dataset, seed: int) -> dict[str, float]:
    """Every measurement of the module docstring that applies to ``model``."""
    out: dict[str, float] = {}
    out.update(_coefficients(model, data))
    if data.task != "classification":
        return out
    x, y = data.x_val, data.y_val.to(_device(model))
    x = x.to(_device(model))
    if any(isinstance(m, DROPOUT_MODULES) for m in model.modules()):
        out.update(_mc_dropout(model, x, y, seed))
    hidden = [m for m in model.modules() if isinstance(m, _ACTIVATIONS)]
    if hidden:
        out.update(_ablation(model, hidden, x, y, seed))
        out["unit_correlation"] = _unit_correlation(model, hidden[-1], x)
    return out


def stacked_probe_metrics(
    models: Sequence[nn.Module], data: Dataset, seeds: Sequence[int]
) -> list[dict[str, float]]:
    """:func:`probe_metrics` of each of ``models`` (the runs of one stack, each with its
    seed), with the same values, measured faster (:func:`fast_probe_metrics`)."""
    return [fast_probe_metrics(m, data, s) for m, s in zip(models, seeds, strict=True)]


def fast_probe_metrics(model: nn.Module, data: Dataset, seed: int) -> dict[str, float]:
    """:func:`probe_metrics` with the same values, for an MLP on the CPU in a fraction of
    the time: one evaluation pass serves the plain predictions, the ablation's baseline
    and the unit correlation (:func:`probe_metrics` runs three); the layers before the
    first mask are computed once instead of once per pass; each probe's masks come from
    one draw of its generator (on the CPU a draw of ``n + m`` numbers is a draw of ``n``
    then of ``m``, in the order the passes draw them); and the passes go through the
    remaining layers together, as one ``[passes·examples, features]`` product per layer
    (row for row the products of the passes one at a time, which a check on the first
    pass confirms, else every pass runs alone).  Anything else (another module, another
    device, a regression) goes to :func:`probe_metrics`."""
    layers = _plain_layers(model)
    if layers is None or _device(model).type != "cpu" or data.task != "classification":
        return probe_metrics(model, data, seed)
    out: dict[str, float] = {}
    out.update(_coefficients(model, data))
    x, y = data.x_val, data.y_val
    with torch.no_grad():
        trace = _trace(layers, x)
        plain = trace.logits.argmax(dim=1)
        plain_acc = float((plain == y).float().mean())
        drops = [i for i, m in enumerate(layers) if isinstance(m, Dropout) and m.p != 0.0]
        if any(isinstance(m, DROPOUT_MODULES) for m in model.modules()):
            probs = torch.softmax(_mc_passes(layers, trace, drops, seed + 3), dim=2)
            out.update(_mc_summary(probs, plain, plain_acc, y))
        acts = [i for i, m in enumerate(layers) if isinstance(m, _ACTIVATIONS)]
        if acts:
            accuracies = _ablation_passes(layers, trace, acts, y, seed + 4)
            lost = [plain_acc - a for a in accuracies]
            out["ablation_drop"] = sum(lost) / len(lost)
            out["unit_correlation"] = _correlation(trace.inputs[acts[-1] + 1])
    return out


class _Trace:
    """An evaluation pass: ``inputs[i]`` is what layer ``i`` received (and
    ``inputs[len(layers)]`` the logits)."""

    def __init__(self, inputs: list[Tensor]) -> None:
        self.inputs = inputs

    @property
    def logits(self) -> Tensor:
        return self.inputs[-1]


def _plain_layers(model: nn.Module) -> list[nn.Module] | None:
    """The layers of an MLP as :func:`weightlab.models.mlp` builds it (Flatten, Linear,
    activations, weightlab's Dropout in an ``nn.Sequential``), or None."""
    if not isinstance(model, nn.Sequential):
        return None
    kinds = (nn.Flatten, nn.Linear, Dropout, *_ACTIVATIONS)
    layers = list(model.children())
    if not all(type(m) in kinds for m in layers):
        return None
    return layers


def _trace(layers: Sequence[nn.Module], x: Tensor) -> _Trace:
    inputs = [x]
    for layer in layers:
        inputs.append(_eval_layer(layer, inputs[-1]))
    return _Trace(inputs)


def _eval_layer(layer: nn.Module, x: Tensor) -> Tensor:
    """``layer`` in eval mode (a dropout module's inference rule)."""
    if isinstance(layer, Dropout):
        if layer.p == 0.0:
            return x
        out: Tensor = dropout_layer(TORCH, x, None, False, p=layer.p, mode=layer.mode)
        return out
    result: Tensor = layer(x)
    return result


def _masks(shapes: Sequence[tuple[int, ...]], passes: int, seed: int) -> list[Tensor]:
    """Uniform draws for ``passes`` passes that each draw one tensor of every shape in
    ``shapes`` in turn, from a generator seeded with ``seed``: ``[passes, *shape]`` per
    shape, as the passes one after another draw them."""
    sizes = [math.prod(shape) for shape in shapes]
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(passes * sum(sizes), generator=generator).view(passes, sum(sizes))
    offsets = [0, *itertools.accumulate(sizes)]
    return [
        u[:, start:stop].reshape(passes, *shape)
        for start, stop, shape in zip(offsets, offsets[1:], shapes, strict=False)
    ]


def _keep_masks(
    shapes: Sequence[tuple[int, ...]],
    ps: Sequence[float],
    passes: int,
    seed: int,
    dtype: torch.dtype,
) -> list[Tensor]:
    """The keep masks of ``passes`` passes that each draw one mask of every shape in
    ``shapes`` in turn (:func:`~weightlab.regularize.dropout.keep_mask` with drop
    probabilities ``ps``) from a generator seeded with ``seed``: ``[passes, *shape]``
    per shape, as the passes one after another draw them.  As 0 and 1 in ``dtype``
    (multiplying by a bool mask is several times slower, with the same products)."""
    sizes = [math.prod(shape) for shape in shapes]
    words = [bit_words(n) for n in sizes]  # each mask's draw of whole 64-bit words
    generator = torch.Generator().manual_seed(seed)
    bits = keep_bits(4 * passes * sum(words), generator, torch.device("cpu"))
    bits = bits.view(passes, 4 * sum(words))
    offsets = itertools.accumulate((4 * n for n in words), initial=0)
    masks = []
    for start, n, shape, p in zip(offsets, sizes, shapes, ps, strict=False):
        keep = torch.empty(passes, n, dtype=dtype)
        torch.ge(bits[:, start : start + n], keep_threshold(p), out=keep)
        masks.append(keep.view(passes, *shape))
    return masks


def _batched(run: Callable[[int, int], Tensor], passes: int) -> Tensor:
    """``run(first, stop)`` for every pass at once, checked against the first pass alone
    (else every pass alone)."""
    together = run(0, passes)
    if passes > 1 and not torch.equal(together[0], run(0, 1)[0]):
        together = torch.cat([run(t, t + 1) for t in range(passes)])
    return together


def _mc_passes(layers: Sequence[nn.Module], trace: _Trace, drops: list[int], seed: int) -> Tensor:
    """The logits of ``MC_SAMPLES`` passes with dropout on, [passes, examples, classes]:
    each dropout module draws its mask from one generator seeded with ``seed``
    (:func:`_generators`), the passes one after another."""
    if not drops:
        return trace.logits.expand(MC_SAMPLES, *trace.logits.shape)
    modules = [layers[i] for i in drops]
    shapes = [tuple(trace.inputs[i].shape) for i in drops]
    ps = [m.p if isinstance(m, Dropout) else 0.0 for m in modules]
    keeps = _keep_masks(shapes, ps, MC_SAMPLES, seed, trace.inputs[drops[0]].dtype)

    def run(first: int, stop: int) -> Tensor:
        z = trace.inputs[drops[0]].expand(stop - first, *trace.inputs[drops[0]].shape)
        for i in range(drops[0], len(layers)):
            layer = layers[i]
            if i in drops and isinstance(layer, Dropout):
                keep = keeps[drops.index(i)][first:stop]
                z = dropout_layer(TORCH, z, keep, True, p=layer.p, mode=layer.mode)
            else:
                z = _eval_layer(layer, z)
        return z

    return _batched(run, MC_SAMPLES)


def _ablation_passes(
    layers: Sequence[nn.Module], trace: _Trace, acts: list[int], y: Tensor, seed: int
) -> list[float]:
    """The accuracy of each of ``ABLATION_MASKS`` passes with a random half of every
    hidden layer's units removed (one mask per layer for the whole batch, the rest
    scaled by 2), as :func:`_ablated` computes it."""
    shapes = [tuple(trace.inputs[i + 1].shape[1:]) for i in acts]
    keeps = [u >= 0.5 for u in _masks(shapes, ABLATION_MASKS, seed)]
    first_out = trace.inputs[acts[0] + 1]  # the first activation's output, unmasked

    def run(first: int, stop: int) -> Tensor:
        z = first_out.expand(stop - first, *first_out.shape)
        for i in range(acts[0], len(layers)):
            if i != acts[0]:
                z = _eval_layer(layers[i], z)
            if i in acts:
                keep = keeps[acts.index(i)][first:stop].unsqueeze(1)
                z = z * keep.to(z.dtype) * 2.0
        return z

    logits = _batched(run, ABLATION_MASKS)
    correct = (logits.argmax(dim=2) == y).float().mean(dim=1)
    return [float(a) for a in correct]


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    return float((model(x).argmax(dim=1) == y).float().mean())


@torch.no_grad()
def _mc_dropout(model: nn.Module, x: Tensor, y: Tensor, seed: int) -> dict[str, float]:
    was_training = model.training
    model.eval()
    try:
        plain = model(x).argmax(dim=1)
        plain_acc = float((plain == y).float().mean())
        with _generators(model, seed + 3), mc_dropout(model):
            probs = torch.stack([torch.softmax(model(x), dim=1) for _ in range(MC_SAMPLES)])
    finally:
        model.train(was_training)
    return _mc_summary(probs, plain, plain_acc, y)


def _mc_summary(probs: Tensor, plain: Tensor, plain_acc: float, y: Tensor) -> dict[str, float]:
    """The MC-dropout metrics from the passes' probabilities [passes, examples,
    classes] and the weight-scaling predictions."""
    mean = probs.mean(dim=0)
    predicted = mean.argmax(dim=1)
    spread = probs.std(dim=0).gather(1, predicted.unsqueeze(1)).squeeze(1)
    right = predicted == y
    wrong_spread = float(spread[~right].mean()) if bool((~right).any()) else float("nan")
    right_spread = float(spread[right].mean()) if bool(right.any()) else float("nan")
    return {
        "mc_agreement": float((predicted == plain).float().mean()),
        "mc_acc": float(right.float().mean()),
        "mc_acc_gain": float(right.float().mean()) - plain_acc,
        "mc_uncertainty": float(spread.mean()),
        "mc_uncertainty_ratio": wrong_spread / right_spread if right_spread else float("nan"),
    }


@contextmanager
def _generators(model: nn.Module, seed: int) -> Iterator[None]:
    """Weightlab's dropout modules draw from one generator seeded with ``seed`` while
    inside; their own generators are restored afterwards."""
    modules = [m for m in model.modules() if isinstance(m, Dropout)]
    saved = [m.generator for m in modules]
    device = _device(model)
    generator = torch.Generator(device).manual_seed(seed)
    for m in modules:
        m.generator = generator
    try:
        yield
    finally:
        for m, g in zip(modules, saved, strict=True):
            m.generator = g


@torch.no_grad()
def _ablation(
    model: nn.Module, hidden: list[nn.Module], x: Tensor, y: Tensor, seed: int
) -> dict[str, float]:
    was_training = model.training
    model.eval()
    generator = torch.Generator(_device(model)).manual_seed(seed + 4)
    try:
        full = _accuracy(model, x, y)
        lost = [full - _ablated(model, hidden, x, y, generator) for _ in range(ABLATION_MASKS)]
    finally:
        model.train(was_training)
    return {"ablation_drop": sum(lost) / len(lost)}


def _ablated(
    model: nn.Module, hidden: list[nn.Module], x: Tensor, y: Tensor, generator: torch.Generator
) -> float:
    """Accuracy with a random half of every hidden layer's units removed (one mask per
    layer for the whole batch), the rest scaled by 2."""

    def remove_half(module: nn.Module, args: object, out: Tensor) -> Tensor:
        keep = torch.rand(out.shape[1:], generator=generator, device=out.device) >= 0.5
        return out * keep.to(out.dtype) * 2.0

    handles = [m.register_forward_hook(remove_half) for m in hidden]
    try:
        return _accuracy(model, x, y)
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def _unit_correlation(model: nn.Module, layer: nn.Module, x: Tensor) -> float:
    captured: list[Tensor] = []
    handle = layer.register_forward_hook(lambda m, a, out: captured.append(out.detach()))
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        handle.remove()
        model.train(was_training)
    return _correlation(captured[0])


def _correlation(out: Tensor) -> float:
    """The mean absolute correlation between the units of a layer's output."""
    h = out.reshape(len(out), -1)
    h = h[:, h.std(dim=0) > 0]  # dead or constant units have no correlation
    if h.shape[1] < 2:
        return 0.0
    corr = torch.corrcoef(h.T)
    off = corr[~torch.eye(len(corr), dtype=torch.bool, device=corr.device)]
    return float(off.abs().mean())


def _coefficients(model: nn.Module, data: Dataset) -> dict[str, float]:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if (
        len(linears) != 1
        or data.task == "classification"
        or linears[0].out_features != 1
        or linears[0].in_features > MAX_COEFFICIENTS
    ):
        return {}
    weight = linears[0].weight.detach().reshape(-1).cpu()
    return {f"coef/{i}": float(w) for i, w in enumerate(weight)}
