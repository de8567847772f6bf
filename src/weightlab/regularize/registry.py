"""The registry of regularization terms, and a run's regularization as parsed terms.

A *term* is one regularizer with bound parameters, written as a short string:
``l1(1e-3, rule=clip)``, ``l2(1e-4)``, ``dropout(0.3)``; a run's *regularization* is
``none`` or terms joined by ``+``.  Each registered term declares, once:

- its name and parameters, each with the validation rule the error messages quote;
- its kind: a ``penalty`` added to the loss, a ``rule`` applied to the weights after the
  optimizer's step, or a ``layer`` such as dropout (a term may choose its kind from its
  parameters: ``l1(λ, rule=penalty)`` is a penalty, ``l1(λ)`` a rule);
- its arithmetic, written once against :class:`~weightlab.regularize.arrays.ArrayOps`
  so that one torch model, K stacked models (strengths as ``[K, 1, 1]`` tensors), Keras
  and MLX all run the same code;
- its formula and paper (the docstring of its arithmetic);
- its canonical meaning for the translator (:class:`Canonical`);
- whether it branches on the sign of a weight, reads the weight from before the step,
  and can train in a stack.

Everything else derives from the registry: the spec parser, both training engines, the
Keras and MLX adapters, the translator's weightlab vocabulary, the lab's form and the
report's labels.  The built-in terms are in :mod:`weightlab.regularize.terms`; a new one
is a :func:`register` call there (or in your own code).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from weightlab._spec import parse_spec, split_terms
from weightlab._validate import (
    Constraint,
    Described,
    Instance,
    Interval,
    OneOf,
    check,
    error_summary,
    fail,
)
from weightlab.regularize.arrays import TORCH, ArrayOps

__all__ = [
    "REGISTRY",
    "REQUIRED",
    "Canonical",
    "Kind",
    "Param",
    "PenaltyFn",
    "Regularization",
    "RuleFn",
    "Term",
    "TermEntry",
    "WeightRule",
    "load_plugins",
    "make_term",
    "parse_regularization",
    "parse_term",
    "register",
    "term_names",
    "terms_of_kind",
]

Kind = Literal["penalty", "rule", "layer"]
KINDS: tuple[str, ...] = ("penalty", "rule", "layer")

WeightRule = Callable[[Any, Any, Any], Any]
"""``rule(prev, proposed, lr) -> new``: ``prev`` a weight before the optimizer's step,
``proposed`` after it, ``lr`` that weight's learning rate."""

PenaltyFn = Callable[..., Any]
"""``penalty(ops, weights, **params) -> total``: the loss term over a list of weights."""
RuleFn = Callable[..., Any]
"""``rule(ops, prev, proposed, lr, **params) -> new``."""
LayerFn = Callable[..., Any]
"""``layer(ops, x, keep, training, **params) -> y``: ``keep`` a boolean mask (None when
not training)."""


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()
"""Default of a parameter that must be given."""


@dataclass(frozen=True)
class Param:
    """One parameter of a term: its name, validation rule, default, and for a required
    parameter a typical value (``example``) that forms and examples start from."""

    name: str
    rule: Constraint
    default: Any = REQUIRED
    example: Any = None

    @property
    def start(self) -> Any:
        """The value a form starts from: the default, else the example."""
        return self.example if self.default is REQUIRED else self.default

    @property
    def numeric(self) -> bool:
        """A real number: stacked models may each have their own value (a tensor);
        other parameters (strings, bools) must agree within one computation."""
        return isinstance(self.rule, Interval) and not self.rule.integer

    def describe(self) -> str:
        """What the parameter must be, as the error messages say it."""
        return self.rule.describe()


