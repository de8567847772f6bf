"""The translation table (exact values), the command line, and every bad input."""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from weightlab import cli
from weightlab._validate import ParameterError, ParameterTypeError
from weightlab.init import resolve, scheme_names
from weightlab.init.schemes import REGISTRY
from weightlab.interop.translate import (
    COMPONENTS,
    EPS_TOLERANCE,
    EXACT_TOLERANCE,
    KERAS_BACKENDS,
    Amount,
    DropoutMeaning,
    InitMeaning,
    UpdateMeaning,
    meaning_of,
    parse_setting,
    supported,
    translate,
)
from weightlab.interop.translate.components import REQUIRED
from weightlab.interop.translate.weightlab_terms import term_for
from weightlab.regularize import REGISTRY as TERMS
from weightlab.regularize import Canonical, Param, Term, make_term, register
from weightlab.regularize.registry import REQUIRED as TERM_REQUIRED

# ---------------------------------------------------------------------------
# The examples the translator exists for.


def test_keras_l2_to_torch_sgd_doubles_the_strength() -> None:
    t = translate("keras:L2(0.01)", to="torch:sgd")
    assert t.source == "keras:L2(l2=0.01)"
    assert t.target == "torch"
    assert t.settings == [
        "optimizer = torch.optim.SGD(weightlab.regularize.param_groups(model, weight_decay=0.02), lr=lr)"
    ]
    assert t.target_setting == "torch:SGD(lr=lr, weight_decay=0.02, on='kernels')"
    assert t.meaning == UpdateMeaning(coupled=Amount(0.02, 0.0))
    assert "c = 2·l2" in t.formula and "(weight_decay/2)·Σw²" in t.formula
    assert "momentum and Adam's moment estimates" in t.explanation
    assert t.exact and t.tolerance == EXACT_TOLERANCE and not t.caveats


def test_torch_adam_weight_decay_to_keras_is_an_l2_regularizer() -> None:
    t = translate("torch:Adam(weight_decay=1e-4)", to="keras")
    assert (
        t.target_setting
        == "keras:Adam(learning_rate=0.001, epsilon=1e-08) + L2(l2=5e-05, on='all')"
    )
    assert t.settings == [
        "optimizer = keras.optimizers.Adam(learning_rate=0.001, epsilon=1e-08)",
        "keras.layers.Dense(units, kernel_regularizer=keras.regularizers.L2(l2=5e-05), "
        "bias_regularizer=keras.regularizers.L2(l2=5e-05))",
    ]
    assert "No Keras optimizer option is coupled L2" in t.explanation
    assert not t.exact and t.tolerance == EPS_TOLERANCE
    assert any("ε sits in a different place" in c for c in t.caveats)


def test_torch_adamw_to_keras_adamw_states_the_eps_difference() -> None:
    t = translate("torch:AdamW(weight_decay=0.01)", to="keras")
    assert t.settings == [
        "optimizer = keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.01, epsilon=1e-08)"
    ]
    assert "Loshchilov & Hutter 2019" in t.explanation
    assert not t.exact and t.tolerance == EPS_TOLERANCE
    (caveat,) = t.caveats
    assert "lr·m̂/(√v̂ + ε̂/√(1 − β₂ᵗ))" in caveat and "31.6× at step 1" in caveat
    assert t.alternatives == [
        "optimizer.epsilon = 1e-08 * math.sqrt(1 - 0.999 ** t)  # before training step t = 1, 2, ...: exact"
    ]


def test_mlx_he_normal_is_lecun_scale_in_torch() -> None:
    t = translate("mlx:he_normal()", to="torch")
    assert t.settings == ["torch.nn.init.kaiming_normal_(w, nonlinearity='linear')"]
    assert t.alternatives == ["torch.nn.init.normal_(w, std=math.sqrt(1.0 / fan_in))"]
    assert t.meaning == InitMeaning("normal", 1.0, "fan_in")
    assert any("gain 1.0 by default" in c and "gain=math.sqrt(2)" in c for c in t.caveats)
    assert t.exact


def test_keras_glorot_normal_to_torch_needs_a_truncated_scheme() -> None:
    t = translate("keras:GlorotNormal()", to="torch")
    assert (
        t.target_setting
        == "weightlab:variance_scaling(mode='fan_avg', distribution='truncated_normal')"
    )
    assert t.settings == [
        "weightlab.init.variance_scaling_(w, mode='fan_avg', distribution='truncated_normal')"
    ]
    assert t.alternatives[0] == (
        "std = math.sqrt(1.0 / ((fan_in + fan_out) / 2)) / 0.8796256610342398; "
        "torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)"
    )
    assert t.alternatives[1].startswith("torch.nn.init.xavier_normal_(w)  # same variance")
    assert "torch has no truncated" in t.explanation
    assert any("four standard-normal draws" in c for c in t.caveats)


# ---------------------------------------------------------------------------
# weightlab's initializers: the translator reads the init registry's declarations.

DECLARED = [name for name in scheme_names() if REGISTRY[name].variance is not None]


def test_weightlab_inits_are_the_registry_s_variance_scaling_schemes() -> None:
    inits = [n for n, c in COMPONENTS["weightlab"].items() if c.kind == "init"]
    assert inits == DECLARED
    assert "orthogonal" not in inits and "lsuv" not in inits


@pytest.mark.parametrize(
    "spec",
    [
        *DECLARED,
        "xavier_normal(gain=1.7)",
        "he_uniform(a=0.5, mode=fan_out)",
        "he_normal(nonlinearity=tanh)",
        "lecun_uniform(gain=0.5)",
        "variance_scaling(scale=3.0, mode=fan_avg, distribution=truncated_normal)",
    ],
)
def test_weightlab_init_meaning_is_the_scheme_s_declaration(spec: str) -> None:
    declared = resolve(spec).variance()
    assert declared is not None
    meaning = meaning_of(parse_setting(f"weightlab:{spec}"))
    assert meaning == InitMeaning(declared.distribution, declared.scale, declared.mode)


# ---------------------------------------------------------------------------
# weightlab's regularization terms: rows, parameters and meanings from the registry.


def _choices(param: Param) -> tuple[Any, ...]:
    """The values a choice parameter offers besides its default (none for numbers)."""
    options = getattr(param.rule, "options", None)
    if getattr(param.rule, "types", None) == (bool,):
        options = (True, False)
    return tuple(o for o in options or () if o != param.default)


def registered_terms() -> list[Term]:
    """Every registered term at its parameters' ``start``, then once more for each other
    option of each of its choices (l1 with each rule, l2 with each convention, ...)."""
    found = []
    for entry in TERMS.values():
        start = {p.name: p.start for p in entry.params}
        found.append(make_term(entry.name, **start))
        found += [
            make_term(entry.name, **{**start, p.name: o}) for p in entry.params for o in _choices(p)
        ]
    return found


def test_weightlab_has_a_row_per_registered_term_with_its_params() -> None:
    rows = COMPONENTS["weightlab"]
    for name, entry in TERMS.items():
        row = rows[name]
        defaults = [REQUIRED if p.default is TERM_REQUIRED else p.default for p in entry.params]
        assert row.params == tuple(zip([p.name for p in entry.params], defaults, strict=True))
        assert dict(row.rules) == entry.table
        kind = "dropout" if entry.layer else "regularizer" if entry.penalty else "step"
        assert row.kind == kind
    assert list(rows)[-len(TERMS) :] == list(TERMS)
    assert set(TERMS) <= set(supported()["weightlab"])


@pytest.mark.parametrize("term", registered_terms(), ids=str)
def test_weightlab_term_meaning_is_its_canonical_meaning(term: Term) -> None:
    meaning = meaning_of(parse_setting(f"weightlab:{term}"))
    c = term.canonical()
    if term.kind == "layer":
        assert meaning == DropoutMeaning(*c.dropout)  # type: ignore[misc]
    elif c.step:
        assert meaning == UpdateMeaning(steps=(str(term),))
    else:  # kernels only: weightlab regularizes what select_params picks
        assert meaning == UpdateMeaning(
            coupled=Amount(c.coupled), decoupled=Amount(c.decoupled), l1=Amount(c.l1)
        )


