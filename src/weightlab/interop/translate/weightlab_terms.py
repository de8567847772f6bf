"""weightlab's own settings, read from its registries: the variance-scaling initializers
and the regularization terms.

Every registered scheme that declares a variance (see
:meth:`weightlab.init.Scheme.variance`) is a row here, and its meaning is that
declaration.  Every registered regularization term is a row too, with the term's own
parameters, defaults and validation (its ``Param`` table), and its meaning is the term's
canonical meaning (:meth:`weightlab.regularize.Term.canonical`): ``l1``, ``coupled`` and
``decoupled`` amounts on kernels only (weightlab regularizes the weights
:func:`~weightlab.regularize.select_params` picks, not biases), a dropout layer, or
``step``: something no framework has built in, which every target writes with
weightlab's adapter for that framework, an update rule for a rule term and a loss term
for a penalty term (a group lasso).  An active term that declares no meaning at all
(``Canonical()``) is read the same way: whatever a rule or penalty does, weightlab's
adapter runs its registered arithmetic.  Nothing about a term is restated here, so a
term registered later (in weightlab or in your own code) translates as it is.

The rows are read from the registries at each use (:class:`_Rows`), and the adapter rows
the other frameworks share (``weightlab_rules``, ``weightlab_penalty``,
``weightlab_dropout``) are built here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from weightlab._validate import Constraint, Instance, OneOf
from weightlab.init.schemes import REGISTRY as SCHEMES
from weightlab.init.schemes import VarianceRule
from weightlab.interop.translate.components import REQUIRED, Call, Component, Kind
from weightlab.interop.translate.meanings import (
    Amount,
    DropoutMeaning,
    InitMeaning,
    Meaning,
    UpdateMeaning,
)
from weightlab.interop.translate.shared_terms import _dropout_line
from weightlab.interop.translate.show import _clean, _kwargs
from weightlab.regularize.registry import REGISTRY as TERMS
from weightlab.regularize.registry import REQUIRED as TERM_REQUIRED
from weightlab.regularize.registry import (
    Canonical,
    Param,
    Term,
    TermEntry,
    make_term,
    parse_regularization,
    terms_of_kind,
)

__all__ = ["spec_of", "term_for", "term_of"]


# ---------------------------------------------------------------------------
# Initializers.


def _init_meaning(rule: VarianceRule) -> Callable[[Mapping[str, Any]], InitMeaning]:
    """The translator's meaning of a declared ``(scale, mode, distribution)``."""

    def meaning(args: Mapping[str, Any]) -> InitMeaning:
        scale, mode, distribution = rule(args)
        return InitMeaning(distribution, scale, mode)

    return meaning


def _init_row(name: str, rule: VarianceRule) -> Component:
    entry = SCHEMES[name]
    params = tuple((p.name, p.default) for p in entry.signature.parameters.values())
    return Component(
        "init",
        params,
        dict(entry.table),
        entry.summary,
        lambda call, calls: [
            f"weightlab.init.{call.name}_(w{_sep(call)}{_kwargs(call.changed())})"
        ],
        init=_init_meaning(rule),
    )


def _sep(call: Call) -> str:
    return ", " if call.changed() else ""


# ---------------------------------------------------------------------------
# Regularization terms: their meaning.


def term_of(call: Call) -> Term:
    """The registered term a weightlab call names, with its bound arguments."""
    return make_term(call.name, **dict(call.args))


def _term_meaning(term: Term) -> Meaning | None:
    """The translator's meaning of one term's :class:`Canonical` (None: it has none the
    translator can write, such as a rule or penalty that declares a dropout).

    ``step``, or no meaning at all on an active term, is "weightlab's adapter": a rule
    becomes a step, a penalty a loss term, each run by its registered arithmetic."""
    if term.kind == "layer":
        declared = term.entry.canonical(term.kwargs())  # dropout(0) still names its mode
        return None if declared.dropout is None else DropoutMeaning(*declared.dropout)
    c = term.canonical()
    if c.step or (term.active and c == Canonical()):
        if term.kind == "rule":
            return UpdateMeaning(steps=(str(term),))
        return UpdateMeaning(penalties=(str(term),))
    if c.dropout is not None:
        return None
    return UpdateMeaning(coupled=Amount(c.coupled), decoupled=Amount(c.decoupled), l1=Amount(c.l1))


def _update_meaning(terms: Sequence[Term]) -> UpdateMeaning | None:
    """The update meanings of several terms, added (None if one has none)."""
    total = UpdateMeaning()
    for term in terms:
        meaning = _term_meaning(term)
        if not isinstance(meaning, UpdateMeaning):
            return None
        total = total + meaning
    return total


