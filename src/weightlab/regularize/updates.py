"""Update-side regularization: pure weight rules that compose with any torch optimizer.

A :data:`WeightRule` is a pure function ``rule(prev, proposed, lr) -> new``: ``prev`` is a
weight before the optimizer's step, ``proposed`` the weight after it, ``lr`` the learning
rate of that weight's param group.  Rules compose with :func:`chain` (as optax composes
transformations) and run after any optimizer through :class:`RegularizedOptimizer`; which
weights they touch is a separate argument (see :mod:`weightlab.regularize.select`).

Example — AdamW as Adam followed by decoupled decay::

    opt = RegularizedOptimizer(torch.optim.Adam(model.parameters(), lr=1e-3),
                               decoupled_decay(0.01), decayed_params)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from weightlab._validate import STRENGTH, Described, Instance, OneOf, Satisfies, check, fail
from weightlab.regularize.arrays import TORCH
from weightlab.regularize.penalties import as_tensors
from weightlab.regularize.registry import make_term
from weightlab.regularize.terms import L1_RULES

__all__ = [
    "L1_RULES",
    "L1Rule",
    "RegularizedOptimizer",
    "WeightRule",
    "apply_rule",
    "chain",
    "decoupled_decay",
    "l1_clip",
    "l1_proximal",
    "l1_step",
    "l1_subgradient",
]

WeightRule = Callable[[Tensor, Tensor, float], Tensor]
L1Rule = Literal["subgradient", "clip", "proximal"]

_CALLABLE = Satisfies(callable, "a callable rule(prev, proposed, lr) -> new")
_TABLE = {
    "rate": STRENGTH,
    "strength": STRENGTH,
    "lr_scaled": Instance((bool,), "a bool"),
    "rule": OneOf(L1_RULES),
}


def decoupled_decay(rate: float, *, lr_scaled: bool = True) -> WeightRule:
    """Decoupled weight decay: shrink toward zero outside the optimizer's gradient step.

    ``new = proposed − s·rate·prev`` with ``s = lr`` if ``lr_scaled`` else ``1``.  After
    ``torch.optim.Adam(weight_decay=0)`` this is ``torch.optim.AdamW(weight_decay=rate)``
    (AdamW does ``p ← p(1 − lr·rate)`` then the Adam step); after SGD it is SGDW.

    Args:
        rate: decay rate ≥ 0, finite (AdamW's ``weight_decay``).
        lr_scaled: multiply by the group's learning rate (torch, Keras) or not (the
            paper's schedule-free form ``w ← w − rate·w``).

    Example:
        >>> rule = decoupled_decay(0.5)
        >>> rule(torch.tensor([1.0, -2.0]), torch.tensor([1.0, -2.0]), 0.1)
        tensor([ 0.9500, -1.9000])

    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".
    """
    check("decoupled_decay", {"rate": rate, "lr_scaled": lr_scaled}, _TABLE)
    return _term_rule("decoupled_decay", rate=rate, lr_scaled=lr_scaled)


def l1_step(strength: float, rule: L1Rule = "proximal") -> WeightRule:
    """An L1 step of size ``lr·strength`` applied after the optimizer's step.

    With ``t = lr·λ``:

    - ``"subgradient"``: ``new = proposed − t·sign(prev)``; oscillates around zero and
      is almost never exactly zero (seed 000's update).
    - ``"clip"``: clip the whole step at zero (the rule seed 001's printed numbers
      follow): ``z = proposed − t·sign(prev)``; ``new = 0`` where ``prev·z < 0``, i.e.
      where the whole step from ``prev`` (data gradient and L1 term together) crossed
      zero, else ``z``.  A weight at exactly 0 has ``sign 0``, so it can leave zero again
      (not frozen).  Related to, but not the same as, truncated gradient (Langford, Li &
      Zhang 2009, "Sparse online learning via truncated gradient"), which soft-thresholds
      after the gradient step (our ``"proximal"``), and to TensorFlow Playground, which
      clips only crossings caused by the regularization term and then freezes the weight.
    - ``"proximal"``: soft-thresholding, ``new = sign(proposed)·max(|proposed| − t, 0)``;
      gives exact zeros (ISTA; the proximal operator of ``t·|w|``).

    With ``strength = 0`` every rule is the identity: ``new = proposed``.

    Args:
        strength: λ ≥ 0, finite (the L1 penalty ``λΣ|w|``).
        rule: ``"subgradient"``, ``"clip"`` or ``"proximal"``.

    Example:
        >>> step = l1_step(0.1, "proximal")
        >>> step(torch.tensor([0.5, 0.005]), torch.tensor([0.5, 0.005]), 0.1)
        tensor([0.4900, 0.0000])

    Tibshirani 1996 (the lasso); Langford, Li & Zhang 2009.
    """
    check("l1_step", {"strength": strength, "rule": rule}, _TABLE)
    return _term_rule("l1", strength=strength, rule=rule)


def l1_subgradient(strength: float) -> WeightRule:
    """:func:`l1_step` with ``rule="subgradient"``: ``new = proposed − lr·λ·sign(prev)``."""
    check("l1_subgradient", {"strength": strength}, _TABLE)
    return _term_rule("l1", strength=strength, rule="subgradient")


def l1_clip(strength: float) -> WeightRule:
    """:func:`l1_step` with ``rule="clip"``: the subgradient step, set to 0 where the whole
    step from ``prev`` crosses zero (the rule seed 001's printed numbers follow)."""
    check("l1_clip", {"strength": strength}, _TABLE)
    return _term_rule("l1", strength=strength, rule="clip")


def l1_proximal(strength: float) -> WeightRule:
    """:func:`l1_step` with ``rule="proximal"``: soft-thresholding by ``lr·λ`` (ISTA)."""
    check("l1_proximal", {"strength": strength}, _TABLE)
    return _term_rule("l1", strength=strength, rule="proximal")


def chain(*rules: WeightRule) -> WeightRule:
    """Compose rules left to right; each sees the same ``prev`` and the previous output.

    ``chain(r1, r2)(prev, proposed, lr) = r2(prev, r1(prev, proposed, lr), lr)``;
    ``chain()`` is the identity.

    Example:
        >>> rule = chain(decoupled_decay(0.01), l1_proximal(1e-4))
    """
    for index, rule in enumerate(rules):
        check("chain", {f"rules[{index}]": rule}, {f"rules[{index}]": _CALLABLE})

    def chained(prev: Tensor, proposed: Tensor, lr: float) -> Tensor:
        for rule in rules:
            proposed = rule(prev, proposed, lr)
        return proposed

    return chained


def apply_rule(
    rule: WeightRule, params: Sequence[Tensor], prev: Sequence[Tensor], lrs: Sequence[float]
) -> None:
    """Overwrite each ``p`` in ``params`` with ``rule(prev_i, p, lr_i)``, without autograd.

    For hand-written loops: snapshot ``prev = [p.detach().clone() for p in params]``, step
    the optimizer, then call this.  Inputs are trusted (internal building block).

    Args:
        rule: a :data:`WeightRule`.
        params: the weights after the optimizer's step, updated in place.
        prev: their values before the step, same shapes.
        lrs: one learning rate per weight.
    """
    with torch.no_grad():
        for p, before, lr in zip(params, prev, lrs, strict=True):
            p.copy_(rule(before, p, lr))


class RegularizedOptimizer:
    """A torch optimizer followed by a :data:`WeightRule` on a chosen subset of weights.

    ``step``: snapshot the selected weights, run ``optimizer.step(closure)``, then replace
    each selected ``p`` that has a gradient (``p.grad is not None``) by
    ``rule(prev, p, lr)`` with ``lr`` read from ``p``'s param group at that moment (so
    learning-rate schedulers on :attr:`base` apply).  Weights without a gradient (unused
    in the loss, or frozen) are left alone, as torch optimizers leave them.

    ``optimizer`` may itself be a ``RegularizedOptimizer``: its step (its optimizer's
    step, then its rule on its weights) runs first, then this rule on these weights, with
    ``prev`` the weights from before both.  Two rules on the same weights therefore run as
    ``chain(inner, outer)``; wrapping lets them touch different weights (a decay on every
    parameter, a norm constraint on the kernels only).

    Args:
        optimizer: any ``torch.optim.Optimizer``, or a ``RegularizedOptimizer``.
        rule: a :data:`WeightRule`, e.g. ``chain(decoupled_decay(1e-2), l1_clip(1e-4))``.
        params: the weights the rule applies to; each must be in one of the optimizer's
            param groups (e.g. ``[p for _, p in select_params(model)]``).

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> sgd = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> opt = RegularizedOptimizer(sgd, decoupled_decay(0.01), model.parameters())
        >>> opt = RegularizedOptimizer(opt, l1_proximal(1e-3), [model.weight])  # kernels only
        >>> sched = torch.optim.lr_scheduler.StepLR(opt.base, step_size=10)

    Loshchilov & Hutter 2019 (decoupled decay as a separate step).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer | RegularizedOptimizer,
        rule: WeightRule,
        params: Iterable[Tensor],
    ) -> None:
        check(
            "RegularizedOptimizer",
            {"optimizer": optimizer, "rule": rule},
            {"optimizer": _WRAPPABLE, "rule": _CALLABLE},
        )
        self.optimizer = optimizer
        self.rule = rule
        self.params = _unique(as_tensors("RegularizedOptimizer", params))
        self._groups = _group_indices(optimizer, self.params)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One optimizer step (with an inner ``RegularizedOptimizer``: its step and its
        rule), then the rule; returns what ``optimizer.step`` returned."""
        prev = [p.detach().clone() for p in self.params]
        loss = self.optimizer.step(closure)
        # Gradients are read after the step: a closure may be what computes them.
        stepped = [i for i, p in enumerate(self.params) if p.grad is not None]
        groups = self.optimizer.param_groups
        lrs = [float(groups[self._groups[i]]["lr"]) for i in stepped]
        params = [self.params[i] for i in stepped]
        apply_rule(self.rule, params, [prev[i] for i in stepped], lrs)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forwarded to the wrapped optimizer."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @property
    def base(self) -> torch.optim.Optimizer:
        """The torch optimizer inside every wrapper (what learning-rate schedulers take)."""
        inner = self.optimizer
        return inner.base if isinstance(inner, RegularizedOptimizer) else inner

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The wrapped optimizer's param groups."""
        return self.optimizer.param_groups

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's state (rules are stateless)."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Forwarded to the wrapped optimizer."""
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return f"RegularizedOptimizer({self.optimizer!r}, params={len(self.params)})"


_WRAPPABLE = Instance(
    (torch.optim.Optimizer, RegularizedOptimizer),
    "a torch.optim.Optimizer or a RegularizedOptimizer",
)


def _identity(prev: Tensor, proposed: Tensor, lr: float) -> Tensor:
    return proposed


def _term_rule(name: str, **params: Any) -> WeightRule:
    """The registered term's rule on one torch model; the identity when the term is
    inactive (a strength of 0 changes nothing, not even a crossing's clip)."""
    term = make_term(name, **params)
    return term.rule(TORCH) if term.active else _identity


def _unique(params: list[Tensor]) -> list[Tensor]:
    # Tied weights appear once, or the rule would be applied to them twice.
    return list({id(p): p for p in params}.values())


def _group_indices(
    optimizer: torch.optim.Optimizer | RegularizedOptimizer, params: list[Tensor]
) -> list[int]:
    where = {id(p): g for g, group in enumerate(optimizer.param_groups) for p in group["params"]}
    missing = [i for i, p in enumerate(params) if id(p) not in where]
    if missing:
        shape = tuple(params[missing[0]].shape)
        got = Described(f"{len(missing)} that are not (first: item {missing[0]}, shape {shape})")
        raise fail("RegularizedOptimizer", "params", "tensors in the optimizer's param groups", got)
    return [where[id(p)] for p in params]
