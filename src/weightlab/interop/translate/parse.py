"""Parsing: "framework:Name(args) + Name(args)" into bound calls, and the meaning of a
parsed setting."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

from weightlab._spec import parse_spec, split_terms
from weightlab._validate import Interval, check, fail, is_real
from weightlab.init.schemes import check_params
from weightlab.interop.translate.components import REQUIRED, Call
from weightlab.interop.translate.meanings import (
    FRAMEWORKS,
    LR,
    Amount,
    DropoutMeaning,
    Meaning,
    UpdateMeaning,
)
from weightlab.interop.translate.shared_terms import decouples
from weightlab.interop.translate.vocabulary import COMPONENTS
from weightlab.regularize.registry import parse_regularization

__all__ = ["meaning_of", "parse_setting"]


def parse_setting(text: str, owner: str = "translate", param: str = "setting") -> tuple[Call, ...]:
    """Parse ``"framework:Name(args) + Name(args)"`` into calls with every argument bound.

    The framework prefix may be left out when the names belong to one framework only.
    Positional arguments bind in the framework's order (``keras:L2(0.01)`` is
    ``l2=0.01``); missing ones take the framework's defaults.

    Raises:
        ValueError: naming ``param`` of ``owner`` and listing what is supported.

    Example:
        >>> [c.spec(full=False) for c in parse_setting("keras:Adam(1e-3) + L2(1e-4)")]
        ['Adam(learning_rate=0.001)', 'L2(l2=0.0001)']
    """
    if not isinstance(text, str):
        raise fail(owner, param, "a str", text, wrong_type=True)
    framework, body = _prefix(text, owner, param)
    others = sorted(
        {m.lower() for m in re.findall(r"(?:^|\+)\s*(\w+)\s*:", body)} & set(FRAMEWORKS)
    )
    if others:
        expected = (
            f"one framework's setting: the prefix {framework}: applies to every term, so "
            f"write the {', '.join(others)} part as a setting of its own"
            if framework is not None
            else "one framework's setting, its prefix written once at the start "
            "('keras:L2(0.01) + SGD(learning_rate=0.1)')"
        )
        raise fail(owner, param, expected, text)
    try:
        parsed = [parse_spec(part, owner, param) for part in split_terms(body)]
    except ValueError:
        expected = (
            "a setting written framework:Name(args) with literal arguments, e.g. 'keras:L2(0.01)'"
        )
        raise fail(owner, param, expected, text) from None
    if framework is None:
        framework = _infer(text, [name for name, _, _ in parsed], owner, param)
    table = COMPONENTS[framework]
    calls = []
    for name, args, kwargs in parsed:
        if name not in table:
            listed = ", ".join(table)
            raise fail(owner, param, f"a {framework} setting, one of: {listed}", text)
        calls.append(_bind(framework, name, args, kwargs, text, owner, param))
    _check_combination(calls, text, owner, param)
    return tuple(calls)


def _prefix(text: str, owner: str, param: str) -> tuple[str | None, str]:
    head, sep, rest = text.partition(":")
    if not sep or not head.strip().isidentifier():
        return None, text
    framework = head.strip().lower()
    if framework not in FRAMEWORKS:
        expected = "a setting written framework:Name(args), framework one of " + ", ".join(
            repr(f) for f in FRAMEWORKS
        )
        raise fail(owner, param, expected, text)
    return framework, rest


def _infer(text: str, names: list[str], owner: str, param: str) -> str:
    candidates = [fw for fw in FRAMEWORKS if all(n in COMPONENTS[fw] for n in names)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        options = " or ".join(f"{fw}:{names[0]}" for fw in candidates)
        raise fail(owner, param, f"prefixed by its framework ({options})", text)
    listed = "; ".join(f"{fw}: {', '.join(t)}" for fw, t in COMPONENTS.items())
    raise fail(owner, param, f"a known setting written framework:Name(args) ({listed})", text)


def _bind(
    framework: str,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    text: str,
    owner: str,
    param: str,
) -> Call:
    comp = COMPONENTS[framework][name]
    names = [p for p, _ in comp.params]
    usage = f"a call using the parameters of {framework}:{name} ({', '.join(names) or 'none'})"
    if len(args) > len(names) or any(k not in names for k in kwargs):
        raise fail(owner, param, usage, text)
    values = dict(zip(names, args, strict=False))  # fewer args than names: checked above
    if any(k in values for k in kwargs):
        raise fail(owner, param, usage, text)
    values.update(kwargs)
    bound: dict[str, Any] = {}
    for p, default in comp.params:
        value = values.get(p, default)
        if value is REQUIRED:
            raise fail(owner, param, f"{usage}, giving {p}", text)
        bound[p] = _coerce(value, default, comp.rules.get(p))
    if comp.kind == "init":  # a scale or slope too large to draw with, as weightlab's own
        check_params(f"{framework}:{name}", bound, comp.rules)
    else:
        check(f"{framework}:{name}", bound, comp.rules)
    return Call(framework, name, tuple(bound.items()))


def _real_valued(rule: Any) -> bool:
    """A rule (or alternatives) that takes real numbers, so ``1`` means ``1.0``."""
    rules = rule if isinstance(rule, tuple) else (rule,)
    return any(isinstance(r, Interval) and not r.integer for r in rules)


def _coerce(value: Any, default: Any, rule: Any) -> Any:
    # "lr=1" is the float 1.0; betas written as a list are the pair they mean.
    if (isinstance(default, float) or _real_valued(rule)) and is_real(value):
        try:
            return float(value)
        except OverflowError:
            return value  # the table rejects it with the usual message
    if isinstance(value, list) and len(value) == 2:
        return tuple(float(v) if is_real(v) else v for v in value)
    if isinstance(value, tuple):
        return tuple(float(v) if is_real(v) else v for v in value)
    return value


def _check_combination(calls: list[Call], text: str, owner: str, param: str) -> None:
    kinds = [c.component.kind for c in calls]
    alone = [k for k in kinds if k in ("init", "dropout")]
    if alone and len(calls) > 1:
        raise fail(
            owner,
            param,
            f"a single {alone[0]} setting (only optimizers, penalties and steps combine with '+')",
            text,
        )
    if kinds.count("optimizer") > 1:
        raise fail(owner, param, "a setting with at most one optimizer", text)
    names = [c.name for c in calls if c.framework == "weightlab"]
    if len(set(names)) != len(names):
        raise fail(owner, param, "a setting naming each weightlab term at most once", text)
    if "step" in kinds and any(c.name == "no_bias_correction" for c in calls):
        opt = [c for c in calls if c.component.kind == "optimizer"]
        if not opt or opt[0].component.family != "adam":
            raise fail(owner, param, "no_bias_correction() combined with an Adam optimizer", text)


def meaning_of(calls: Sequence[Call], owner: str = "translate", param: str = "setting") -> Meaning:
    """The canonical meaning of parsed calls (see :mod:`weightlab.interop.translate`).

    Example:
        >>> meaning_of(parse_setting("keras:L2(0.01)")).coupled
        Amount(kernel=0.02, bias=0.0)
    """
    first = calls[0].component
    if first.kind == "init":
        assert first.init is not None
        return first.init(dict(calls[0].args))
    if first.kind == "dropout":
        args = dict(calls[0].args)
        if first.meaning is None:
            return DropoutMeaning(float(calls[0].args[0][1]), args.get("mode", "inverted"))
        return _part(calls[0], DropoutMeaning, owner, param)
    meaning = UpdateMeaning()
    for call in calls:
        meaning = _add(meaning, call, owner, param)
    if meaning.steps:
        steps = _normalized(meaning.steps, "step", calls, owner, param)
        meaning = replace(meaning, steps=steps)
    if meaning.penalties:
        penalties = _normalized(meaning.penalties, "penalty", calls, owner, param)
        meaning = replace(meaning, penalties=penalties)
    for term in ("coupled", "decoupled", "l1"):
        amount = meaning.term(term)
        if amount and amount.bias not in (0.0, amount.kernel):
            text = f"{calls[0].framework}:" + " + ".join(c.spec(False) for c in calls)
            raise fail(
                owner,
                param,
                f"a setting whose {term} term is the same on kernels and biases, or on "
                "kernels only",
                text,
            )
    return meaning


_Part = TypeVar("_Part", UpdateMeaning, DropoutMeaning)


def _part(call: Call, kind: type[_Part], owner: str, param: str) -> _Part:
    """The meaning a row declares from its arguments, which must be of ``kind``."""
    comp = call.component
    assert comp.meaning is not None
    part = comp.meaning(dict(call.args))
    if not isinstance(part, kind):
        what = "update" if kind is UpdateMeaning else "dropout"
        expected = (
            f"a setting the translator has a meaning for ({call.framework}:"
            f"{call.spec(False)} has no {what} meaning it can write)"
        )
        raise fail(owner, param, expected, _text(call))
    return part


def _text(call: Call) -> str:
    return f"{call.framework}:{call.spec(False)}"


def _normalized(
    terms: tuple[str, ...], what: str, calls: Sequence[Call], owner: str, param: str
) -> tuple[str, ...]:
    """Steps or penalties as the registry prints them, in its order, each term at most
    once."""
    try:
        return tuple(str(t) for t in parse_regularization("+".join(terms)))
    except ValueError:
        text = f"{calls[0].framework}:" + " + ".join(c.spec(False) for c in calls)
        expected = f"a setting with each weightlab {what} at most once"
        raise fail(owner, param, expected, text) from None


def _add(meaning: UpdateMeaning, call: Call, owner: str, param: str) -> UpdateMeaning:
    comp, args = call.component, dict(call.args)
    if comp.meaning is not None:
        return meaning + _part(call, UpdateMeaning, owner, param)
    changes: dict[str, Any] = dict(comp.sets)
    if comp.family is not None:
        changes.update(optimizer=comp.family, eps_hat=comp.eps_hat or meaning.eps_hat)
        for p, name in comp.fields.items():
            if p not in args:
                continue
            value = args[p]
            if name == "betas":
                changes.update(beta1=value[0], beta2=value[1])
            elif name == "lr":
                changes["lr"] = None if value == LR else value
            else:
                changes[name] = value
        if "bias_correction" in changes and not changes["bias_correction"]:
            changes["eps_hat"] = True
    if not meaning.bias_correction:
        changes["bias_correction"] = False
        changes["eps_hat"] = True
    scope = args.get("on", "all")
    for knob in comp.knobs:
        value = args[knob.param] or 0.0
        term = knob.term
        if call.framework == "torch" and decouples(call):
            term = "decoupled"
        changes[term] = changes.get(term, meaning.term(term)) + Amount.on(
            knob.factor * value, scope
        )
    return replace(meaning, **changes)