def test_weightlab_settings_parse_as_regularization_specs() -> None:
    calls = parse_setting("weightlab:l2(0.01) + decoupled_decay(0.1)")
    assert [c.spec() for c in calls] == [
        "l2(strength=0.01, convention='half_sum_sq')",
        "decoupled_decay(rate=0.1, lr_scaled=True)",
    ]
    (call,) = parse_setting("l2(1)")  # only weightlab has l2; "1" is the float 1.0
    assert call.framework == "weightlab" and call.arg("strength") == 1.0
    m = meaning_of(parse_setting("weightlab:l2(0.01) + decoupled_decay(0.1)"))
    assert m == UpdateMeaning(coupled=Amount(0.01), decoupled=Amount(0.1))
    assert meaning_of(parse_setting("weightlab:dropout(0.5)")) == DropoutMeaning(0.5)
    m = meaning_of(parse_setting("weightlab:max_norm(2) + l1(0.01, rule=clip) + l2(0)"))
    assert m == UpdateMeaning(steps=("l1(0.01, rule='clip')", "max_norm(2)"))  # registry order


def test_steps_read_back_from_each_framework_s_adapter_setting() -> None:
    for framework in ("torch", "keras", "mlx"):
        calls = parse_setting(
            f"{framework}:weightlab_rules(spec='max_norm(2)+decoupled_decay(0.1)')"
        )
        # A rule with a canonical amount is that amount; the others are steps.
        assert meaning_of(calls) == UpdateMeaning(decoupled=Amount(0.1), steps=("max_norm(2)",))


@pytest.mark.parametrize("framework", ["keras", "torch", "mlx"])
def test_max_norm_is_weightlab_s_adapter_with_the_native_code_as_alternative(
    framework: str,
) -> None:
    t = translate("weightlab:max_norm(3)", framework)
    assert t.meaning == UpdateMeaning(steps=("max_norm(3)",))
    assert t.target_setting.endswith(" + weightlab_rules(spec='max_norm(3)')")
    adapter = {
        "torch": "optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, "
        "weightlab.regularize.parse_regularization('max_norm(3)').rule(), weights)",
        "keras": "model.fit(x, y, callbacks=[weightlab.keras.WeightRules.from_spec('max_norm(3)')])",
        "mlx": "optimizer = weightlab.mlx.RegularizedOptimizer(optimizer, 'max_norm(3)')",
    }[framework]
    assert t.settings[-1] == adapter
    native = TERMS["max_norm"].native.get(framework)
    if native is None:
        assert not t.alternatives and not t.caveats
    else:
        assert t.alternatives == [native[0].format(max_value="3.0")]
        assert t.caveats == [
            f"The alternative for max_norm(3), written with the framework's own objects: {native[1]}"
        ]
    first = TERMS["max_norm"].doc.split("\n\n")[0]
    assert (
        f"step max_norm(3), after each optimizer step, on kernels: {' '.join(first.split())}".replace(
            "``", ""
        )
        in t.formula.splitlines()
    )
    assert "Srivastava" in t.explanation and "no framework has built in" in t.explanation
    assert t.exact and t.tolerance == EXACT_TOLERANCE


def test_torch_writes_the_kernels_list_before_the_adapter() -> None:
    t = translate("weightlab:max_norm(3)", "torch")
    assert t.settings == [
        "optimizer = torch.optim.SGD(model.parameters(), lr=lr)",
        "weights = [p for _, p in weightlab.regularize.select_params(model)]",
        "optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, "
        "weightlab.regularize.parse_regularization('max_norm(3)').rule(), weights)",
    ]
    assert t.alternatives == [
        "with torch.no_grad(): w.copy_(torch.renorm(w, 2, 0, 3.0))  # after each optimizer.step()"
    ]


def test_weightlab_l2_is_keras_l2_of_half_the_strength() -> None:
    t = translate("weightlab:l2(0.01)", "keras")
    assert t.settings == [
        "optimizer = keras.optimizers.SGD(learning_rate=lr)",
        "keras.layers.Dense(units, kernel_regularizer=keras.regularizers.L2(l2=0.005))",
    ]
    assert "source weightlab:l2(0.01) means c = 0.01" in t.formula
    assert "L2 (ridge, weight decay in the gradient)" in t.explanation
    assert "select_params picks (kernels, not biases)" in t.explanation
    assert t.exact and not t.caveats


def test_keras_l2_to_weightlab_is_the_term_whose_canonical_meaning_it_is() -> None:
    t = translate("keras:L2(0.01)", "weightlab")
    assert t.target_setting == "weightlab:l2(strength=0.02)"
    assert t.settings == [
        "weights = [p for _, p in weightlab.regularize.select_params(model)]",
        "loss = loss + weightlab.regularize.parse_regularization('l2(0.02)').penalty(weights)",
    ]
    both = translate("keras:L1L2(l1=0.001, l2=0.01)", "weightlab")
    assert both.settings[1] == (
        "loss = loss + weightlab.regularize.parse_regularization("
        "\"l1(0.001, rule='penalty')+l2(0.02)\").penalty(weights)"
    )


def _single(c: Canonical) -> bool:
    """One amount or one dropout: what a single term can mean."""
    amounts = [f for f in ("l1", "coupled", "decoupled") if getattr(c, f)]
    return not c.step and len(amounts) + (c.dropout is not None) == 1


@pytest.mark.parametrize("term", [t for t in registered_terms() if _single(t.canonical())], ids=str)
def test_term_for_inverts_each_single_canonical_meaning(term: Term) -> None:
    found = term_for(term.canonical())
    assert found is not None and found.canonical() == term.canonical()


def test_term_for_prefers_defaults_and_finds_non_default_choices() -> None:
    assert str(term_for(Canonical(coupled=0.02))) == "l2(0.02)"
    assert str(term_for(Canonical(l1=0.001))) == "l1(0.001, rule='penalty')"
    assert str(term_for(Canonical(decoupled=0.1))) == "decoupled_decay(0.1)"
    assert str(term_for(Canonical(dropout=(0.3, "classic")))) == "dropout(0.3, mode='classic')"
    assert term_for(Canonical(step=True)) is None


def test_every_step_rule_renders_with_the_adapter() -> None:
    t = translate("weightlab:decoupled_decay(0.1, lr_scaled=False) + l1(0.001)", "mlx")
    assert t.meaning.steps == ("l1(0.001)", "decoupled_decay(0.1, lr_scaled=False)")  # type: ignore[union-attr]
    assert t.settings[-1] == (
        "optimizer = weightlab.mlx.RegularizedOptimizer(optimizer, "
        "'l1(0.001)+decoupled_decay(0.1, lr_scaled=False)')"
    )
    assert "schedule-free" not in t.formula.split("step decoupled")[0]  # one line per step
    assert "Loshchilov & Hutter 2019" in t.explanation  # the doc's paper


def test_torch_joins_a_kernel_decay_to_the_steps_in_one_wrapper() -> None:
    t = translate("weightlab:decoupled_decay(0.1) + max_norm(3)", "torch")
    assert t.target_setting == (
        "torch:SGD(lr=lr) + weightlab_rules(spec='decoupled_decay(0.1)+max_norm(3)')"
    )
    assert "one RegularizedOptimizer applies both (the decay first)" in t.explanation
    k = translate("weightlab:decoupled_decay(0.1) + max_norm(3)", "keras")
    assert k.settings == [
        "optimizer = keras.optimizers.SGD(learning_rate=lr, weight_decay=0.1)",
        'optimizer.exclude_from_weight_decay(var_names=["bias"])',
        "model.fit(x, y, callbacks=[weightlab.keras.WeightRules.from_spec('max_norm(3)')])",
    ]


