"""The term registry: parsing, canonical forms, kinds, arithmetic, and what it refuses."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weightlab._validate import REAL, STRENGTH, OneOf
from weightlab.regularize import (
    REGISTRY,
    STACKED,
    TORCH,
    Canonical,
    Param,
    Term,
    elastic_net,
    make_term,
    parse_regularization,
    parse_term,
    register,
    term_names,
)
from weightlab.regularize.registry import REQUIRED

# ---------------------------------------------------------------------------
# Strategies: any valid term of the registry.


def _value(param: Param) -> st.SearchStrategy[Any]:
    rule = param.rule
    if isinstance(rule, OneOf):
        return st.sampled_from(rule.options)
    if param.numeric:
        low = max(rule.low, 0.0) if math.isfinite(rule.low) else -10.0  # type: ignore[attr-defined]
        high = min(rule.high, 10.0)  # type: ignore[attr-defined]
        values = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return values.filter(lambda v: rule.value_ok(v))
    return st.booleans()


@st.composite
def terms(draw: st.DrawFn, names: tuple[str, ...] | None = None) -> Term:
    name = draw(st.sampled_from(names or term_names()))
    params = {p.name: draw(_value(p)) for p in REGISTRY[name].params}
    return make_term(name, **params)


# ---------------------------------------------------------------------------
# Strings.


@settings(max_examples=200, deadline=None)
@given(terms())
def test_every_term_parses_back_from_its_string(term: Term) -> None:
    assert parse_term(str(term)) == term
    assert parse_regularization(str(term)).terms == (term,)


@settings(max_examples=100, deadline=None)
@given(st.lists(terms(), min_size=1, max_size=4, unique_by=lambda t: t.name))
def test_every_combination_parses_back_in_registration_order(chosen: list[Term]) -> None:
    reg = parse_regularization("+".join(str(t) for t in reversed(chosen)))
    order = list(REGISTRY)
    assert [t.name for t in reg.terms] == sorted((t.name for t in chosen), key=order.index)
    assert parse_regularization(str(reg)) == reg


def test_canonical_forms() -> None:
    assert str(parse_regularization("none")) == "none"
    assert parse_regularization("l2(1e-3)") == parse_regularization(
        "l2(strength=0.001, convention=half_sum_sq)"
    )
    assert str(parse_regularization("dropout(0.3)+l1(1e-4, rule=clip)")) == (
        "l1(0.0001, rule='clip')+dropout(0.3)"
    )
    assert str(parse_term("l2(1e+3)")) == "l2(1000)"  # a '+' inside a literal stays
    assert str(parse_term("l1(0.123456789)")) == "l1(0.123456789)"  # no digits lost
    assert parse_term("l2(1)") == parse_term("l2(1.0)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "l3(1)",
            "The 'regularization' parameter of regularization must be one of 'none', "
            + ", ".join(repr(n) for n in REGISTRY)
            + ". Got 'l3'.",
        ),
        ("l2(-1)", "The 'strength' parameter of l2 must be a float >= 0. Got -1.0."),
        ("dropout(1.0)", "The 'p' parameter of dropout must be a float in [0, 1). Got 1.0."),
        ("max_norm(0)", "The 'max_value' parameter of max_norm must be a float > 0. Got 0.0."),
        (
            "l1(1e-4, rule=lasso)",
            "The 'rule' parameter of l1 must be one of 'subgradient', 'clip', 'proximal', "
            "'penalty'. Got 'lasso'.",
        ),
        (
            "l2()",
            "The 'regularization' parameter of regularization must be l2 with its strength "
            "given. Got 'l2()'.",
        ),
        (
            "l2(1, 2, 3)",
            "The 'regularization' parameter of regularization must be a call using the "
            "parameters of l2 (strength, convention). Got 'l2(1, 2, 3)'.",
        ),
        (
            "l2(1e-3)+l2(1e-2)",
            "The 'regularization' parameter of regularization must be each term at most "
            "once. Got 'l2(1e-3)+l2(1e-2)'.",
        ),
        (
            "none+l2(1)",
            "The 'regularization' parameter of regularization must be 'none' on its own. "
            "Got 'none'.",
        ),
        ("l2(1e-3", "The 'regularization' parameter of regularization must be a name or a call"),
        (
            "decoupled_decay(0.1, lr_scaled=1)",
            "The 'lr_scaled' parameter of decoupled_decay must be a bool. Got 1.",
        ),
    ],
)
def test_bad_strings_name_the_parameter(text: str, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        parse_regularization(text)


def test_a_non_string_is_refused() -> None:
    with pytest.raises(TypeError, match=r"must be a string such as 'l2\(1e-3\)'\. Got 3\."):
        parse_regularization(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Kinds, order and meaning.


def test_kinds_follow_the_parameters() -> None:
    assert parse_term("l1(0.1)").kind == "rule"
    assert parse_term("l1(0.1, rule=penalty)").kind == "penalty"
    assert parse_term("l2(0.1)").kind == "penalty"
    assert parse_term("dropout(0.1)").kind == "layer"
    assert parse_term("max_norm(2)").kind == "rule"
    for entry in REGISTRY.values():
        assert entry.kinds(), entry.name
        assert entry.doc and entry.summary, entry.name


def test_rules_run_by_stage_whatever_the_written_order() -> None:
    reg = parse_regularization("max_norm(1)+l1(0.1, rule=clip)+decoupled_decay(0.5)")
    assert [t.name for t in reg.rules] == ["decoupled_decay", "l1", "max_norm"]
    w = torch.tensor([[3.0, -4.0], [0.02, 0.01]])
    rule = reg.rule()
    assert rule is not None
    by_hand = make_term("max_norm", max_value=1.0).rule()(
        w, make_term("l1", strength=0.1, rule="clip").rule()(w, w - 0.1 * 0.5 * w, 0.1), 0.1
    )
    assert torch.equal(rule(w, w, 0.1), by_hand)


def test_inactive_terms_change_nothing() -> None:
    reg = parse_regularization("l1(0, rule=clip)+l2(0)+decoupled_decay(0)+dropout(0)")
    assert reg.rules == () and reg.penalties == () and reg.layers == ()
    assert reg.rule() is None and reg.penalty([torch.ones(2)]) is None
    assert reg.dropout == (0.0, "inverted")
    assert reg.canonical() == Canonical()


def test_penalties_add_up_in_registration_order() -> None:
    reg = parse_regularization("l2(0.2)+l1(0.1, rule=penalty)")
    w = [torch.tensor([1.0, -2.0]), torch.tensor([[0.5]])]
    want = elastic_net(w, 0.1, 1.0, convention="half_sum_sq") + elastic_net(
        w, 0.2, 0.0, convention="half_sum_sq"
    )
    assert torch.equal(reg.penalty(w), want)
    assert float(reg.penalty(w)) == pytest.approx(0.1 * 3.5 + 0.2 * 0.5 * 5.25)


def test_canonical_meanings() -> None:
    assert parse_regularization("l2(0.01, convention=sum_sq)").canonical() == Canonical(
        coupled=0.02
    )
    assert parse_term("elastic_net(0.1, l1_ratio=0.25)").canonical() == Canonical(
        l1=0.025, coupled=0.1 * 0.75
    )
    assert parse_term("decoupled_decay(0.1)").canonical() == Canonical(decoupled=0.1)
    assert parse_term("decoupled_decay(0.1, lr_scaled=False)").canonical().step
    assert parse_term("l1(0.1, rule=proximal)").canonical().step
    assert parse_term("dropout(0.2, mode=classic)").canonical().dropout == (0.2, "classic")
    assert parse_term("max_norm(3)").canonical().step


def test_labels_name_the_l1_rule() -> None:
    assert parse_term("l1(0.002)").label() == "l1(0.002) [proximal rule]"
    assert parse_term("l1(0.002, rule=penalty)").label() == "l1(0.002, rule='penalty')"
    assert parse_term("l2(0.01)").label() == "l2(0.01)"


# ---------------------------------------------------------------------------
# Arithmetic: one function serves one model and K stacked models.


@pytest.mark.parametrize("text", ["l1(0.1, rule=penalty)", "l2(0.3)", "elastic_net(0.2, 0.3)"])
def test_a_penalty_of_stacked_models_is_each_models_penalty(text: str) -> None:
    gen = torch.Generator().manual_seed(0)
    weights = [torch.randn(3, 4, 5, generator=gen), torch.randn(3, 5, 2, generator=gen)]
    term = parse_term(text)
    stacked = term.penalty(weights, STACKED).reshape(-1)
    for k in range(3):
        alone = term.penalty([w[k].T for w in weights], TORCH)
        assert float(stacked[k]) == pytest.approx(float(alone), rel=1e-6)


@pytest.mark.parametrize(
    "name", [n for n in term_names() if "rule" in REGISTRY[n].kinds()] or ["l1"]
)
def test_a_rule_of_stacked_models_with_per_model_strengths(name: str) -> None:
    gen = torch.Generator().manual_seed(1)
    entry = REGISTRY[name]
    static = {p.name: p.start for p in entry.params if not p.numeric}
    if name == "l1":
        static["rule"] = "clip"
    strengths = [0.5, 1.0, 2.0]
    numeric = {p.name: [p.start * s for s in strengths] for p in entry.params if p.numeric}
    prev = torch.randn(3, 4, 5, generator=gen)
    proposed = prev + 0.3 * torch.randn(3, 4, 5, generator=gen)
    lr = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64).reshape(3, 1, 1)
    tensors = {k: torch.tensor(v, dtype=torch.float64).reshape(3, 1, 1) for k, v in numeric.items()}
    assert entry.rule is not None
    stacked = entry.rule(STACKED, prev, proposed, lr, **static, **tensors)
    for k in range(3):
        term = make_term(name, **static, **{n: v[k] for n, v in numeric.items()})
        alone = term.rule(TORCH)(prev[k].T, proposed[k].T, float(lr[k]))
        assert torch.allclose(stacked[k].T, alone, rtol=1e-6, atol=1e-7), k


def test_max_norm_caps_every_units_incoming_norm_and_leaves_small_units() -> None:
    w = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    out = make_term("max_norm", max_value=2.0).rule()(w, w, 0.1)
    assert torch.allclose(out[0], torch.tensor([1.2, 1.6]))
    assert torch.equal(out[1:], w[1:])  # under the bound, and a zero unit: unchanged
    assert torch.equal(out, torch.renorm(w, 2, 0, 2.0))  # torch's own max-norm
    # Stacked [K, in, out]: a unit is a column.
    stacked = STACKED.unit_norm(w.T.unsqueeze(0))
    assert torch.allclose(stacked.reshape(-1), torch.tensor([5.0, 0.5, 0.0]))


def test_half_precision_penalties_are_summed_in_float32() -> None:
    w = torch.full((1000, 1000), 0.3, dtype=torch.float16)
    value = parse_term("l2(1.0, convention=sum_sq)").penalty([w])
    assert value.dtype == torch.float32
    assert float(value) == pytest.approx(1e6 * float(torch.tensor(0.3, dtype=torch.float16)) ** 2)


# ---------------------------------------------------------------------------
# Registering a term.


def test_register_refuses_what_it_cannot_use() -> None:
    def rule(ops: Any, prev: Any, proposed: Any, lr: Any, *, rate: float) -> Any:
        return proposed

    with pytest.raises(ValueError, match=r"'name' parameter of register must be a new identifier"):
        register(
            "l1",
            [Param("rate", STRENGTH, example=0.1)],
            rule=rule,
            canonical=lambda p: Canonical(step=True),
            effect="shrinkage",
        )
    with pytest.raises(ValueError, match=r"an example for the required 'rate'"):
        register(
            "pull_test",
            [Param("rate", STRENGTH)],
            rule=rule,
            canonical=lambda p: Canonical(step=True),
            effect="shrinkage",
        )
    with pytest.raises(ValueError, match=r"at least one of penalty, rule, layer"):
        register(
            "pull_test",
            [Param("rate", STRENGTH, example=0.1)],
            canonical=lambda p: Canonical(step=True),
            effect="shrinkage",
        )
    assert "pull_test" not in REGISTRY


def test_required_parameters_have_no_default() -> None:
    for entry in REGISTRY.values():
        for param in entry.params:
            if param.default is REQUIRED:
                assert param.example is not None
            assert param.rule.type_ok(param.start) and param.rule.value_ok(param.start)
    assert REAL.describe() == "a float (finite)"