@dataclass(frozen=True)
class Canonical:
    """A term in the translator's canonical terms (see
    :mod:`weightlab.interop.translate`), for weights ``w`` with data gradient ``g``:

    - ``l1``: ``g ← g + l1·sign(w)`` (the loss term ``l1·Σ|w|``);
    - ``coupled``: ``g ← g + c·w`` (the loss term ``(c/2)·Σw²``);
    - ``decoupled``: ``w ← w − lr·d·w`` beside the optimizer's step;
    - ``dropout``: ``(p, mode)`` of a dropout layer after each hidden activation;
    - ``step``: the term does something no framework has built in, which the translator
      writes with weightlab's adapter for the target framework, by the term's kind: a
      rule term is an update rule after each optimizer step (torch's and MLX's
      ``RegularizedOptimizer``, Keras' ``WeightRules.from_spec``), a penalty term a loss
      term (torch's ``parse_regularization(spec).penalty(weights)``, Keras'
      ``weightlab.keras.Penalty(spec)``, MLX's ``weightlab.mlx.penalty(spec)``), such as
      a group lasso ``λ·Σ_units ‖w_u‖₂``.

    An active rule or penalty whose meaning is ``Canonical()`` (none declared) is read
    as ``step``: whatever it does, weightlab's adapter runs its registered arithmetic.
    weightlab applies every term to the weights :func:`select_params` picks (kernels,
    not biases).
    """

    l1: float = 0.0
    coupled: float = 0.0
    decoupled: float = 0.0
    dropout: tuple[float, str] | None = None
    step: bool = False

    def __add__(self, other: Canonical) -> Canonical:
        return Canonical(
            self.l1 + other.l1,
            self.coupled + other.coupled,
            self.decoupled + other.decoupled,
            self.dropout or other.dropout,
            self.step or other.step,
        )


def _never(params: Mapping[str, Any]) -> bool:
    return False


def _always(params: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class TermEntry:
    """A registered term.  Built by :func:`register`; read by everything else.

    Attributes:
        name: the term's name in strings (``"l1"``).
        params: its parameters, in positional order.
        kind_of: ``params -> kind`` (``"penalty"``, ``"rule"`` or ``"layer"``).
        penalty: the loss term's arithmetic, for terms that can be penalties.
        rule: the update rule's arithmetic, for terms that can be rules.
        layer: the layer's arithmetic (dropout).
        doc: the formula and paper: the docstring of the arithmetic.
        stage: rules run by increasing stage (decay, then L1, then norm constraints),
            whatever order the string lists them in.
        active: ``params -> bool``; an inactive term (strength 0) changes nothing and
            is skipped by every engine.
        reads_prev: ``params -> bool``: the rule reads the weight from before the
            optimizer's step (engines keep a copy only when some rule does).
        branches_on_sign: ``params -> bool``: the arithmetic branches on the sign of a
            weight, so a weight within rounding of zero may go either way.
        canonical: ``params -> Canonical``, the meaning for the translator.
        effect: what the term does to the weights, for the report's groupings:
            ``"sparsity"``, ``"shrinkage"``, ``"constraint"`` or ``"noise"``.
        describe: ``params -> str``, the label figures show (default: the term's string).
        stack_problem: ``params -> str | None``: why runs with this term cannot train in
            a stack (None: they can, exactly as alone).
        scales: the layer's arithmetic multiplies its input elementwise by factors
            ``s ≥ 0`` that do not depend on it (``x ↦ x·s``, as dropout's ``m/(1 − p)``):
            its gradient is the same map applied to the gradient, and after a ReLU it
            leaves the output's zero pattern to say where the gradient flows, so the
            stacked engine applies it in place instead of splitting the stack.
        native: framework → ``(code, caveat)``: how a framework writes the term with its
            own objects, ``{param}`` placeholders filled from the term's parameters (the
            translator lists it beside weightlab's adapter); ``caveat`` says where the
            two differ ("" when they agree).
    """

    name: str
    params: tuple[Param, ...]
    kind_of: Callable[[Mapping[str, Any]], Kind]
    doc: str
    canonical: Callable[[Mapping[str, Any]], Canonical]
    effect: str
    penalty: PenaltyFn | None = None
    rule: RuleFn | None = None
    layer: LayerFn | None = None
    stage: int = 0
    active: Callable[[Mapping[str, Any]], bool] = _always
    reads_prev: Callable[[Mapping[str, Any]], bool] = _never
    branches_on_sign: Callable[[Mapping[str, Any]], bool] = _never
    describe: Callable[[Mapping[str, Any]], str] | None = None
    stack_problem: Callable[[Mapping[str, Any]], str | None] = lambda params: None
    scales: bool = False
    native: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """The first line of :attr:`doc`."""
        lines = self.doc.strip().splitlines()
        return lines[0] if lines else self.name

    @property
    def table(self) -> dict[str, Constraint]:
        """The validation table of the parameters."""
        return {p.name: p.rule for p in self.params}

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if p.default is not REQUIRED}

    def doc_of(self, kind: str) -> str:
        """The formula and paper of the term as ``kind``: the docstring of that
        arithmetic (``l1`` as a penalty and as a rule differ)."""
        fn = {"penalty": self.penalty, "rule": self.rule, "layer": self.layer}[kind]
        return inspect.cleandoc(fn.__doc__ or self.doc) if fn is not None else self.doc

    def kinds(self) -> tuple[str, ...]:
        """Every kind the term can take."""
        return tuple(
            k
            for k, fn in (("penalty", self.penalty), ("rule", self.rule), ("layer", self.layer))
            if fn is not None
        )