def test_classic_dropout_is_weightlab_s_layer_in_every_framework() -> None:
    for framework, code in (
        ("torch", "weightlab.regularize.Dropout(p=0.3, mode='classic')"),
        ("keras", "weightlab.keras.Dropout(rate=0.3, mode='classic')"),
        ("mlx", "weightlab.mlx.Dropout(p=0.3, mode='classic')"),
        ("weightlab", "weightlab.regularize.Dropout(p=0.3, mode='classic')"),
    ):
        t = translate("weightlab:dropout(0.3, mode=classic)", framework)
        assert t.settings == [code]
        assert t.formula == "training: y = x·m, m ~ Bernoulli(1 − p); evaluation: y = x·(1 − p)"
        assert "only inverted" in t.explanation and t.exact
    assert translate("weightlab:dropout(0.3)", "mlx").settings == ["mlx.nn.Dropout(p=0.3)"]
    assert translate("keras:Dropout(0.3)", "weightlab").target_setting == "weightlab:dropout(p=0.3)"


@pytest.fixture
def user_terms() -> Iterator[None]:
    """A rule and a penalty registered by a user (removed after the test): the rule
    declares itself a step, the penalty declares no canonical meaning at all."""
    rate = TERMS["l2"].params[0].rule
    register("shrink", [Param("rate", rate, example=0.5)], effect="shrinkage",
             rule=lambda ops, prev, new, lr, *, rate: new * (1 - lr * rate),
             canonical=lambda p: Canonical(step=True))  # fmt: skip
    register("quartic", [Param("strength", rate, example=0.3)], effect="shrinkage",
             penalty=lambda ops, ws, *, strength: strength, canonical=lambda p: Canonical())  # fmt: skip
    try:
        yield
    finally:
        del TERMS["shrink"], TERMS["quartic"]


def test_a_term_registered_later_translates_without_translator_changes(
    user_terms: None,
) -> None:
    t = translate("weightlab:shrink(0.5)", "keras")
    assert t.settings[-1] == (
        "model.fit(x, y, callbacks=[weightlab.keras.WeightRules.from_spec('shrink(0.5)')])"
    )
    with pytest.raises(ParameterError, match=r"The 'rate' parameter of weightlab:shrink must be"):
        translate("weightlab:shrink(-1)", "keras")
    # No meaning at all on an active penalty: weightlab's adapter adds it to the loss.
    t = translate("weightlab:quartic(0.3)", "torch")
    assert t.meaning == UpdateMeaning(penalties=("quartic(0.3)",))
    assert t.target_setting == "torch:SGD(lr=lr) + weightlab_penalty(spec='quartic(0.3)')"
    assert t.settings[-1] == (
        "loss = loss + weightlab.regularize.parse_regularization('quartic(0.3)').penalty(weights)"
    )
    assert t.exact and t.tolerance == EXACT_TOLERANCE


def group_lasso(ops: Any, weights: Any, *, strength: Any) -> Any:
    """Group lasso: λ·Σ_units ‖w_u‖₂, each unit's incoming weights one group, so whole
    units go to zero together (Yuan & Lin 2006)."""
    total: Any = 0.0
    for w in weights:
        total = total + ops.total(ops.unit_norm(ops.wide(w)))
    return ops.coef(strength, total) * total


@pytest.fixture(params=["step", "none"])
def lasso(request: pytest.FixtureRequest) -> Iterator[None]:
    """The README's group lasso, registered as a penalty whose canonical meaning is
    ``Canonical(step=True)`` ("no framework has it built in"), or no meaning at all;
    both mean "weightlab's adapter"."""
    declared = Canonical(step=True) if request.param == "step" else Canonical()
    register("group_lasso", [Param("strength", TERMS["l2"].params[0].rule, example=1e-3)],
             penalty=group_lasso, canonical=lambda p: declared, effect="sparsity")  # fmt: skip
    try:
        yield
    finally:
        del TERMS["group_lasso"]


GROUP_LASSO_CODE = {
    "torch": [
        "optimizer = torch.optim.SGD(model.parameters(), lr=lr)",
        "weights = [p for _, p in weightlab.regularize.select_params(model)]",
        "loss = loss + weightlab.regularize.parse_regularization('group_lasso(0.05)')"
        ".penalty(weights)",
    ],
    "keras": [
        "optimizer = keras.optimizers.SGD(learning_rate=lr)",
        "keras.layers.Dense(units, kernel_regularizer=weightlab.keras.Penalty('group_lasso(0.05)'))",
    ],
    "mlx": [
        "optimizer = mlx.optimizers.SGD(learning_rate=lr)",
        "loss = loss + weightlab.mlx.penalty('group_lasso(0.05)')(model)",
    ],
    "weightlab": [
        "weights = [p for _, p in weightlab.regularize.select_params(model)]",
        "loss = loss + weightlab.regularize.parse_regularization('group_lasso(0.05)')"
        ".penalty(weights)",
    ],
}


@pytest.mark.parametrize("framework", ["torch", "keras", "mlx", "weightlab"])
def test_a_penalty_no_framework_has_is_weightlab_s_penalty_adapter(
    lasso: None, framework: str
) -> None:
    t = translate("weightlab:group_lasso(0.05)", framework)
    assert t.meaning == UpdateMeaning(penalties=("group_lasso(0.05)",))
    assert t.settings == GROUP_LASSO_CODE[framework]
    adapter = "weightlab_penalty(spec='group_lasso(0.05)')"
    assert (
        t.target_setting
        == {
            "torch": f"torch:SGD(lr=lr) + {adapter}",
            "keras": f"keras:SGD(learning_rate=lr) + {adapter}",
            "mlx": f"mlx:SGD(learning_rate=lr) + {adapter}",
            "weightlab": "weightlab:group_lasso(strength=0.05)",
        }[framework]
    )
    assert (
        "penalty group_lasso(0.05), added to the loss, on kernels: Group lasso: "
        "λ·Σ_units ‖w_u‖₂" in t.formula
    )
    assert "source weightlab:group_lasso(0.05) means the penalty group_lasso(0.05)" in t.formula
    assert "group_lasso(0.05) is a loss term no framework has built in" in t.explanation
    assert t.exact and t.tolerance == EXACT_TOLERANCE and not t.caveats
    # The target reads back to the same penalty.
    assert meaning_of(parse_setting(t.target_setting)).penalties == ("group_lasso(0.05)",)  # type: ignore[union-attr]


def test_penalties_combine_with_amounts_and_steps(lasso: None) -> None:
    source = "weightlab:max_norm(0.5) + group_lasso(0.05) + l2(0.01)"
    m = UpdateMeaning(
        coupled=Amount(0.01), steps=("max_norm(0.5)",), penalties=("group_lasso(0.05)",)
    )
    torch_ = translate(source, "torch")
    assert torch_.meaning == m
    assert torch_.settings == [
        "optimizer = torch.optim.SGD(weightlab.regularize.param_groups(model, weight_decay=0.01), lr=lr)",
        "weights = [p for _, p in weightlab.regularize.select_params(model)]",  # once
        "loss = loss + weightlab.regularize.parse_regularization('group_lasso(0.05)')"
        ".penalty(weights)",
        "optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, "
        "weightlab.regularize.parse_regularization('max_norm(0.5)').rule(), weights)",
    ]
    keras_ = translate(source, "keras")
    assert keras_.settings[1] == (  # one layer line: a Dense takes one kernel regularizer
        "keras.layers.Dense(units, kernel_regularizer=lambda w: "
        "keras.regularizers.L2(l2=0.005)(w) + weightlab.keras.Penalty('group_lasso(0.05)')(w))"
    )
    assert translate(source, "mlx").settings[2] == (
        "loss = loss + weightlab.mlx.penalty('group_lasso(0.05)')(model)"
    )
    assert translate(source, "weightlab").target_setting == (
        "weightlab:l2(strength=0.01) + max_norm(max_value=0.5) + group_lasso(strength=0.05)"
    )


def test_penalties_read_back_from_each_framework_s_adapter_setting(lasso: None) -> None:
    for framework in ("torch", "keras", "mlx"):
        calls = parse_setting(f"{framework}:weightlab_penalty(spec='group_lasso(0.05)+l2(0.01)')")
        # A penalty with a canonical amount is that amount; the others are penalties.
        assert meaning_of(calls) == UpdateMeaning(
            coupled=Amount(0.01), penalties=("group_lasso(0.05)",)
        )
    twice = parse_setting(
        "torch:SGD() + weightlab_penalty(spec='group_lasso(0.05)') "
        "+ weightlab_penalty(spec='group_lasso(0.1)')"
    )
    with pytest.raises(ParameterError, match=r"a setting with each weightlab penalty at most once"):
        meaning_of(twice)


