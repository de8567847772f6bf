"""The built-in regularization terms, each registered once with its arithmetic.

==========================================  ==========  =====================================
term                                        kind        what it does (``t = lr·λ``)
==========================================  ==========  =====================================
``l1(λ, rule=proximal)``                    rule        soft-threshold by ``t`` after the step
``l1(λ, rule=clip|subgradient)``            rule        ``w − t·sign(w_prev)``, clipped at 0
``l1(λ, rule=penalty)``                     penalty     ``λ Σ|w|`` in the loss
``l2(λ, convention=half_sum_sq)``           penalty     ``(λ/2) Σw²`` (or ``λ Σw²``: sum_sq)
``elastic_net(λ, l1_ratio=0.5, ...)``       penalty     ``λ (r Σ|w| + (1 − r) c Σw²)``
``decoupled_decay(rate, lr_scaled=True)``   rule        ``w ← w − lr·rate·w_prev`` (AdamW)
``dropout(p, mode=inverted)``               layer       after every hidden activation
``max_norm(max_value)``                     rule        each unit's ``‖w‖₂ ≤ max_value``
==========================================  ==========  =====================================

Every arithmetic function below takes an :class:`~weightlab.regularize.arrays.ArrayOps`
first and uses only it and Python's operators, so one run, K stacked runs (strengths
``[K, 1, 1]``), Keras and MLX share it.  Rules run after the optimizer's step in stage
order: decoupled decay, then L1, then max-norm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from weightlab._validate import POSITIVE, PROBABILITY, STRENGTH, UNIT, OneOf
from weightlab.regularize.arrays import ArrayOps
from weightlab.regularize.registry import BOOL, Canonical, Kind, Param, make_term, register

__all__ = [
    "CONVENTIONS",
    "L1_RULES",
    "MODES",
    "SQUARE_FACTOR",
    "decoupled_decay_rule",
    "dropout_layer",
    "elastic_net_penalty",
    "l1_penalty",
    "l1_rule",
    "l2_penalty",
    "max_norm_rule",
    "penalty_sum",
]

CONVENTIONS: tuple[str, ...] = ("sum_sq", "half_sum_sq")
SQUARE_FACTOR = {"sum_sq": 1.0, "half_sum_sq": 0.5}
"""``c`` in ``c·Σw²`` for each L2 convention: Keras ``L2(λ)`` adds ``λΣw²``, torch's
``weight_decay=λ`` is the gradient of ``(λ/2)Σw²``."""
L1_RULES: tuple[str, ...] = ("subgradient", "clip", "proximal")
MODES: tuple[str, ...] = ("inverted", "classic")


# ---------------------------------------------------------------------------
# Penalties.


def penalty_sum(ops: ArrayOps, weights: Sequence[Any], a: Any, b: Any) -> Any:
    """``Σ_w (a·Σ|w| + b·Σw²)`` per model; a part whose coefficient is the number 0 is
    skipped.  Half-precision weights are summed in float32."""
    total: Any = 0.0
    for w in weights:
        w = ops.wide(w)
        if not _is_zero(a):
            total = total + ops.coef(a, w) * ops.total(ops.abs(w))
        if not _is_zero(b):
            total = total + ops.coef(b, w) * ops.total(ops.square(w))
    return total


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == 0


def _scaled(ops: ArrayOps, strength: Any, total: Any) -> Any:
    return ops.coef(strength, total) * total


def l1_penalty(ops: ArrayOps, weights: Sequence[Any], *, strength: Any, rule: str) -> Any:
    """L1 (lasso): ``λ Σ|w|`` added to the loss; its gradient ``λ·sign(w)`` (0 at 0).

    Tibshirani 1996, "Regression shrinkage and selection via the lasso".  With
    ``rule="penalty"``; the other rules apply L1 after the optimizer's step instead.
    """
    return _scaled(ops, strength, penalty_sum(ops, weights, 1.0, 0.0))


def l1_rule(ops: ArrayOps, prev: Any, proposed: Any, lr: Any, *, strength: Any, rule: str) -> Any:
    """L1 (lasso) as a step of size ``t = lr·λ`` after the optimizer's step.

    - ``proximal``: soft-thresholding ``sign(w)·max(|w| − t, 0)``, the proximal operator
      of ``t·|w|`` (ISTA); gives exact zeros.
    - ``subgradient``: ``w − t·sign(w_prev)``; oscillates around zero, almost never 0
      (seed 000's update).
    - ``clip``: the subgradient step, set to 0 where the whole step from ``w_prev``
      crossed zero (``w_prev·w < 0``): the rule seed 001's printed numbers follow.  A
      weight at exactly 0 has sign 0 and may leave zero again.

    Tibshirani 1996; Langford, Li & Zhang 2009, "Sparse online learning via truncated
    gradient" (truncation at zero).
    """
    t = ops.coef(lr * strength, proposed)
    if rule == "proximal":
        return ops.sign(proposed) * ops.maximum(ops.abs(proposed) - t, 0.0)
    z = proposed - t * ops.sign(prev)
    return z if rule == "subgradient" else ops.where(prev * z < 0, 0.0, z)


def l2_penalty(ops: ArrayOps, weights: Sequence[Any], *, strength: Any, convention: str) -> Any:
    """L2 (ridge, weight decay in the gradient): ``λ·c·Σw²`` added to the loss, ``c = 1``
    for ``sum_sq`` (Keras ``L2(λ)``, seed 000) and ``c = 1/2`` for ``half_sum_sq``
    (torch ``weight_decay=λ``, seed 001's update ``θ − α(g + λθ)``); gradient ``2cλw``.

    Hoerl & Kennard 1970, "Ridge regression: biased estimation for nonorthogonal problems".
    """
    return _scaled(ops, strength, penalty_sum(ops, weights, 0.0, SQUARE_FACTOR[convention]))


def elastic_net_penalty(
    ops: ArrayOps, weights: Sequence[Any], *, strength: Any, l1_ratio: Any, convention: str
) -> Any:
    """Elastic net: ``λ·(r·Σ|w| + (1 − r)·c·Σw²)`` added to the loss, ``r = l1_ratio``,
    ``c`` the L2 convention's factor; ``r = 1`` is L1, ``r = 0`` is L2.  With
    ``half_sum_sq`` it is scikit-learn's ``ElasticNet(alpha=λ, l1_ratio=r)`` penalty.

    Zou & Hastie 2005, "Regularization and variable selection via the elastic net".
    """
    c = SQUARE_FACTOR[convention]
    return _scaled(ops, strength, penalty_sum(ops, weights, l1_ratio, (1.0 - l1_ratio) * c))


# ---------------------------------------------------------------------------
# Rules after the optimizer's step.


def decoupled_decay_rule(
    ops: ArrayOps, prev: Any, proposed: Any, lr: Any, *, rate: Any, lr_scaled: bool
) -> Any:
    """Decoupled weight decay: ``w ← w − s·rate·w_prev`` beside the optimizer's step,
    ``s = lr`` when ``lr_scaled`` (torch ``AdamW``, Keras) else 1 (the paper's
    schedule-free form).  Adam followed by it is ``torch.optim.AdamW``.

    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".
    """
    scale = lr * rate if lr_scaled else rate
    return proposed - ops.coef(scale, proposed) * prev


def max_norm_rule(ops: ArrayOps, prev: Any, proposed: Any, lr: Any, *, max_value: Any) -> Any:
    """Max-norm: after each step, rescale every unit's incoming weight vector to
    ``‖w_u‖₂ ≤ c``: ``w_u ← w_u·min(1, c/‖w_u‖₂)`` (a projection; ``c = max_value``).

    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: a simple way
    to prevent neural networks from overfitting", §5.1 (used with dropout, it lets a large
    learning rate run without the weights blowing up).  A unit's incoming weights are
    a row of a torch ``[out, in]`` weight (everything but dimension 0 of a convolution
    weight), a column of a Keras kernel.
    """
    norm = ops.unit_norm(proposed)
    return proposed * ops.minimum(ops.coef(max_value, proposed) / norm, 1.0)


# ---------------------------------------------------------------------------
# Layers.


def dropout_layer(ops: ArrayOps, x: Any, keep: Any, training: bool, *, p: Any, mode: str) -> Any:
    """Dropout after every hidden activation, keep mask ``m ~ Bernoulli(1 − p)``:
    ``inverted`` (torch, Keras, MLX) trains on ``x·m/(1 − p)`` and infers ``x``;
    ``classic`` (the original paper, seed 001) trains on ``x·m`` and infers ``x·(1 − p)``.
    Both have the same expected output in training as at inference.

    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: a simple way
    to prevent neural networks from overfitting".
    """
    if not training:
        return x if mode == "inverted" else x * ops.coef(1.0 - p, x)
    return x * keep / ops.coef(1.0 - p, x) if mode == "inverted" else x * keep


# ---------------------------------------------------------------------------
# Registration.


def _positive(name: str) -> Any:
    return lambda p: p[name] > 0


def _l1_kind(p: Mapping[str, Any]) -> Kind:
    return "penalty" if p["rule"] == "penalty" else "rule"


def _l1_label(p: Mapping[str, Any]) -> str:
    text = str(make_term("l1", **p))
    return text if p["rule"] == "penalty" else f"{text} [{p['rule']} rule]"


register(
    "l1",
    [
        Param("strength", STRENGTH, example=1e-3),
        Param("rule", OneOf((*L1_RULES, "penalty")), "proximal"),
    ],
    penalty=l1_penalty,
    rule=l1_rule,
    kind_of=_l1_kind,
    stage=20,
    active=_positive("strength"),
    reads_prev=lambda p: p["rule"] in ("subgradient", "clip"),
    branches_on_sign=lambda p: p["rule"] != "proximal",
    canonical=lambda p: (
        Canonical(l1=p["strength"]) if p["rule"] == "penalty" else Canonical(step=True)
    ),
    effect="sparsity",
    describe=_l1_label,
)

register(
    "l2",
    [
        Param("strength", STRENGTH, example=1e-3),
        Param("convention", OneOf(CONVENTIONS), "half_sum_sq"),
    ],
    penalty=l2_penalty,
    active=_positive("strength"),
    canonical=lambda p: Canonical(coupled=2 * SQUARE_FACTOR[p["convention"]] * p["strength"]),
    effect="shrinkage",
)

register(
    "elastic_net",
    [
        Param("strength", STRENGTH, example=1e-3),
        Param("l1_ratio", UNIT, 0.5),
        Param("convention", OneOf(CONVENTIONS), "half_sum_sq"),
    ],
    penalty=elastic_net_penalty,
    active=_positive("strength"),
    branches_on_sign=lambda p: p["l1_ratio"] > 0,
    canonical=lambda p: Canonical(
        l1=p["strength"] * p["l1_ratio"],
        coupled=2 * SQUARE_FACTOR[p["convention"]] * p["strength"] * (1 - p["l1_ratio"]),
    ),
    effect="sparsity",
)

register(
    "decoupled_decay",
    [Param("rate", STRENGTH, example=1e-2), Param("lr_scaled", BOOL, True)],
    rule=decoupled_decay_rule,
    stage=10,
    active=_positive("rate"),
    reads_prev=lambda p: True,
    canonical=lambda p: Canonical(decoupled=p["rate"]) if p["lr_scaled"] else Canonical(step=True),
    effect="shrinkage",
)

register(
    "dropout",
    [Param("p", PROBABILITY, example=0.5), Param("mode", OneOf(MODES), "inverted")],
    layer=dropout_layer,
    scales=True,
    active=_positive("p"),
    canonical=lambda p: Canonical(dropout=(p["p"], p["mode"])),
    effect="noise",
)

register(
    "max_norm",
    [Param("max_value", POSITIVE, example=3.0)],
    rule=max_norm_rule,
    stage=30,
    canonical=lambda p: Canonical(step=True),
    effect="constraint",
    native={
        "keras": (
            "keras.layers.Dense(units, kernel_constraint="
            "keras.constraints.MaxNorm(max_value={max_value}, axis=0))",
            "Keras scales by max_value/(ε + ‖w‖) with ε = 1e-7, so a unit over the bound "
            "ends a relative 1e-7/‖w‖ inside it.",
        ),
        "torch": (
            "with torch.no_grad(): w.copy_(torch.renorm(w, 2, 0, {max_value}))  "
            "# after each optimizer.step()",
            "torch.renorm scales by maxnorm/(‖w‖ + 1e-7), so a unit over the bound ends "
            "a relative 1e-7/‖w‖ inside it.",
        ),
    },
)