def spec_of(terms: Sequence[str]) -> str:
    """Terms as one spec string, in the registry's order (rules then run in stage order:
    decay, then L1, then norm constraints)."""
    return str(parse_regularization("+".join(terms)))


# ---------------------------------------------------------------------------
# Regularization terms: the rows.


def _term_row(entry: TermEntry) -> Component:
    kind: Kind = "dropout" if entry.layer else "regularizer" if entry.penalty else "step"
    return Component(
        kind,
        tuple(
            (p.name, REQUIRED if p.default is TERM_REQUIRED else p.default) for p in entry.params
        ),
        entry.table,
        entry.summary,
        _term_code,
        meaning=lambda args: _term_meaning(make_term(entry.name, **args)),
    )


_WEIGHTS = "weights = [p for _, p in weightlab.regularize.select_params(model)]"


def _term_code(call: Call, calls: Sequence[Call]) -> list[str]:
    """weightlab's torch code: the layer, or one line for all penalties and one for all
    rules of the setting (rules chain in stage order), after the kernels' list."""
    term = term_of(call)
    if term.kind == "layer":
        p, mode = term.entry.canonical(term.kwargs()).dropout or (0.0, "inverted")
        return [_dropout_line("weightlab.regularize.", "p", p, mode)]
    mine = [term_of(c) for c in calls if c.framework == "weightlab"]
    same = [t for t in mine if t.kind == term.kind]
    if term != same[0]:
        return []  # the first term of its kind writes them all
    spec = str(parse_regularization("+".join(str(t) for t in same)))
    lines = [_WEIGHTS] if term == mine[0] else []
    if term.kind == "penalty":
        return [*lines, _torch_penalty_line(spec)]
    return [*lines, _torch_rules_line(spec)]


def _torch_rules_line(spec: str) -> str:
    """torch's adapter for rule terms, on the kernels' list ``weights``."""
    rule = f"weightlab.regularize.parse_regularization({spec!r}).rule()"
    return f"optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, {rule}, weights)"


def _torch_penalty_line(spec: str) -> str:
    """torch's adapter for penalty terms, on the kernels' list ``weights``."""
    reg = f"weightlab.regularize.parse_regularization({spec!r})"
    return f"loss = loss + {reg}.penalty(weights)"


_ADAPTER_ROWS = ("weightlab_rules", "weightlab_penalty")


def _torch_weights(call: Call, calls: Sequence[Call]) -> list[str]:
    """The kernels' list, written by the first of torch's adapter rows."""
    first = next(c for c in calls if c.name in _ADAPTER_ROWS)
    return [_WEIGHTS] if call is first else []


def _torch_rules(call: Call, calls: Sequence[Call]) -> list[str]:
    """The code of torch's ``weightlab_rules`` row."""
    return [*_torch_weights(call, calls), _torch_rules_line(call.arg("spec"))]


def _torch_penalties(call: Call, calls: Sequence[Call]) -> list[str]:
    """The code of torch's ``weightlab_penalty`` row."""
    return [*_torch_weights(call, calls), _torch_penalty_line(call.arg("spec"))]


# ---------------------------------------------------------------------------
# The adapter rows every framework has: steps, penalties and classic dropout.


@dataclass(frozen=True)
class _TermSpec(Constraint):
    """A spec string of registered terms of ``kind`` joined by '+'.  A string the
    registry refuses raises the registry's own error (which term or parameter is wrong),
    naming ``owner``'s ``spec``."""

    owner: str
    kind: str

    def type_ok(self, value: object) -> bool:
        return isinstance(value, str)

    def value_ok(self, value: Any) -> bool:
        terms_of_kind(value, self.kind, owner=self.owner, param="spec")
        return True

    def describe(self) -> str:
        names = ", ".join(n for n, e in TERMS.items() if self.kind in e.kinds())
        return f"weightlab {self.kind} terms ({names}) joined by '+'"


def _spec_meaning(args: Mapping[str, Any]) -> Meaning | None:
    return _update_meaning(parse_regularization(args["spec"]).terms)


def _rules_row(framework: str, code: Callable[[Call, Sequence[Call]], list[str]]) -> Component:
    """``weightlab_rules(spec)``: registered rule terms applied by weightlab's adapter
    after each optimizer step, on the kernels."""
    return Component(
        "step",
        (("spec", REQUIRED),),
        {"spec": _TermSpec(f"{framework}:weightlab_rules", "rule")},
        "weightlab's adapter: registered update rules after each optimizer step, on kernels",
        code,
        meaning=_spec_meaning,
    )