def test_keras_writes_one_layer_line_for_several_regularizers() -> None:
    t = translate("keras:L1(0.01) + L2(0.01, on=all)", "keras")
    assert t.settings[1:] == [
        "keras.layers.Dense(units, kernel_regularizer=lambda w: keras.regularizers.L1(l1=0.01)(w) "
        "+ keras.regularizers.L2(l2=0.01)(w), bias_regularizer=keras.regularizers.L2(l2=0.01))"
    ]


def test_torch_nests_a_decay_on_every_weight_inside_the_steps() -> None:
    # The decay touches biases too, so it cannot join the steps (on kernels): two wrappers.
    t = translate(
        "keras:SGD(0.1, momentum=0.9, weight_decay=0.1) + weightlab_rules(spec='max_norm(3)')",
        "torch",
    )
    assert t.target_setting == (
        "torch:SGD(lr=0.1, momentum=0.9) + decoupled_decay(rate=0.1) "
        "+ weightlab_rules(spec='max_norm(3)')"
    )
    assert t.settings == [
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)",
        "optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, "
        "weightlab.regularize.decoupled_decay(0.1), model.parameters())",
        "weights = [p for _, p in weightlab.regularize.select_params(model)]",
        "optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, "
        "weightlab.regularize.parse_regularization('max_norm(3)').rule(), weights)",
    ]
    assert "wraps the decay's: each step the decay runs first" in t.explanation
    assert t.exact
    # And read back as a source: both wrappers in one torch setting.
    calls = parse_setting(
        "torch:SGD() + decoupled_decay(0.1) + weightlab_rules(spec='max_norm(1)')"
    )
    assert meaning_of(calls) == UpdateMeaning(
        optimizer="sgd", lr=0.001, decoupled=Amount(0.1, 0.1), steps=("max_norm(1)",)
    )


# ---------------------------------------------------------------------------
# The table, value by value.

TABLE = [
    # penalties
    ("keras:L2(0.01)", "torch", "torch:SGD(lr=lr, weight_decay=0.02, on='kernels')"),
    ("keras:L2(0.01)", "torch:adam", "torch:Adam(lr=lr, weight_decay=0.02, on='kernels')"),
    (
        "keras:L2(0.01)",
        "torch:adamw",
        "torch:AdamW(lr=lr, weight_decay=0.0) + penalty_l2(strength=0.01)",
    ),
    ("keras:L2(0.01, on=all)", "mlx", "mlx:SGD(learning_rate=lr, weight_decay=0.02)"),
    ("keras:L2(0.01)", "mlx", "mlx:SGD(learning_rate=lr) + penalty_l2(strength=0.01)"),
    ("keras:L2(0.01)", "keras", "keras:SGD(learning_rate=lr) + L2(l2=0.01)"),
    ("keras:L1(0.001)", "torch", "torch:SGD(lr=lr) + penalty_l1(strength=0.001)"),
    (
        "keras:L1L2(l1=0.001, l2=0.01)",
        "mlx",
        "mlx:SGD(learning_rate=lr) + penalty_l2(strength=0.01) + penalty_l1(strength=0.001)",
    ),
    (
        "torch:penalty_l2(0.01) + penalty_l1(0.001)",
        "keras",
        "keras:SGD(learning_rate=lr) + L1L2(l1=0.001, l2=0.01)",
    ),
    # coupled weight decay
    (
        "torch:SGD(lr=0.1, weight_decay=0.02)",
        "keras",
        "keras:SGD(learning_rate=0.1, weight_decay=0.02)",
    ),
    (
        "torch:SGD(lr=0.1, momentum=0.9, weight_decay=0.02)",
        "keras",
        "keras:SGD(learning_rate=0.1, momentum=0.9) + L2(l2=0.01, on='all')",
    ),
    (
        "torch:SGD(lr=0.1, momentum=0.9, weight_decay=0.02)",
        "mlx",
        "mlx:SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.02)",
    ),
    ("mlx:SGD(0.1, weight_decay=0.5)", "torch", "torch:SGD(lr=0.1, weight_decay=0.5)"),
    (
        "torch:Adam(lr=0.01, weight_decay=0.02)",
        "mlx",
        "mlx:Adam(learning_rate=0.01, bias_correction=True) + penalty_l2(strength=0.01, on='all')",
    ),
    # decoupled weight decay
    ("keras:SGD(weight_decay=0.5)", "torch", "torch:SGD(lr=0.01, weight_decay=0.5)"),
    (
        "keras:SGD(0.1, momentum=0.9, weight_decay=0.5)",
        "torch",
        "torch:SGD(lr=0.1, momentum=0.9) + decoupled_decay(rate=0.5)",
    ),
    (
        "keras:SGD(0.1, momentum=0.9, weight_decay=0.5)",
        "mlx",
        "mlx:SGD(learning_rate=0.1, momentum=0.9) + decoupled_decay(rate=0.5)",
    ),
    ("keras:AdamW()", "torch", "torch:AdamW(lr=0.001, eps=1e-07, weight_decay=0.004)"),
    (
        "keras:Adam(weight_decay=0.01)",
        "torch",
        "torch:AdamW(lr=0.001, eps=1e-07, weight_decay=0.01)",
    ),
    (
        "keras:Adam(weight_decay=0.01)",
        "torch:adam",
        "torch:Adam(lr=0.001, eps=1e-07) + decoupled_decay(rate=0.01)",
    ),
    (
        "torch:AdamW()",
        "mlx",
        "mlx:AdamW(learning_rate=0.001, weight_decay=0.01, bias_correction=True)",
    ),
    (
        "torch:AdamW(weight_decay=0.1, on=kernels)",
        "keras",
        "keras:AdamW(learning_rate=0.001, weight_decay=0.1, epsilon=1e-08, on='kernels')",
    ),
    (
        "torch:AdamW(weight_decay=0.1, on=kernels)",
        "mlx",
        "mlx:Adam(learning_rate=0.001, bias_correction=True) + decoupled_decay(rate=0.1, on='kernels')",
    ),
    (
        "torch:Adam(weight_decay=0.1, decoupled_weight_decay=True)",
        "keras",
        "keras:AdamW(learning_rate=0.001, weight_decay=0.1, epsilon=1e-08)",
    ),
    ("mlx:AdamW(0.001, bias_correction=True)", "torch", "torch:AdamW(lr=0.001, weight_decay=0.01)"),
    (
        "mlx:AdamW(0.001)",
        "torch",
        "torch:AdamW(lr=0.001, weight_decay=0.01) + no_bias_correction()",
    ),
    (
        "mlx:Adam(0.001)",
        "keras",
        "keras:Adam(learning_rate=0.001, epsilon=1e-08) + no_bias_correction()",
    ),
    ("mlx:AdamW(0.001)", "mlx:adam", "mlx:Adam(learning_rate=0.001) + decoupled_decay(rate=0.01)"),
    # initializers
    (
        "keras:HeNormal()",
        "torch",
        "weightlab:variance_scaling(scale=2.0, distribution='truncated_normal')",
    ),
    ("keras:HeUniform()", "torch", "torch:kaiming_uniform_(nonlinearity='relu')"),
    ("keras:LecunNormal()", "mlx", "mlx:variance_scaling(distribution='truncated_normal')"),
    (
        "keras:VarianceScaling(distribution=untruncated_normal)",
        "torch",
        "torch:kaiming_normal_(nonlinearity='linear')",
    ),
    (
        "keras:VarianceScaling(distribution=normal)",
        "weightlab",
        "weightlab:variance_scaling(distribution='truncated_normal')",
    ),
    (
        "torch:xavier_normal_()",
        "keras",
        "keras:VarianceScaling(mode='fan_avg', distribution='untruncated_normal')",
    ),
    ("torch:xavier_uniform_()", "keras", "keras:GlorotUniform()"),
    ("torch:kaiming_normal_()", "mlx", "mlx:he_normal(gain=1.4142135623730951)"),
    ("torch:kaiming_normal_()", "weightlab", "weightlab:he_normal()"),
    (
        "torch:kaiming_uniform_(a=2.23606797749979)",
        "keras",
        "keras:VarianceScaling(scale=0.3333333333333333, distribution='uniform')",
    ),
    ("torch:Linear()", "mlx", "mlx:Linear()"),
    ("mlx:Linear()", "torch", "torch:Linear()"),
    ("keras:Dense()", "mlx", "mlx:glorot_uniform()"),
    ("mlx:glorot_uniform(gain=2.0)", "torch", "torch:xavier_uniform_(gain=2.0)"),
    (
        "mlx:he_uniform(mode=fan_out, gain=1.5)",
        "torch",
        "weightlab:variance_scaling(scale=2.25, mode='fan_out', distribution='uniform')",
    ),
    (
        "mlx:he_uniform(mode=fan_out, gain=0.5)",
        "torch",
        "torch:kaiming_uniform_(a=2.6457513110645907, mode='fan_out')",
    ),
    (
        "weightlab:xavier_fan_in()",
        "keras",
        "keras:VarianceScaling(distribution='untruncated_normal')",
    ),
    (
        "weightlab:he_normal(nonlinearity=tanh)",
        "torch",
        "torch:kaiming_normal_(nonlinearity='tanh')",
    ),
    (
        "keras:VarianceScaling(scale=3.0, distribution=uniform)",
        "torch",
        "weightlab:variance_scaling(scale=3.0, distribution='uniform')",
    ),
    # weightlab's terms
    ("weightlab:l2(0.01)", "keras", "keras:SGD(learning_rate=lr) + L2(l2=0.005)"),
    (
        "weightlab:l2(0.01, convention=sum_sq)",
        "torch",
        "torch:SGD(lr=lr, weight_decay=0.02, on='kernels')",
    ),
    (
        "weightlab:l1(0.001, rule=penalty)",
        "mlx",
        "mlx:SGD(learning_rate=lr) + penalty_l1(strength=0.001)",
    ),
    (
        "weightlab:elastic_net(0.01)",
        "keras",
        "keras:SGD(learning_rate=lr) + L1L2(l1=0.005, l2=0.0025)",
    ),
    (
        "weightlab:decoupled_decay(0.1)",
        "keras",
        "keras:SGD(learning_rate=lr, weight_decay=0.1, on='kernels')",
    ),
    (
        "weightlab:decoupled_decay(0.1)",
        "mlx",
        "mlx:SGD(learning_rate=lr) + decoupled_decay(rate=0.1, on='kernels')",
    ),
    (
        "weightlab:max_norm(3)",
        "keras",
        "keras:SGD(learning_rate=lr) + weightlab_rules(spec='max_norm(3)')",
    ),
    ("weightlab:max_norm(3)", "torch", "torch:SGD(lr=lr) + weightlab_rules(spec='max_norm(3)')"),
    (
        "weightlab:max_norm(3)",
        "mlx",
        "mlx:SGD(learning_rate=lr) + weightlab_rules(spec='max_norm(3)')",
    ),
    ("weightlab:max_norm(3)", "weightlab", "weightlab:max_norm(max_value=3.0)"),
    (
        "weightlab:l1(0.001) + l2(0.01)",
        "torch:adam",
        "torch:Adam(lr=lr, weight_decay=0.01, on='kernels') + weightlab_rules(spec='l1(0.001)')",
    ),
    (
        "weightlab:decoupled_decay(0.1) + max_norm(3)",
        "torch",
        "torch:SGD(lr=lr) + weightlab_rules(spec='decoupled_decay(0.1)+max_norm(3)')",
    ),
    (
        "weightlab:decoupled_decay(0.1, lr_scaled=False) + l1(0.01, rule=clip)",
        "keras",
        "keras:SGD(learning_rate=lr) + weightlab_rules("
        "spec=\"l1(0.01, rule='clip')+decoupled_decay(0.1, lr_scaled=False)\")",
    ),
    (
        "mlx:SGD(0.1, momentum=0.9) + weightlab_rules(spec='max_norm(2)')",
        "keras",
        "keras:SGD(learning_rate=0.1, momentum=0.9) + weightlab_rules(spec='max_norm(2)')",
    ),
    ("keras:L2(0.01)", "weightlab", "weightlab:l2(strength=0.02)"),
    (
        "keras:L1L2(l1=0.001, l2=0.01)",
        "weightlab",
        "weightlab:l1(strength=0.001, rule='penalty') + l2(strength=0.02)",
    ),
    (
        "mlx:decoupled_decay(0.1, on=kernels) + weightlab_rules(spec='max_norm(2)')",
        "weightlab",
        "weightlab:decoupled_decay(rate=0.1) + max_norm(max_value=2.0)",
    ),
    # dropout
    ("torch:Dropout(0.3)", "keras", "keras:Dropout(rate=0.3)"),
    ("keras:Dropout(0.3)", "mlx", "mlx:Dropout(p=0.3)"),
    ("mlx:Dropout()", "torch", "torch:Dropout()"),
    ("weightlab:dropout(0.3)", "keras", "keras:Dropout(rate=0.3)"),
    (
        "weightlab:dropout(0.3, mode=classic)",
        "keras",
        "keras:weightlab_dropout(rate=0.3, mode='classic')",
    ),
    ("torch:Dropout(0.3)", "weightlab", "weightlab:dropout(p=0.3)"),
    (
        "mlx:weightlab_dropout(0.3, mode=classic)",
        "weightlab",
        "weightlab:dropout(p=0.3, mode='classic')",
    ),
]