REGISTRY: dict[str, TermEntry] = {}
"""Every registered term by name, in registration order (the order terms print in)."""


def register(
    name: str,
    params: Sequence[Param],
    *,
    canonical: Callable[[Mapping[str, Any]], Canonical],
    effect: str,
    penalty: PenaltyFn | None = None,
    rule: RuleFn | None = None,
    layer: LayerFn | None = None,
    kind_of: Callable[[Mapping[str, Any]], Kind] | None = None,
    stage: int = 0,
    active: Callable[[Mapping[str, Any]], bool] = _always,
    reads_prev: Callable[[Mapping[str, Any]], bool] = _never,
    branches_on_sign: Callable[[Mapping[str, Any]], bool] = _never,
    describe: Callable[[Mapping[str, Any]], str] | None = None,
    stack_problem: Callable[[Mapping[str, Any]], str | None] | None = None,
    scales: bool = False,
    native: Mapping[str, tuple[str, str]] | None = None,
) -> TermEntry:
    """Register a term; its docstring is that of its arithmetic (``penalty``, ``rule``
    or ``layer``, the first given).

    ``kind_of`` is needed only when a term has more than one arithmetic (``l1`` is a
    penalty or a rule depending on its ``rule`` parameter).

    Example (a term that pulls every weight toward a constant ``target`` after each step;
    see README's "add your own regularizer")::

        def pull(ops, prev, proposed, lr, *, rate, target):
            '''Pull toward ``target``: ``w ← w − lr·rate·(w − target)``.'''
            return proposed - ops.coef(lr * rate, proposed) * (proposed - target)

        register("pull", [Param("rate", STRENGTH), Param("target", REAL, 0.0)],
                 rule=pull, canonical=lambda p: Canonical(step=True), effect="shrinkage")
    """
    fns = [f for f in (penalty, rule, layer) if f is not None]
    if not name.isidentifier() or name in ("none", *REGISTRY):
        raise fail("register", "name", "a new identifier other than 'none'", name)
    if not fns:
        raise fail("register", "penalty", "at least one of penalty, rule, layer", Described("none"))
    for param in params:
        if param.start is None:
            raise fail("register", "params", f"an example for the required {param.name!r}", None)
        check(name, {param.name: param.start}, {param.name: param.rule})
    if kind_of is None:
        if len(fns) > 1:
            raise fail("register", "kind_of", "a function for a term of two kinds", None)
        only: Kind = "penalty" if penalty is not None else "rule" if rule is not None else "layer"

        def kind_of(params: Mapping[str, Any]) -> Kind:
            return only

    entry = TermEntry(
        name=name,
        params=tuple(params),
        kind_of=kind_of,
        doc=inspect.cleandoc(fns[0].__doc__ or name),
        canonical=canonical,
        effect=effect,
        penalty=penalty,
        rule=rule,
        layer=layer,
        stage=stage,
        active=active,
        reads_prev=reads_prev,
        branches_on_sign=branches_on_sign,
        describe=describe,
        stack_problem=stack_problem or (lambda params: None),
        scales=scales,
        native=dict(native or {}),
    )
    REGISTRY[name] = entry
    return entry