def _penalty_row(framework: str, code: Callable[[Call, Sequence[Call]], list[str]]) -> Component:
    """``weightlab_penalty(spec)``: registered penalty terms added to the loss by
    weightlab's adapter, on the kernels."""
    return Component(
        "regularizer",
        (("spec", REQUIRED),),
        {"spec": _TermSpec(f"{framework}:weightlab_penalty", "penalty")},
        "weightlab's adapter: registered penalties added to the loss, on kernels",
        code,
        meaning=_spec_meaning,
    )


# ---------------------------------------------------------------------------
# The inverse: the registered term whose canonical meaning is a given one.


def term_for(needed: Canonical) -> Term | None:
    """The registered term whose canonical meaning is ``needed`` (one amount, or one
    dropout), preferring the term with the fewest parameters away from their defaults:
    ``Canonical(coupled=0.02)`` is ``l2(0.02)`` rather than ``l2(0.01,
    convention='sum_sq')``, ``Canonical(l1=0.001)`` is ``l1(0.001, rule='penalty')``.

    The search reads only the registry: each real-valued parameter of each term is tried
    as the amount (the needed value, then rescaled once for a term linear in it), with
    every option of its choices; None where no term means exactly ``needed``."""
    value = needed.dropout[0] if needed.dropout else needed.l1 + needed.coupled + needed.decoupled
    found = []
    for position, entry in enumerate(TERMS.values()):
        for amount in (p for p in entry.params if p.numeric):
            for others in _choices(entry, amount):
                term = _solve(entry, amount.name, others, value, needed)
                if term is not None:
                    changed = sum(
                        others[p.name] != p.default for p in entry.params if p is not amount
                    )
                    found.append(((changed, position), term))
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _choices(entry: TermEntry, amount: Param) -> Iterator[dict[str, Any]]:
    """Every combination of the other parameters: each option of a choice, the default
    of anything else (none where a parameter has no default)."""
    options: list[list[tuple[str, Any]]] = []
    for p in entry.params:
        if p is amount:
            continue
        if isinstance(p.rule, OneOf):
            options.append([(p.name, o) for o in p.rule.options])
        elif isinstance(p.rule, Instance) and p.rule.types == (bool,):
            options.append([(p.name, True), (p.name, False)])
        elif p.default is not TERM_REQUIRED:
            options.append([(p.name, p.default)])
        else:
            return
    for combination in itertools.product(*options):
        yield dict(combination)


def _solve(
    entry: TermEntry, name: str, others: dict[str, Any], value: float, needed: Canonical
) -> Term | None:
    tried = value
    for _ in range(2):
        try:
            term = make_term(entry.name, **others, **{name: tried})
        except (ValueError, TypeError):
            return None
        got = term.canonical()
        if _same(got, needed):
            return term
        scale = got.dropout[0] if got.dropout else got.l1 + got.coupled + got.decoupled
        if not scale or math.isclose(scale, tried):
            return None
        tried = _clean(value * tried / scale)
    return None


def _same(a: Canonical, b: Canonical) -> bool:
    amounts = all(
        math.isclose(getattr(a, f), getattr(b, f), rel_tol=1e-9, abs_tol=1e-15)
        for f in ("l1", "coupled", "decoupled")
    )
    if (a.dropout is None) != (b.dropout is None) or a.step != b.step:
        return False
    if a.dropout is not None and b.dropout is not None:
        amounts = (
            amounts and math.isclose(a.dropout[0], b.dropout[0]) and a.dropout[1] == b.dropout[1]
        )
    return amounts


# ---------------------------------------------------------------------------
# The table, read from both registries at each use.


class _Rows(Mapping[str, Component]):
    """weightlab's rows: the variance-scaling initializers, then the regularization
    terms, rebuilt whenever either registry changes (a term registered after import
    translates too)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] = ()
        self._rows: dict[str, Component] = {}

    def _table(self) -> dict[str, Component]:
        # The entries themselves, not their ids: a held entry's id cannot be reused.
        key = (tuple(SCHEMES.items()), tuple(TERMS.items()))
        if key != self._key:
            inits = {
                name: _init_row(name, entry.variance)
                for name, entry in SCHEMES.items()
                if entry.variance is not None
            }
            terms = {name: _term_row(entry) for name, entry in TERMS.items() if name not in inits}
            self._rows, self._key = {**inits, **terms}, key
        return self._rows

    def __getitem__(self, name: str) -> Component:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


_WEIGHTLAB = _Rows()