@pytest.mark.parametrize(("source", "to", "expected"), TABLE)
def test_translation_table(source: str, to: str, expected: str) -> None:
    assert translate(source, to).target_setting == expected


@pytest.mark.parametrize(("source", "to", "expected"), TABLE)
def test_every_target_setting_reads_back_to_the_same_meaning(
    source: str, to: str, expected: str
) -> None:
    t = translate(source, to)
    back = meaning_of(parse_setting(t.target_setting))
    if isinstance(t.meaning, UpdateMeaning):
        assert isinstance(back, UpdateMeaning)
        terms = ["l1"]
        if t.meaning.optimizer == "sgd" and t.meaning.momentum == 0.0:
            # Plain SGD: coupled and decoupled decay are the same step, and may be swapped.
            assert back.coupled + back.decoupled == t.meaning.coupled + t.meaning.decoupled
        else:
            terms += ["coupled", "decoupled"]
        for term in terms:
            got, want = back.term(term), t.meaning.term(term)
            assert (got.kernel, got.bias) == pytest.approx((want.kernel, want.bias)), term
        if t.meaning.optimizer is not None:
            assert (back.optimizer, back.lr, back.momentum) == (
                t.meaning.optimizer,
                t.meaning.lr,
                t.meaning.momentum,
            )
            assert back.bias_correction == t.meaning.bias_correction
        assert back.steps == t.meaning.steps
    elif isinstance(t.meaning, InitMeaning):
        assert isinstance(back, InitMeaning)
        assert (back.distribution, back.mode) == (t.meaning.distribution, t.meaning.mode)
        assert back.scale == pytest.approx(t.meaning.scale, rel=1e-12)
    else:
        assert back == t.meaning == DropoutMeaning(back.p, back.mode)


def test_sources_are_normalized_with_every_default_written_out() -> None:
    assert translate("torch:AdamW()", "keras").source == (
        "torch:AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)"
    )
    assert translate("keras:AdamW()", "torch").source == (
        "keras:AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-07)"
    )
    assert translate("mlx:AdamW(1e-3, betas=[0.8, 0.99])", "torch").source == (
        "mlx:AdamW(learning_rate=0.001, betas=(0.8, 0.99), eps=1e-08, weight_decay=0.01, bias_correction=False)"
    )


def test_keras_sgd_momentum_buffer_note_and_folding_note() -> None:
    t = translate("keras:SGD(0.1, momentum=0.9, weight_decay=0.01)", "torch")
    assert "v ← μv − lr·g" in t.explanation
    assert "RegularizedOptimizer" in t.settings[1]
    folded = translate("keras:SGD(0.1, weight_decay=0.01)", "torch")
    assert "Without momentum" in folded.explanation
    # A penalty alone names no optimizer, so nothing is folded into a decoupled decay.
    assert translate("keras:L2(0.01)", "keras").target_setting.endswith("+ L2(l2=0.01)")