PLUGIN_GROUP = "weightlab.terms"
"""The entry-point group of packages that register terms of their own."""


def load_plugins() -> list[str]:
    """Import every module registered under the ``weightlab.terms`` entry-point group
    (each registers its terms when imported), once per process; returns their names.

    A package declares its module in ``pyproject.toml``::

        [project.entry-points."weightlab.terms"]
        group_lasso = "my_package.terms"

    so that its terms are known wherever weightlab runs: the CLI, the lab, worker
    processes and Ray workers.  A module that fails to import is reported with the
    library's error format, naming the entry point.
    """
    from importlib.metadata import entry_points

    loaded = []
    for point in entry_points(group=PLUGIN_GROUP):
        if point.name in _LOADED:
            continue
        try:
            point.load()
        except Exception as error:  # a user's module: name it and say what failed
            got = Described(f"{point.value!r}, which failed: {error_summary(error)}")
            raise fail("load_plugins", point.name, "an importable module", got) from error
        _LOADED.add(point.name)
        loaded.append(point.name)
    return loaded


_LOADED: set[str] = set()


def term_names() -> tuple[str, ...]:
    """Every registered term's name, in registration order."""
    return tuple(REGISTRY)


# ---------------------------------------------------------------------------
# Bound terms.


@dataclass(frozen=True)
class Term:
    """A registered term with every parameter bound (validated, defaults filled in):
    frozen, hashable, printable as the string it parses from.

    Example:
        >>> t = parse_term("l1(1e-3, rule=clip)")
        >>> t.kind, str(t), parse_term(str(t)) == t
        ('rule', "l1(0.001, rule='clip')", True)
    """

    name: str
    params: tuple[tuple[str, Any], ...]

    @property
    def entry(self) -> TermEntry:
        return REGISTRY[self.name]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def kind(self) -> Kind:
        return self.entry.kind_of(self.kwargs())

    @property
    def active(self) -> bool:
        """False when the term changes nothing (a strength of 0)."""
        return self.entry.active(self.kwargs())

    @property
    def reads_prev(self) -> bool:
        return self.active and self.entry.reads_prev(self.kwargs())

    @property
    def branches_on_sign(self) -> bool:
        return self.active and self.entry.branches_on_sign(self.kwargs())

    def canonical(self) -> Canonical:
        return self.entry.canonical(self.kwargs()) if self.active else Canonical()

    @property
    def doc(self) -> str:
        """The formula and paper of what this term does (its kind's arithmetic)."""
        return self.entry.doc_of(self.kind)

    def label(self) -> str:
        """What figures call the term (``l1(0.001) [proximal rule]``)."""
        describe = self.entry.describe
        return describe(self.kwargs()) if describe is not None else str(self)

    def penalty(self, weights: Sequence[Any], ops: ArrayOps = TORCH) -> Any:
        """The loss term over ``weights`` (a penalty term)."""
        fn = self.entry.penalty
        assert fn is not None and self.kind == "penalty"
        return fn(ops, weights, **self.kwargs())

    def rule(self, ops: ArrayOps = TORCH) -> WeightRule:
        """The update rule ``(prev, proposed, lr) -> new`` (a rule term)."""
        fn = self.entry.rule
        assert fn is not None and self.kind == "rule"
        params = self.kwargs()

        def bound(prev: Any, proposed: Any, lr: Any) -> Any:
            return fn(ops, prev, proposed, lr, **params)

        return bound

    def layer(self, ops: ArrayOps, x: Any, keep: Any, training: bool) -> Any:
        """The layer's output for ``x`` with keep mask ``keep`` (a layer term)."""
        fn = self.entry.layer
        assert fn is not None and self.kind == "layer"
        return fn(ops, x, keep, training, **self.kwargs())

    def __str__(self) -> str:
        """The first parameter positional, the others only where they differ from their
        defaults: ``l1(0.01)``, ``l2(0.001, convention='sum_sq')``."""
        values = self.kwargs()
        entry = self.entry
        if not entry.params:
            return self.name
        first = entry.params[0]
        parts = [_show(values[first.name])]
        parts += [
            f"{p.name}={_show(values[p.name])}"
            for p in entry.params[1:]
            if values[p.name] != p.default
        ]
        return f"{self.name}({', '.join(parts)})"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return (
            f"{value:g}" if math.isfinite(value) and float(f"{value:g}") == value else repr(value)
        )
    return repr(value)


