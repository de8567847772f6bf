"""Effective learning rates: how far a step really moves each layer, and the per-weight
step sizes Adam applies.

- ``update_ratio/{layer}``: ``‖W_t − W_{t−1}‖ / ‖W_{t−1}‖``, the relative size of one
  step's change of a layer's weights (optimizer, penalties and update rules together).
  With L2 in the loss or decoupled decay the weights' norm settles where the decay and
  the gradient balance, and this ratio then measures the *effective* learning rate
  (van Laarhoven 2017, "L2 regularization versus batch and weight normalization").
- Adam's per-weight step size ``lr/(√v̂ + ε)`` with ``v̂ = v/(1 − β₂ᵗ)`` (Kingma & Ba
  2015): the factor Adam multiplies a gradient component (through ``m̂``) by.  An L2
  penalty inside Adam adds ``λw`` to the gradient, so its effect on a weight is scaled by
  that weight's step size: weights with large gradient history (large ``v̂``) are
  regularized *less*.  Decoupled decay shrinks every weight by the same ``lr·λ``
  (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", §2).
  ``adam_decay_spread`` is the ratio of the 90th to the 10th percentile of the step
  sizes: how unevenly Adam + L2 decays the weights (1 for decoupled decay).

A run with ``train.effective_lr: true`` records these (:func:`weightlab.train.train_run`):
the update ratios at every evaluation, a histogram of ``log10`` of the step sizes (kind
:data:`STEP_KIND`, layer ``*``) at the histogram steps, and the summary at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from weightlab.histogram import Histogram, histogram

__all__ = [
    "STEP_KIND",
    "adam_step_sizes",
    "log_step_histogram",
    "step_size_summary",
    "update_ratios",
]

QUANTILE_LIMIT = 1 << 24
STEP_KIND = "adam_log_step"
"""The stored histogram kind of log10 Adam step sizes."""


@torch.no_grad()
def update_ratios(
    names: Sequence[str], before: Sequence[Tensor], after: Sequence[Tensor]
) -> dict[str, float]:
    """``{f"update_ratio/{name}": ‖after − before‖ / ‖before‖}`` for each layer (inf for
    a layer whose weights were all zero and moved, 0 when nothing moved).

    Example:
        >>> update_ratios(["w"], [torch.tensor([3.0, 4.0])], [torch.tensor([3.0, 4.5])])
        {'update_ratio/w': 0.1}
    """
    out = {}
    for name, old, new in zip(names, before, after, strict=True):
        change = float(torch.linalg.vector_norm(new - old))
        size = float(torch.linalg.vector_norm(old))
        out[f"update_ratio/{name}"] = change / size if size else (float("inf") if change else 0.0)
    return out


@torch.no_grad()
def adam_step_sizes(optimizer: torch.optim.Optimizer, params: Sequence[Tensor]) -> Tensor:
    """Every weight's Adam step size ``lr/(√v̂ + ε)``, flattened over ``params``, read from
    ``optimizer``'s state (``torch.optim.Adam`` or ``AdamW``; an empty tensor before its
    first step or for another optimizer).

    Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = torch.optim.Adam([w], lr=0.1)
        >>> w.grad = torch.tensor([1.0, 0.1]); opt.step()
        >>> adam_step_sizes(opt, [w])  # v̂ = g² after one step: lr/(|g| + ε)
        tensor([0.1000, 1.0000])
    """
    if not isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        return torch.zeros(0)
    group_of = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    sizes = []
    for p in params:
        state = optimizer.state.get(p, {})
        if "exp_avg_sq" not in state:
            continue
        group = group_of[id(p)]
        step = float(state["step"])
        correction = 1.0 - group["betas"][1] ** step
        v_hat = state["exp_avg_sq"] / correction
        sizes.append((group["lr"] / (v_hat.sqrt() + group["eps"])).reshape(-1).float().cpu())
    return torch.cat(sizes) if sizes else torch.zeros(0)


def step_size_summary(sizes: Tensor) -> dict[str, float]:
    """The median step size and the 90th-over-10th percentile ratio of a run's Adam step
    sizes (how unevenly an L2 penalty inside Adam acts on its weights)."""
    if sizes.numel() == 0:
        return {}
    if sizes.numel() > QUANTILE_LIMIT:  # torch.quantile's limit: an even subsample
        sizes = sizes[:: -(-sizes.numel() // QUANTILE_LIMIT)]
    levels = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    low, median, high = torch.quantile(sizes.double(), levels)
    return {"adam_step_median": float(median), "adam_decay_spread": float(high / low)}


def log_step_histogram(sizes: Tensor, bins: int = 60) -> Histogram | None:
    """The histogram of ``log10`` of Adam step sizes over their own range (None for no
    step sizes: before Adam's first step, or another optimizer).

    Example:
        >>> h = log_step_histogram(torch.tensor([1e-3, 1e-2, 1e-1]), bins=2)
        >>> h.low, h.high, h.counts
        (-3.0, -1.0, (1, 2))
    """
    if sizes.numel() == 0:
        return None
    return histogram(torch.log10(sizes), bins)