def test_uncorrected_mlx_adam_gets_a_per_step_recipe() -> None:
    t = translate("mlx:AdamW(learning_rate=0.001, weight_decay=0.01)", "torch")
    assert t.settings[-2:] == [
        "c = (1 - 0.9 ** t) / math.sqrt(1 - 0.999 ** t)",
        "for group, wd in zip(optimizer.param_groups, (0.01,)): group.update(lr=0.001 * c, "
        "eps=1e-08 / math.sqrt(1 - 0.999 ** t), weight_decay=wd / c)",
    ]
    assert t.exact and t.tolerance == EXACT_TOLERANCE
    k = translate("mlx:AdamW(learning_rate=0.001, weight_decay=0.01)", "keras")
    assert (
        k.settings[-1] == "optimizer.learning_rate = 0.001 * c; optimizer.weight_decay = 0.01 / c"
    )
    assert k.exact and k.tolerance > EXACT_TOLERANCE and "float32" in k.caveats[0]


def test_layer_default_bias_is_carried_over() -> None:
    t = translate("keras:Dense()", "torch")
    assert t.settings == ["torch.nn.init.xavier_uniform_(w)", "torch.nn.init.zeros_(layer.bias)"]
    u = translate("torch:Linear()", "keras")
    assert u.settings[0] == "keras.initializers.VarianceScaling(scale=1/3, distribution='uniform')"
    assert "RandomUniform(-1 / math.sqrt(fan_in)" in u.settings[1]


def test_code_shows_simple_fractions_and_roots() -> None:
    assert translate("torch:kaiming_normal_()", "mlx").settings == [
        "mlx.nn.init.he_normal()(w, gain=math.sqrt(2))"
    ]


def test_dropout_translation_explains_inverted_dropout() -> None:
    t = translate("torch:Dropout(0.3)", "keras")
    assert t.settings == ["keras.layers.Dropout(rate=0.3)"]
    assert "1/(1 − p)" in t.explanation and "Srivastava" in t.explanation
    assert t.caveats == ["Keras drops only when the layer is called with training=True (fit does)."]
    assert t.exact and t.tolerance == 0.0


def test_json_payload_is_plain_and_complete() -> None:
    payload = translate("keras:L2(0.01)", "torch:sgd").to_json()
    text = json.dumps(payload)
    assert set(payload) == {
        "source",
        "target",
        "settings",
        "formula",
        "explanation",
        "caveats",
        "exact",
        "tolerance",
        "target_setting",
        "alternatives",
        "meaning",
        "keras_backends",
        "checked",
        "backend_notes",
    }
    assert payload["meaning"]["coupled"] == {"kernel": 0.02, "bias": 0.0}
    assert "weight_decay=0.02" in text
    assert payload["keras_backends"] == ["tensorflow", "jax", "torch"]


# ---------------------------------------------------------------------------
# Keras' backends: what the translation was checked on, and what differs between them.


@pytest.mark.parametrize(
    ("source", "to", "checked"),
    [
        ("keras:L2(0.01)", "torch:sgd", "20 training steps beside the source on each"),
        ("torch:AdamW(weight_decay=0.01)", "keras", "20 training steps beside the source on each"),
        ("keras:GlorotNormal()", "mlx", "large draws from both sides' initializers on each"),
        ("torch:Dropout(0.3)", "keras", "the layers' kept values, dropped share and evaluation"),
    ],
)
def test_a_translation_with_keras_states_the_backends_it_was_checked_on(
    source: str, to: str, checked: str
) -> None:
    t = translate(source, to)
    assert t.keras_backends == list(KERAS_BACKENDS) == ["tensorflow", "jax", "torch"]
    assert t.checked.startswith("Checked on Keras' tensorflow, jax and torch backends: ")
    assert checked in t.checked


def test_a_translation_without_keras_names_no_backend() -> None:
    t = translate("torch:SGD(lr=0.1, weight_decay=0.01)", "mlx")
    assert (t.keras_backends, t.checked, t.backend_notes) == ([], "", [])


def test_backend_notes_name_what_differs_where_it_applies() -> None:
    notes = translate("torch:AdamW(weight_decay=0.01)", "keras").backend_notes
    assert [n.split(":")[0] for n in notes] == ["weight_decay", "Adam"]
    assert "torch backend as w·(1 − lr·d)" in notes[0] and "below 10⁻⁶" in notes[0]
    assert translate("keras:L2(0.01)", "torch:sgd").backend_notes == []  # no optimizer decay
    init = translate("keras:HeNormal()", "torch").backend_notes
    assert any("different numbers on tensorflow, jax and torch" in n for n in init)
    assert any("jax_enable_x64" in n for n in init)
    dropout = translate("keras:Dropout(0.5)", "torch").backend_notes
    assert dropout == [
        "Keras draws with each backend's own random generator: the same seed gives "
        "different masks on tensorflow, jax and torch (the same distribution)."
    ]


def test_the_per_step_weight_decay_recipe_compiles_eagerly_and_says_why() -> None:
    t = translate("mlx:AdamW(learning_rate=0.01, weight_decay=0.1)", "keras")
    assert t.settings[1] == "model.compile(optimizer=optimizer, loss=loss, run_eagerly=True)"
    (caveat,) = [c for c in t.caveats if "run_eagerly" in c]
    assert "tensorflow backend (tf.function)" in caveat and "1.7·10⁻²" in caveat
    plain = translate("mlx:Adam(learning_rate=0.01)", "keras")  # no decay: lr is a variable
    assert not any("run_eagerly" in line for line in plain.settings + plain.caveats)


def test_cli_prints_the_backends_section_last(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["translate", "keras:SGD(learning_rate=0.1, weight_decay=0.01)", "--to", "torch"], capsys
    )
    assert code == 0
    lines = out.splitlines()
    at = lines.index("Backends")
    assert lines[at - 1].startswith("Match: ")
    assert lines[at + 1].startswith("  Checked on Keras' tensorflow, jax and torch backends")
    assert any(line.startswith("  • weight_decay: ") for line in lines[at:])
    code, out, _ = run(["translate", "torch:SGD(lr=0.1)", "--to", "mlx"], capsys)
    assert "Backends" not in out.splitlines()


# ---------------------------------------------------------------------------
# Parsing.


def test_parse_setting_binds_positions_defaults_and_prefixless_names() -> None:
    (call,) = parse_setting("keras:L2(0.01)")
    assert call.args == (("l2", 0.01), ("on", "kernels"))
    (call,) = parse_setting("GlorotNormal()")  # only Keras has it
    assert call.framework == "keras"
    calls = parse_setting("keras:Adam(1e-3) + L2(1e-4)")
    assert [c.name for c in calls] == ["Adam", "L2"]
    (call,) = (
        parse_setting("torch:SGD(lr=1e+0, momentum=-0.0 + 0.5)")
        if False
        else parse_setting("torch:SGD(lr=1e+0)")
    )
    assert call.arg("lr") == 1.0


def test_supported_lists_every_framework() -> None:
    names = supported()
    assert set(names) == {"torch", "keras", "mlx", "weightlab"}
    assert {"SGD", "Adam", "AdamW", "Dropout", "kaiming_normal_", "Linear"} <= set(names["torch"])
    assert {"L1", "L2", "L1L2", "GlorotNormal", "VarianceScaling", "Dense"} <= set(names["keras"])
    assert {"he_normal", "glorot_uniform", "AdamW", "Linear"} <= set(names["mlx"])


# ---------------------------------------------------------------------------
# Bad input: one error format, listing what is supported.

