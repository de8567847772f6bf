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

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from weightlab.activations import ACTIVATION_MODULES
from weightlab.data import Dataset
from weightlab.regularize import DROPOUT_MODULES, Dropout, mc_dropout

__all__ = ["ABLATION_MASKS", "MC_SAMPLES", "probe_metrics"]

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
    h = captured[0].reshape(len(x), -1)
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