def make_term(name: str, **params: Any) -> Term:
    """A term from keyword arguments, validated like a parsed string.

    Example:
        >>> str(make_term("l2", strength=0.01, convention="sum_sq"))
        "l2(0.01, convention='sum_sq')"
    """
    check("regularization", {"regularization": name}, {"regularization": OneOf(term_names())})
    return _bind(name, (), params, f"{name}(...)")


def parse_term(text: str) -> Term:
    """One term from its string (``"l2(1e-3)"``).  Unknown names and parameters raise
    ``ValueError`` listing the valid ones."""
    name, args, kwargs = parse_spec(text.strip(), "regularization", "regularization")
    check(
        "regularization",
        {"regularization": name},
        {"regularization": OneOf(("none", *term_names()))},
    )
    if name == "none":
        raise fail("regularization", "regularization", "'none' on its own", text)
    return _bind(name, args, kwargs, text.strip())


def _bind(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], text: str) -> Term:
    entry = REGISTRY[name]
    order = [p.name for p in entry.params]
    if len(args) > len(order) or set(kwargs) - set(order) or set(order[: len(args)]) & set(kwargs):
        raise fail(
            "regularization",
            "regularization",
            f"a call using the parameters of {name} ({', '.join(order) or 'none'})",
            text,
        )
    values = {**entry.defaults, **dict(zip(order, args, strict=False)), **kwargs}
    missing = [p for p in order if p not in values]
    if missing:
        raise fail("regularization", "regularization", f"{name} with its {missing[0]} given", text)
    values = {
        p.name: _coerce(values[p.name], p) for p in entry.params
    }  # "l2(1)" and "l2(1.0)" are one term
    check(name, values, entry.table)
    return Term(name, tuple((p, values[p]) for p in order))


def _coerce(value: Any, param: Param) -> Any:
    if param.numeric and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return value  # the table rejects it with the usual message
    return value


# ---------------------------------------------------------------------------
# A run's regularization.


@dataclass(frozen=True)
class Regularization:
    """Every regularizer of one run, as terms in registration order (each at most once).

    Example:
        >>> reg = parse_regularization("dropout(0.3)+l1(1e-4, rule=clip)")
        >>> str(reg), reg.dropout, [str(t) for t in reg.rules]
        ("l1(0.0001, rule='clip')+dropout(0.3)", (0.3, 'inverted'), ["l1(0.0001, rule='clip')"])
    """

    terms: tuple[Term, ...] = field(default=())

    def params(self, name: str) -> dict[str, Any] | None:
        """The parameters of term ``name``, or None when the run does not use it."""
        term = self.find(name)
        return None if term is None else term.kwargs()

    def find(self, name: str) -> Term | None:
        """The term called ``name``, or None."""
        return next((t for t in self.terms if t.name == name), None)

    def of_kind(self, kind: str) -> tuple[Term, ...]:
        """The active terms of ``kind``; rules in the order they run (by stage)."""
        found = [t for t in self.terms if t.active and t.kind == kind]
        return tuple(sorted(found, key=lambda t: t.entry.stage)) if kind == "rule" else tuple(found)

    @property
    def penalties(self) -> tuple[Term, ...]:
        return self.of_kind("penalty")

    @property
    def rules(self) -> tuple[Term, ...]:
        return self.of_kind("rule")

    @property
    def layers(self) -> tuple[Term, ...]:
        return self.of_kind("layer")

    @property
    def dropout(self) -> tuple[float, str]:
        """``(p, mode)`` of the layer term (dropout), ``(0.0, "inverted")`` without one."""
        for term in self.layers:
            meaning = term.canonical().dropout
            if meaning is not None:
                return meaning
        return 0.0, "inverted"

    @property
    def reads_prev(self) -> bool:
        return any(t.reads_prev for t in self.rules)

    @property
    def branches_on_sign(self) -> bool:
        return any(t.branches_on_sign for t in self.terms)

    def canonical(self) -> Canonical:
        """The terms' canonical meanings, added."""
        total = Canonical()
        for term in self.terms:
            total = total + term.canonical()
        return total

    def penalty(self, weights: Sequence[Any], ops: ArrayOps = TORCH) -> Any | None:
        """The loss terms over ``weights``, added in registration order (None when the
        run has none)."""
        total: Any | None = None
        for term in self.penalties:
            value = term.penalty(weights, ops)
            total = value if total is None else total + value
        return total

    def rule(self, ops: ArrayOps = TORCH) -> WeightRule | None:
        """The update rules chained in stage order (None when the run has none)."""
        rules = [t.rule(ops) for t in self.rules]
        if not rules:
            return None
        if len(rules) == 1:
            return rules[0]

        def chained(prev: Any, proposed: Any, lr: Any) -> Any:
            for rule in rules:
                proposed = rule(prev, proposed, lr)
            return proposed

        return chained

    def stack_problem(self) -> str | None:
        """Why runs with this regularization cannot train in a stack, or None."""
        for term in self.terms:
            problem = term.entry.stack_problem(term.kwargs()) if term.active else None
            if problem is not None:
                return f"{term.name}: {problem}"
        return None

    def __str__(self) -> str:
        return "+".join(str(t) for t in self.terms) if self.terms else "none"

    def __iter__(self) -> Any:
        return iter(self.terms)