BAD = [
    (
        "tf:L2(0.01)",
        "torch",
        ParameterError,
        r"The 'setting' parameter of translate must be a setting written framework:Name\(args\), framework one of 'torch', 'keras', 'mlx', 'weightlab'\. Got 'tf:L2\(0\.01\)'\.",
    ),
    (
        "keras:L3(0.01)",
        "torch",
        ParameterError,
        r"must be a keras setting, one of: SGD, Adam, AdamW, L1, L2, L1L2, .*Got 'keras:L3\(0\.01\)'",
    ),
    (
        "SGD(0.1)",
        "torch",
        ParameterError,
        r"must be prefixed by its framework \(torch:SGD or keras:SGD or mlx:SGD\)",
    ),
    (
        "he_normal()",
        "torch",
        ParameterError,
        r"prefixed by its framework \(mlx:he_normal or weightlab:he_normal\)",
    ),
    (
        "Frobnicate()",
        "torch",
        ParameterError,
        r"must be a known setting written framework:Name\(args\) \(torch: SGD, ",
    ),
    (
        "keras:L2(",
        "torch",
        ParameterError,
        r"with literal arguments, e\.g\. 'keras:L2\(0\.01\)'\. Got 'keras:L2\('",
    ),
    ("keras:L2(x + 1)", "torch", ParameterError, r"with literal arguments"),
    (
        "keras:L2(0.01) + torch:SGD(lr=0.1)",
        "mlx",
        ParameterError,
        r"must be one framework's setting: the prefix keras: applies to every term, so write "
        r"the torch part as a setting of its own\. Got 'keras:L2\(0\.01\) \+ torch:SGD",
    ),
    (
        "L2(0.01) + torch:SGD(lr=0.1)",
        "mlx",
        ParameterError,
        r"must be one framework's setting, its prefix written once at the start",
    ),
    (
        "torch:SGD(lr=0.1, nesterov=True)",
        "keras",
        ParameterError,
        r"a call using the parameters of torch:SGD \(lr, momentum, weight_decay, on\)",
    ),
    ("keras:L2(0.01, l2=0.02)", "torch", ParameterError, r"parameters of keras:L2 \(l2, on\)"),
    (
        "mlx:SGD()",
        "torch",
        ParameterError,
        r"parameters of mlx:SGD \(learning_rate, momentum, weight_decay\), giving learning_rate",
    ),
    ("keras:Dropout()", "torch", ParameterError, r"giving rate"),
    (
        "torch:SGD(lr=-1)",
        "keras",
        ParameterError,
        r"The 'lr' parameter of torch:SGD must be a float > 0 or one of 'lr'\. Got -1\.0\.",
    ),
    (
        "keras:L2(-0.01)",
        "torch",
        ParameterError,
        r"The 'l2' parameter of keras:L2 must be a float >= 0\. Got -0\.01\.",
    ),
    (
        "torch:Dropout(1.0)",
        "keras",
        ParameterError,
        r"The 'p' parameter of torch:Dropout must be a float in \[0, 1\)\. Got 1\.0\.",
    ),
    (
        "torch:Adam(betas=(0.9, 1.0))",
        "keras",
        ParameterError,
        r"The 'betas' parameter of torch:Adam must be a pair of floats in \[0, 1\)",
    ),
    (
        "torch:SGD(on=biases)",
        "keras",
        ParameterError,
        r"The 'on' parameter of torch:SGD must be one of 'all', 'kernels'",
    ),
    (
        "keras:VarianceScaling(distribution=gaussian)",
        "torch",
        ParameterError,
        r"'distribution' parameter of keras:VarianceScaling must be one of 'truncated_normal', 'untruncated_normal', 'uniform', 'normal'",
    ),
    (
        "torch:kaiming_normal_(nonlinearity=gelu)",
        "keras",
        ParameterError,
        r"'nonlinearity' parameter of torch:kaiming_normal_ must be one of 'linear', ",
    ),
    (
        "weightlab:normal(std=0.1)",
        "torch",
        ParameterError,
        r"must be a weightlab setting, one of: variance_scaling, xavier_normal, ",
    ),
    (
        "weightlab:he_normal(mode=fan_avg)",
        "torch",
        ParameterError,
        r"'mode' parameter of weightlab:he_normal must be one of 'fan_in', 'fan_out'",
    ),
    ("torch:SGD() + Adam()", "keras", ParameterError, r"a setting with at most one optimizer"),
    (
        "keras:GlorotNormal() + L2()",
        "torch",
        ParameterError,
        r"a single init setting \(only optimizers, penalties and steps combine with '\+'\)",
    ),
    (
        "torch:SGD() + no_bias_correction()",
        "keras",
        ParameterError,
        r"no_bias_correction\(\) combined with an Adam optimizer",
    ),
    (
        "torch:SGD(weight_decay=0.1) + penalty_l2(0.1)",
        "keras",
        ParameterError,
        r"whose coupled term is the same on kernels and biases, or on kernels only",
    ),
    (
        3,
        "torch",
        ParameterTypeError,
        r"The 'setting' parameter of translate must be a str\. Got 3\.",
    ),
    # targets
    (
        "keras:L2(0.01)",
        "jax",
        ParameterError,
        r"The 'to' parameter of translate must be a framework \('torch', 'keras', 'mlx', 'weightlab'\), optionally with an optimizer: 'torch:sgd', 'keras:adam', 'mlx:adamw'\. Got 'jax'\.",
    ),
    (
        "keras:L2(0.01)",
        3,
        ParameterTypeError,
        r"The 'to' parameter of translate must be a framework",
    ),
    (
        "keras:L2(0.01)",
        "torch:rmsprop",
        ParameterError,
        r"must be 'torch' or torch:name with name one of 'sgd', 'adam', 'adamw'",
    ),
    (
        "torch:Adam()",
        "torch:sgd",
        ParameterError,
        r"must be 'torch' or 'torch:adam' or 'torch:adamw' for Adam settings\. Got 'torch:sgd'\.",
    ),
    (
        "torch:SGD()",
        "keras:adamw",
        ParameterError,
        r"must be 'keras' or 'keras:sgd' for SGD settings",
    ),
    (
        "keras:GlorotNormal()",
        "torch:sgd",
        ParameterError,
        r"a framework without an optimizer .* for an initializer",
    ),
    ("keras:Dropout(0.5)", "torch:sgd", ParameterError, r"for dropout"),
    (
        "torch:SGD()",
        "weightlab",
        ParameterError,
        r"The 'to' parameter of translate must be 'torch', 'keras' or 'mlx' for a setting with an optimizer\. Got 'weightlab'\.",
    ),
    (
        "keras:L2(0.01, on=all)",
        "weightlab",
        ParameterError,
        r"must be 'torch', 'keras' or 'mlx' for a setting that regularizes biases \(weightlab's terms act on kernels only\)\. Got 'weightlab'\.",
    ),
    (
        "keras:L2(0)",
        "weightlab",
        ParameterError,
        r"must be 'torch', 'keras' or 'mlx' for a setting that regularizes nothing\.",
    ),
    (
        "torch:penalty_l1(0.01) + weightlab_rules(spec='l1(0.01)')",
        "weightlab",
        ParameterError,
        r"must be 'torch', 'keras' or 'mlx' for a setting that needs a weightlab term twice\.",
    ),
    (
        "keras:L2(0.01)",
        "weightlab:sgd",
        ParameterError,
        r"The 'to' parameter of translate must be 'weightlab' without an optimizer \(its terms go beside yours\)\. Got 'weightlab:sgd'\.",
    ),
    # weightlab's terms
    (
        "weightlab:l2(-0.01)",
        "torch",
        ParameterError,
        r"The 'strength' parameter of weightlab:l2 must be a float >= 0\. Got -0\.01\.",
    ),
    (
        "weightlab:l2(0.01, convention=half)",
        "torch",
        ParameterError,
        r"The 'convention' parameter of weightlab:l2 must be one of 'sum_sq', 'half_sum_sq'\. Got 'half'\.",
    ),
    (
        "weightlab:max_norm(0)",
        "keras",
        ParameterError,
        r"The 'max_value' parameter of weightlab:max_norm must be a float > 0\. Got 0\.0\.",
    ),
    (
        "weightlab:l3(0.1)",
        "torch",
        ParameterError,
        r"must be a weightlab setting, one of: variance_scaling, .*, l1, l2, elastic_net, decoupled_decay, dropout, max_norm\. Got 'weightlab:l3\(0\.1\)'\.",
    ),
    (
        "weightlab:l2()",
        "torch",
        ParameterError,
        r"a call using the parameters of weightlab:l2 \(strength, convention\), giving strength\.",
    ),
    (
        "weightlab:l2(0.01) + l2(0.02)",
        "torch",
        ParameterError,
        r"The 'setting' parameter of translate must be a setting naming each weightlab term at most once\.",
    ),
    (
        "weightlab:dropout(0.5) + l2(0.01)",
        "torch",
        ParameterError,
        r"must be a single dropout setting \(only optimizers, penalties and steps combine with '\+'\)",
    ),
    (
        "torch:SGD() + weightlab_rules(spec='l2(0.1)')",
        "keras",
        ParameterError,
        r"The 'spec' parameter of torch:weightlab_rules must be rule terms \(l1, decoupled_decay, max_norm\) joined by '\+'\. Got 'l2\(0\.1\)', a penalty term\.",
    ),
    (
        "torch:SGD() + weightlab_rules(spec='max_norm(0)')",
        "keras",
        ParameterError,
        r"The 'max_value' parameter of max_norm must be a float > 0\. Got 0\.0\.",
    ),
    (
        "mlx:SGD(0.1) + weightlab_rules(spec=3)",
        "keras",
        ParameterTypeError,
        r"The 'spec' parameter of mlx:weightlab_rules must be weightlab rule terms \(l1, decoupled_decay, max_norm\) joined by '\+'\. Got 3\.",
    ),
    (
        "torch:SGD() + weightlab_penalty(spec='max_norm(3)')",
        "keras",
        ParameterError,
        r"The 'spec' parameter of torch:weightlab_penalty must be penalty terms \(l1, l2, elastic_net\) joined by '\+'\. Got 'max_norm\(3\)', a rule term\.",
    ),
    (
        "keras:weightlab_penalty(spec=0.1)",
        "torch",
        ParameterTypeError,
        r"The 'spec' parameter of keras:weightlab_penalty must be weightlab penalty terms \(l1, l2, elastic_net\) joined by '\+'\. Got 0\.1\.",
    ),
    (
        "torch:weightlab_dropout(0.3, mode=gaussian)",
        "keras",
        ParameterError,
        r"The 'mode' parameter of torch:weightlab_dropout must be one of 'inverted', 'classic'\. Got 'gaussian'\.",
    ),
]


