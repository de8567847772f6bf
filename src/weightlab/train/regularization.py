"""Regularization settings for a training run, written as short strings.

Terms, joined with ``+`` (``"l2(1e-3)+dropout(0.2)"``):

==========================================  ==============================================
``none``                                    nothing
``l1(λ, rule=proximal)``                    L1 as an update step after the optimizer
                                            (``proximal``, ``clip`` or ``subgradient``),
                                            or ``rule=penalty``: λΣ|w| added to the loss
``l2(λ, convention=half_sum_sq)``           L2 penalty in the loss, (λ/2)Σw² or λΣw²
``elastic_net(λ, l1_ratio=0.5, ...)``       elastic-net penalty in the loss
``decoupled_decay(rate, lr_scaled=True)``   w ← w − lr·rate·w after the optimizer (AdamW)
``dropout(p, mode=inverted)``               dropout after every hidden activation
==========================================  ==============================================

Penalties and rules apply to the parameters :func:`~weightlab.regularize.select_params`
selects: weights, not biases or normalization layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import torch

from weightlab._spec import parse_spec
from weightlab._validate import PROBABILITY, STRENGTH, UNIT, Instance, OneOf, check, fail
from weightlab.regularize import (
    CONVENTIONS,
    L1_RULES,
    MODES,
    Convention,
    L1Rule,
    WeightRule,
    chain,
    decoupled_decay,
    elastic_net,
    l1_step,
)

__all__ = ["Regularization", "parse_regularization"]

_TERMS: dict[str, tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = {
    # name: (parameter order, defaults, constraint table)
    "l1": (
        ("strength", "rule"),
        {"rule": "proximal"},
        {"strength": STRENGTH, "rule": OneOf((*L1_RULES, "penalty"))},
    ),
    "l2": (
        ("strength", "convention"),
        {"convention": "half_sum_sq"},
        {"strength": STRENGTH, "convention": OneOf(CONVENTIONS)},
    ),
    "elastic_net": (
        ("strength", "l1_ratio", "convention"),
        {"l1_ratio": 0.5, "convention": "half_sum_sq"},
        {"strength": STRENGTH, "l1_ratio": UNIT, "convention": OneOf(CONVENTIONS)},
    ),
    "decoupled_decay": (
        ("rate", "lr_scaled"),
        {"lr_scaled": True},
        {"rate": STRENGTH, "lr_scaled": Instance((bool,), "a bool")},
    ),
    "dropout": (("p", "mode"), {"mode": "inverted"}, {"p": PROBABILITY, "mode": OneOf(MODES)}),
}


@dataclass(frozen=True)
class Regularization:
    """Every regularizer of one run: loss penalties, update rules and dropout."""

    terms: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = field(default=())

    def params(self, name: str) -> dict[str, Any] | None:
        """The parameters of term ``name``, or None when the run does not use it."""
        for term, values in self.terms:
            if term == name:
                return dict(values)
        return None

    @property
    def dropout(self) -> tuple[float, str]:
        d = self.params("dropout")
        return (0.0, "inverted") if d is None else (float(d["p"]), str(d["mode"]))

    def penalty(self, weights: list[torch.Tensor]) -> torch.Tensor | None:
        """The loss-side penalty on ``weights`` (None when there is none)."""
        total: torch.Tensor | None = None
        for name, ratio in (("l1", 1.0), ("l2", 0.0), ("elastic_net", None)):
            p = self.params(name)
            if p is None or (name == "l1" and p["rule"] != "penalty"):
                continue
            value = elastic_net(
                weights,
                float(p["strength"]),
                float(p["l1_ratio"]) if ratio is None else ratio,
                convention=cast(Convention, p.get("convention", "half_sum_sq")),
            )
            total = value if total is None else total + value
        return total

    def rule(self) -> WeightRule | None:
        """The update-side steps (decoupled decay, then the L1 rule), composed."""
        rules = []
        decay = self.params("decoupled_decay")
        if decay is not None:
            rules.append(decoupled_decay(float(decay["rate"]), lr_scaled=bool(decay["lr_scaled"])))
        l1 = self.params("l1")
        if l1 is not None and l1["rule"] != "penalty":
            rules.append(l1_step(float(l1["strength"]), cast(L1Rule, l1["rule"])))
        return chain(*rules) if rules else None

    def __str__(self) -> str:
        """Short canonical form: the first parameter positional, others only when they
        differ from their defaults: ``l1(0.01)``, ``l2(0.001, convention='sum_sq')``."""
        if not self.terms:
            return "none"
        return "+".join(_short(name, dict(values)) for name, values in self.terms)


def _short(name: str, values: dict[str, Any]) -> str:
    order, defaults, _ = _TERMS[name]
    first = values[order[0]]
    rest = [f"{k}={values[k]!r}" for k in order[1:] if values[k] != defaults.get(k)]
    return f"{name}({', '.join([f'{first:g}', *rest])})"


def parse_regularization(text: str) -> Regularization:
    """Parse ``"none"`` or terms joined by ``+``; each term's parameters are validated
    and defaults filled in, so equal settings give equal objects.

    Example:
        >>> str(parse_regularization("l1(1e-4)+dropout(p=0.3, mode=classic)"))
        "l1(0.0001)+dropout(0.3, mode='classic')"
    """
    if not isinstance(text, str):
        raise fail(
            "regularization", "regularization", "a string such as 'l2(1e-3)'", text, wrong_type=True
        )
    if text.strip() in ("none", ""):
        return Regularization()
    terms = []
    for part in text.split("+"):
        name, args, kwargs = parse_spec(part.strip(), "regularization", "regularization")
        check(
            "regularization", {"regularization": name}, {"regularization": OneOf(("none", *_TERMS))}
        )
        terms.append((name, _bind(name, args, kwargs, part.strip())))
    names = [n for n, _ in terms]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise fail("regularization", "regularization", "each term at most once", text)
    return Regularization(tuple(terms))


def _bind(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], text: str
) -> tuple[tuple[str, Any], ...]:
    order, defaults, table = _TERMS[name]
    if len(args) > len(order) or set(kwargs) - set(order) or set(order[: len(args)]) & set(kwargs):
        raise fail(
            "regularization",
            "regularization",
            f"a call using the parameters of {name} ({', '.join(order)})",
            text,
        )
    values = {**defaults, **dict(zip(order, args, strict=False)), **kwargs}
    missing = [p for p in order if p not in values]
    if missing:
        raise fail("regularization", "regularization", f"{name} with its {missing[0]} given", text)
    values = {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in values.items()
    }
    check(name, values, table)
    return tuple((k, values[k]) for k in order)