def parse_regularization(text: str | Regularization) -> Regularization:
    """Parse ``"none"`` or terms joined by ``+``; each term's parameters are validated
    and defaults filled in, and terms are put in registration order, so equal settings
    give equal objects.

    Example:
        >>> str(parse_regularization("dropout(p=0.3, mode=classic)+l1(1e-4)"))
        "l1(0.0001)+dropout(0.3, mode='classic')"
    """
    if isinstance(text, Regularization):
        return text
    if not isinstance(text, str):
        raise fail(
            "regularization", "regularization", "a string such as 'l2(1e-3)'", text, wrong_type=True
        )
    if text.strip() in ("none", ""):
        return Regularization()
    terms = [parse_term(part) for part in split_terms(text)]
    names = [t.name for t in terms]
    if len(set(names)) != len(names):
        raise fail("regularization", "regularization", "each term at most once", text)
    position = {name: i for i, name in enumerate(REGISTRY)}
    return Regularization(tuple(sorted(terms, key=lambda t: position[t.name])))


def terms_of_kind(
    spec: object, kind: str, *, owner: str, param: str, one: bool = False
) -> Regularization:
    """The terms a spec string (or one :class:`Term`) names, every one of ``kind``; with
    ``one``, exactly one term.  For the adapters that take a spec where a framework
    takes a regularizer or an update rule.

    Example:
        >>> [str(t) for t in terms_of_kind("max_norm(3)+l1(1e-4)", "rule", owner="f", param="s")]
        ['l1(0.0001)', 'max_norm(3)']
    """
    if isinstance(spec, Term):
        found = Regularization((spec,))
    elif isinstance(spec, str):
        found = parse_regularization(spec)
    else:
        example = "+".join(_example(kind, 1 if one else 2))
        expected = f"a spec string such as {example!r} or a Term"
        raise fail(owner, param, expected, spec, wrong_type=True)
    names = ", ".join(n for n, entry in REGISTRY.items() if kind in entry.kinds())
    expected = f"a {kind} term ({names})" if one else f"{kind} terms ({names}) joined by '+'"
    for term in found.terms:
        if term.kind != kind:
            raise fail(owner, param, expected, Described(f"{str(term)!r}, a {term.kind} term"))
    if not found.terms or (one and len(found.terms) > 1):
        raise fail(owner, param, expected, str(spec))
    return found


def _example(kind: str, count: int) -> list[str]:
    """Up to ``count`` registered terms of ``kind`` with their starting parameters."""
    found = []
    for entry in REGISTRY.values():
        term = make_term(entry.name, **{p.name: p.start for p in entry.params})
        if term.kind == kind:
            found.append(str(term))
    return found[:count]


BOOL = Instance((bool,), "a bool")
"""The rule of a yes/no parameter."""