@pytest.mark.parametrize(("setting", "to", "error", "message"), BAD)
def test_bad_input_raises_one_clear_error(
    setting: object, to: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        translate(setting, to)  # type: ignore[arg-type]


def test_errors_are_value_and_type_errors() -> None:
    assert issubclass(ParameterError, ValueError) and issubclass(ParameterTypeError, TypeError)


# ---------------------------------------------------------------------------
# The command line.


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        cli.main(args)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prints_settings_formula_explanation_and_caveats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["translate", "torch:Adam(weight_decay=1e-4)", "--to", "keras"], capsys)
    assert code == 0 and not err
    lines = out.splitlines()
    assert (
        lines[0]
        == "torch:Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0001, decoupled_weight_decay=False) → keras"
    )
    assert "  optimizer = keras.optimizers.Adam(learning_rate=0.001, epsilon=1e-08)" in lines
    for heading in ("Formula", "Why", "Caveats"):
        assert heading in lines
    assert "Match: not exact (tolerance 0.001)" in lines
    assert "No Keras optimizer option is coupled L2" in " ".join(out.split())  # wrapped prose


def test_cli_keeps_code_lines_whole(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["translate", "keras:L2(0.01)", "--to", "torch:sgd"], capsys)
    assert code == 0
    assert (
        "  optimizer = torch.optim.SGD(weightlab.regularize.param_groups(model, weight_decay=0.02), lr=lr)"
        in out.splitlines()
    )
    assert "Match: exact (tolerance 1e-05)" in out


@pytest.mark.parametrize("framework", ["keras", "torch", "mlx"])
def test_cli_prints_the_adapter_the_native_alternative_and_exact(
    framework: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["translate", "weightlab:max_norm(3)", "--to", framework], capsys)
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines[0] == f"weightlab:max_norm(max_value=3.0) → {framework}"
    assert any("max_norm(3)" in line and "weightlab." in line for line in lines[1:4])
    native = TERMS["max_norm"].native.get(framework)
    assert ("Alternatives" in lines) == (native is not None)
    if native is not None:
        assert f"  {native[0].format(max_value='3.0')}" in lines
        assert native[1].split()[-1] in " ".join(out.split())  # the caveat, wrapped
    assert "Match: exact (tolerance 1e-05)" in lines


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["translate", "mlx:he_normal()", "--to", "torch", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["settings"] == ["torch.nn.init.kaiming_normal_(w, nonlinearity='linear')"]
    assert payload["meaning"] == {
        "distribution": "normal",
        "scale": 1.0,
        "mode": "fan_in",
        "bias": None,
        "kind": "init",
    }
    assert payload["exact"] is True and payload["tolerance"] == 0.0
    assert math.isclose(payload["meaning"]["scale"], 1.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["translate", "keras:L3(0.01)", "--to", "torch"],
            "Error: The 'setting' parameter of translate must be a keras setting, one of: SGD,",
        ),
        (
            ["translate", "keras:L2(0.01)", "--to", "jax"],
            "Error: The 'to' parameter of translate must be a framework",
        ),
        (
            ["translate", "torch:Adam()", "--to", "torch:sgd", "--json"],
            "Error: The 'to' parameter of translate must be 'torch' or 'torch:adam'",
        ),
        (["translate", "keras:L2(0.01)"], "Error: Missing option '--to'."),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert not out
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_cli_help_lists_the_supported_settings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["translate", "--help"], capsys)
    assert code == 0
    assert "Usage: weightlab translate" in out and "--to" in out and "--json" in out
    assert "GlorotNormal" in out


# ---------------------------------------------------------------------------
# docs/translate.md shows real output.

DOC = Path(__file__).resolve().parents[2] / "docs" / "translate.md"


def _doc_commands() -> list[tuple[str, str]]:
    """Each ``$ weightlab translate ...`` command of the document's console blocks, with
    the output shown under it (``$ echo $?`` lines and their status left out)."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        parts = re.split(r"^\$ ", block, flags=re.M)[1:]
        for command, shown in (part.split("\n", 1) for part in parts):
            if command.startswith("weightlab translate") and shown:  # not the synopsis
                found.append((command, shown))
    return found


@pytest.mark.parametrize(("command", "shown"), _doc_commands(), ids=[c for c, _ in _doc_commands()])
def test_docs_show_the_real_output(
    command: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, err = run(shlex.split(command)[1:], capsys)
    assert out + err == shown


def test_docs_group_lasso_example_prints_what_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", DOC.read_text("utf-8"), re.S)
    ((code, shown),) = [(c, s) for c, s in blocks if '"group_lasso"' in c]
    try:
        exec(compile(code, str(DOC), "exec"), {})  # registers the README's group lasso
    finally:
        TERMS.pop("group_lasso", None)  # other tests iterate the registry
    assert capsys.readouterr().out == shown


def test_init_parameters_too_large_to_draw_with_are_refused() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'a' parameter of torch:kaiming_normal_ must be a float in [0, 1e+37]. Got 1e+308."
        ),
    ):
        translate("torch:kaiming_normal_(a=1e308)", to="keras")


README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_interop_section_shows_the_real_output(capsys: pytest.CaptureFixture[str]) -> None:
    """Each ``$ weightlab translate`` of the README is its real output; a ``...`` line
    stands for lines left out."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Keras 3, MLX and the convention translator") :]
    blocks = [b for b in re.findall(r"```text\n(.*?)```", section, re.S) if b.startswith("$ ")]
    shown = [part for b in blocks for part in re.split(r"^\$ ", b, flags=re.M)[1:]]
    assert len(shown) >= 2
    for part in shown:
        command, _, expected = part.partition("\n")
        _, out, err = run(shlex.split(command)[1:], capsys)
        real = (out + err).splitlines()
        lines = expected.rstrip("\n").splitlines()
        if "..." not in lines:
            assert real == lines, command
            continue
        cut = lines.index("...")
        head, tail = lines[:cut], lines[cut + 1 :]
        assert real[: len(head)] == head and real[len(real) - len(tail) :] == tail, command
