"""One contract for every registered regularization term in every framework adapter.

For each framework (Keras on its torch backend, MLX) and each term in the registry, with
parameters drawn from the term's own ``Param`` table (every option of every choice, and
strength 0 where the table allows it), the framework's object built from the term's spec
string computes what weightlab's torch code computes (``Term.penalty``, ``Term.rule``,
``Term.layer`` with ``TORCH``) on the same weights, converted between layouts: a Keras
Dense kernel is the transpose of the torch weight, an MLX Linear weight is the torch
weight.  A term registered later is covered without touching this file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

from weightlab._validate import Instance, Interval, OneOf
from weightlab.regularize import (
    REGISTRY,
    TORCH,
    ArrayOps,
    Canonical,
    Param,
    Term,
    make_term,
    parse_regularization,
    register,
)

# Keras's torch backend converts with np.array(tensor), which numpy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

LR = 0.1
RTOL = 1e-6  # float32: the frameworks differ from torch only in rounding order


# ---------------------------------------------------------------------------
# Every registered term, with parameters from its own table.


def _alternatives(param: Param) -> tuple[Any, ...]:
    """Every option of a choice; the closed ends of a range (strength 0, l1_ratio 1)."""
    rule = param.rule
    if isinstance(rule, OneOf):
        return rule.options
    if isinstance(rule, Instance) and rule.types == (bool,):
        return (True, False)
    if isinstance(rule, Interval) and not rule.integer:
        ends = [(rule.low, ("both", "left")), (rule.high, ("both", "right"))]
        return tuple(end for end, closed in ends if math.isfinite(end) and rule.closed in closed)
    return ()


def _cases(name: str) -> list[Term]:
    """The term with the values its parameters start from (defaults, else the registry's
    examples), then with each parameter varied alone."""
    entry = REGISTRY[name]
    base = {p.name: p.start for p in entry.params}
    found = {make_term(name, **base): None}
    for param in entry.params:
        for value in _alternatives(param):
            found[make_term(name, **{**base, param.name: value})] = None
    return list(found)


CASES = [term for name in REGISTRY for term in _cases(name)]


def _of_kind(kind: str, keep: Callable[[Term], bool] = lambda t: True) -> list[Any]:
    """The cases of ``kind`` for which ``keep`` holds, as parameters named by their spec."""
    return [pytest.param(t, id=str(t)) for t in CASES if t.kind == kind and keep(t)]


def _weights() -> list[torch.Tensor]:
    """A Linear and a Conv2d weight in torch layout, units of norms from about 0.01 to 30
    (so a norm bound caps some and leaves others), with a weight at exactly 0."""
    g = torch.Generator().manual_seed(0)
    dense = torch.randn(5, 4, generator=g) * torch.logspace(-2, 1, 5)[:, None]
    conv = torch.randn(3, 2, 2, 2, generator=g) * torch.logspace(-2, 1, 3)[:, None, None, None]
    dense[0, 0] = 0.0
    return [dense, conv]


def _steps() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(prev, proposed)`` pairs: some weights cross zero, one starts at 0, and a few
    proposed ones lie between 1e-6 and 0.1 (so a threshold zeroes some, not all)."""
    g = torch.Generator().manual_seed(1)
    tiny = torch.tensor([1.0, -1.0, 1.0, -1.0]) * torch.logspace(-6, -1, 4)
    pairs = []
    for prev in _weights():
        proposed = prev - 0.2 * torch.randn(prev.shape, generator=g)
        proposed.view(-1)[:4] = tiny
        pairs.append((prev, proposed))
    return pairs


# ---------------------------------------------------------------------------
# The two frameworks, behind one small interface.


class KerasFramework:
    name = "keras"
    penalty_owner = ("Penalty", "term")
    rule_owner = ("rule", "spec")

    def __init__(self) -> None:
        self.wk = self.module = pytest.importorskip("weightlab.keras")
        self.keras = pytest.importorskip("keras")
        self.ops = self.keras.ops
        self.lrs: list[Any] = [LR]  # WeightRules reads the rate as a float

    def array(self, weight: torch.Tensor) -> Any:
        return self.ops.convert_to_tensor(self.wk.to_keras_layout(weight).contiguous().numpy())

    def back(self, array: Any) -> torch.Tensor:
        return self.wk.to_torch_layout(torch.from_numpy(self.ops.convert_to_numpy(array)))

    def penalty(self, spec: str | Term, arrays: list[Any]) -> Any:
        return self._total(self.wk.Penalty(spec), arrays)

    def rule(self, spec: str | Term) -> Any:
        return self.wk.rule(spec)

    def number(self, value: Any) -> float:
        return float(self.ops.convert_to_numpy(value))

    def dtype(self, value: Any) -> str:
        return str(self.keras.backend.standardize_dtype(value.dtype))

    def layer(self, term: Term, seed: int) -> Callable[[Any, bool], Any]:
        assert term.name == "dropout", f"no Keras layer for {term.name}: add one here"
        layer = self.wk.Dropout(term.kwargs()["p"], mode=term.kwargs()["mode"], seed=seed)
        return lambda x, training: layer(x, training=training)

    def unit_norms(self, array: Any) -> np.ndarray:
        """Norm of each unit's incoming weights: every axis but the last."""
        a = self.ops.convert_to_numpy(array).astype(np.float64)
        return np.linalg.norm(a.reshape(-1, a.shape[-1]), axis=0)

    def preset_penalty(self, preset: Preset, arrays: list[Any]) -> Any:
        _, name, args, kwargs = preset
        regularizer = {"l1": self.wk.L1, "l2": self.wk.L2, "elastic_net": self.wk.ElasticNet}
        return self._total(regularizer[name](*args, **kwargs), arrays)

    def _total(self, regularizer: Any, arrays: list[Any]) -> Any:
        return self.ops.sum(self.ops.stack([regularizer(a) for a in arrays]))


class MLXFramework:
    name = "mlx"
    penalty_owner = ("penalty", "spec")
    rule_owner = ("rule", "spec")

    def __init__(self) -> None:
        self.mx = pytest.importorskip("mlx.core")
        self.wm = self.module = pytest.importorskip("weightlab.mlx")
        self.lrs = [LR, self.mx.array(LR)]  # RegularizedOptimizer passes a 0-dim array

    def array(self, weight: torch.Tensor) -> Any:
        if weight.dim() >= 3:  # [out, in, *kernel] -> [out, *kernel, in]
            weight = weight.permute(0, *range(2, weight.dim()), 1)
        return self.mx.array(weight.contiguous().numpy())

    def back(self, array: Any) -> torch.Tensor:
        t = torch.from_numpy(np.array(array))
        return t.permute(0, t.dim() - 1, *range(1, t.dim() - 1)) if t.dim() >= 3 else t

    def penalty(self, spec: str | Term, arrays: list[Any]) -> Any:
        return self.wm.penalty(spec)(arrays)

    def rule(self, spec: str | Term) -> Any:
        return self.wm.rule(spec)

    def number(self, value: Any) -> float:
        return float(value.item())

    def dtype(self, value: Any) -> str:
        return str(value.dtype).rsplit(".", 1)[-1]

    def layer(self, term: Term, seed: int) -> Callable[[Any, bool], Any]:
        assert term.name == "dropout", f"no MLX layer for {term.name}: add one here"
        layer = self.wm.Dropout(term.kwargs()["p"], mode=term.kwargs()["mode"], seed=seed)

        def call(x: Any, training: bool) -> Any:
            layer.train(training)
            return layer(x)

        return call

    def unit_norms(self, array: Any) -> np.ndarray:
        """Norm of each unit's incoming weights: every axis but the first."""
        a = np.array(array).astype(np.float64)
        return np.linalg.norm(a.reshape(a.shape[0], -1), axis=1)

    def preset_penalty(self, preset: Preset, arrays: list[Any]) -> Any:
        _, name, args, kwargs = preset
        return getattr(self.wm, name)(arrays, *args, **kwargs)


Framework = KerasFramework | MLXFramework

# The named presets and the spec each one is: (spec, name in weightlab.mlx, arguments,
# keyword arguments); the Keras penalty presets are the classes L1, L2 and ElasticNet.
Preset = tuple[str, str, tuple[Any, ...], dict[str, Any]]
SUM_SQ = {"convention": "sum_sq"}
PENALTY_PRESETS: list[Preset] = [
    ("l1(0.3, rule=penalty)", "l1", (0.3,), {}),
    ("l2(0.3, convention=sum_sq)", "l2", (0.3,), SUM_SQ),
    ("elastic_net(0.3, 0.25, convention=sum_sq)", "elastic_net", (0.3, 0.25), SUM_SQ),
]
RULE_PRESETS: list[Preset] = [
    ("l1(0.3, rule=clip)", "l1_step", (0.3, "clip"), {}),
    ("l1(0.3, rule=subgradient)", "l1_step", (0.3, "subgradient"), {}),
    ("l1(0.3)", "l1_step", (0.3,), {}),
    ("decoupled_decay(0.5)", "decoupled_decay", (0.5,), {}),
    ("decoupled_decay(0.5, lr_scaled=False)", "decoupled_decay", (0.5,), {"lr_scaled": False}),
]


@pytest.fixture(params=["keras", "mlx"])
def framework(request: pytest.FixtureRequest) -> Framework:
    return KerasFramework() if request.param == "keras" else MLXFramework()


# ---------------------------------------------------------------------------
# The checks, shared by the registry's terms and a user's own.


def _check_penalty(fw: Framework, term: Term) -> None:
    weights = _weights()
    expected = float(term.penalty(weights, TORCH))
    value = fw.penalty(str(term), [fw.array(w) for w in weights])
    assert fw.dtype(value) == "float32"
    assert fw.number(value) == pytest.approx(expected, rel=RTOL, abs=1e-12)


def _check_chain(fw: Framework, spec: str) -> None:
    step = fw.rule(spec)
    reference = parse_regularization(spec).rule(TORCH)
    assert reference is not None
    for prev, proposed in _steps():
        out = step(fw.array(prev), fw.array(proposed), LR)
        expected = reference(prev, proposed, LR)
        torch.testing.assert_close(fw.back(out), expected, rtol=RTOL, atol=1e-7)


def _check_rule(fw: Framework, term: Term) -> None:
    step = fw.rule(str(term))
    for prev, proposed in _steps():
        # An inactive term (strength 0) is the identity: not even a crossing is clipped.
        expected = term.rule(TORCH)(prev, proposed, LR) if term.active else proposed
        for lr in fw.lrs:
            out = step(fw.array(prev), fw.array(proposed), lr)
            assert fw.dtype(out) == "float32"
            torch.testing.assert_close(fw.back(out), expected, rtol=RTOL, atol=1e-7)


# ---------------------------------------------------------------------------
# Penalties.


@pytest.mark.parametrize("term", _of_kind("penalty"))
def test_penalty_equals_torch(framework: Framework, term: Term) -> None:
    _check_penalty(framework, term)


@pytest.mark.parametrize("term", _of_kind("penalty", lambda t: t.active))
def test_half_precision_penalty_is_summed_in_float32(framework: Framework, term: Term) -> None:
    # Σw² of a million 0.3s is 90 000, past float16's 65 504.
    weight = torch.full((1000, 1000), 0.3, dtype=torch.float16)
    value = framework.penalty(str(term), [framework.array(weight)])
    assert framework.dtype(value) == "float32"
    expected = float(term.penalty([weight], TORCH))
    assert math.isfinite(expected)
    # A sum of a million float32 terms: its rounding, not the formula, sets the tolerance.
    assert framework.number(value) == pytest.approx(expected, rel=1e-5)


def test_penalty_presets_equal_the_generic_penalty(framework: Framework) -> None:
    arrays = [framework.array(w) for w in _weights()]
    for preset in PENALTY_PRESETS:
        value = framework.preset_penalty(preset, arrays)
        assert framework.number(value) == framework.number(framework.penalty(preset[0], arrays))


# ---------------------------------------------------------------------------
# Rules.


@pytest.mark.parametrize("term", _of_kind("rule"))
def test_rule_equals_torch(framework: Framework, term: Term) -> None:
    _check_rule(framework, term)


def test_inactive_rule_returns_the_proposed_weights_themselves(framework: Framework) -> None:
    inactive = [t for t in CASES if t.kind == "rule" and not t.active]
    assert inactive  # the strength-0 cases
    prev, proposed = (framework.array(t) for t in _steps()[0])
    for term in inactive:
        assert framework.rule(str(term))(prev, proposed, LR) is proposed


def test_rules_chain_in_stage_order_as_torch(framework: Framework) -> None:
    """One spec with the first active case of every rule term, written in reverse
    registration order: the frameworks, as torch, run them by stage."""
    rules = [t for t in CASES if t.kind == "rule" and t.active]
    chosen = {t.name: t for t in reversed(rules)}  # the first case of each name wins
    assert list(chosen) == sorted(chosen, key=list(REGISTRY).index, reverse=True)
    assert len(chosen) >= 3
    _check_chain(framework, "+".join(str(t) for t in chosen.values()))


def test_rule_presets_equal_the_generic_rule(framework: Framework) -> None:
    prev, proposed = (framework.array(t) for t in _steps()[1])
    for spec, name, args, kwargs in RULE_PRESETS:
        preset = getattr(framework.module, name)(*args, **kwargs)(prev, proposed, LR)
        generic = framework.rule(spec)(prev, proposed, LR)
        assert torch.equal(framework.back(preset), framework.back(generic)), spec


@pytest.mark.parametrize("term", _of_kind("rule", lambda t: t.name == "max_norm"))
def test_max_norm_caps_each_unit_in_the_frameworks_layout(framework: Framework, term: Term) -> None:
    bound = term.kwargs()["max_value"]
    for weight in _weights():
        before = framework.array(weight)
        after = framework.rule(str(term))(before, before, LR)
        norms_before, norms_after = framework.unit_norms(before), framework.unit_norms(after)
        over = norms_before > bound
        assert over.any() and not over.all()  # the test caps some units, not all
        assert norms_after[over] == pytest.approx(np.full(over.sum(), bound), rel=RTOL)
        assert np.array_equal(norms_after[~over], norms_before[~over])
        # Each unit is scaled as a whole (its direction is kept): in torch layout, row u
        # of the result is row u of the weight times min(1, bound/‖row u‖).
        scale = torch.from_numpy(np.minimum(1.0, bound / norms_before)).float()
        expected = weight * scale.reshape(-1, *[1] * (weight.dim() - 1))
        torch.testing.assert_close(framework.back(after), expected, rtol=RTOL, atol=1e-7)


# ---------------------------------------------------------------------------
# Layers.


@pytest.mark.parametrize("term", _of_kind("layer"))
def test_layer_equals_torch_at_inference_and_in_training(framework: Framework, term: Term) -> None:
    g = torch.Generator().manual_seed(2)
    x_t = torch.rand(20_000, generator=g) + 0.5  # no zeros: a zero output is a dropped unit
    x = framework.array(x_t)
    layer = framework.layer(term, seed=0)
    inference = framework.back(layer(x, False))
    torch.testing.assert_close(inference, term.layer(TORCH, x_t, None, False), rtol=RTOL, atol=0)
    out = framework.back(layer(x, True))
    keep = out != 0
    torch.testing.assert_close(out, term.layer(TORCH, x_t, keep, True), rtol=RTOL, atol=0)
    p = term.canonical().dropout[0] if term.canonical().dropout else 0.0
    # 20 000 Bernoulli(1 − p) draws: the kept fraction's standard error is at most 0.0036.
    assert keep.float().mean().item() == pytest.approx(1 - p, abs=0.02)
    again = framework.back(framework.layer(term, seed=0)(x, True))
    assert torch.equal(again, out)  # the same seed drops the same units


def test_a_term_object_works_as_its_spec_string(framework: Framework) -> None:
    arrays = [framework.array(w) for w in _weights()]
    prev, proposed = (framework.array(t) for t in _steps()[0])
    for term in CASES:
        if term.kind == "penalty":
            by_term, by_text = (framework.penalty(s, arrays) for s in (term, str(term)))
            assert framework.number(by_term) == framework.number(by_text)
        elif term.kind == "rule":
            by_term, by_text = (framework.rule(s)(prev, proposed, LR) for s in (term, str(term)))
            assert torch.equal(framework.back(by_term), framework.back(by_text))


# ---------------------------------------------------------------------------
# A term of the wrong kind is refused, in weightlab's one error format.


def _kind_message(owner: tuple[str, str], kind: str, term: Term, *, one: bool) -> str:
    names = ", ".join(n for n, e in REGISTRY.items() if kind in e.kinds())
    expected = f"a {kind} term ({names})" if one else f"{kind} terms ({names}) joined by '+'"
    return (
        f"The {owner[1]!r} parameter of {owner[0]} must be {expected}. "
        f"Got {str(term)!r}, a {term.kind} term."
    )


@pytest.mark.parametrize("term", [pytest.param(t, id=str(t)) for t in CASES])
def test_a_term_of_the_wrong_kind_is_refused(framework: Framework, term: Term) -> None:
    if term.kind != "penalty":
        message = _kind_message(framework.penalty_owner, "penalty", term, one=True)
        with pytest.raises(ValueError, match=re.escape(message)):
            framework.penalty(str(term), [])
    if term.kind != "rule":
        message = _kind_message(framework.rule_owner, "rule", term, one=False)
        with pytest.raises(ValueError, match=re.escape(message)):
            framework.rule(str(term))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda fw: fw.penalty("l2(0.1)+elastic_net(0.1)", []),
            ValueError,
            "must be a penalty term (l1, l2, elastic_net). Got 'l2(0.1)+elastic_net(0.1)'.",
        ),
        (
            lambda fw: fw.penalty(3, []),
            TypeError,
            "must be a spec string such as 'l2(0.001)' or a Term. Got 3.",
        ),
        (
            lambda fw: fw.rule("none"),
            ValueError,
            "The 'spec' parameter of rule must be rule terms (l1, decoupled_decay, max_norm) joined by '+'. Got 'none'.",
        ),
        (
            lambda fw: fw.rule(None),
            TypeError,
            "The 'spec' parameter of rule must be a spec string such as 'l1(0.001)+decoupled_decay(0.01)' or a Term. Got None.",
        ),
        (
            lambda fw: fw.rule("max_norm(0)"),
            ValueError,
            "The 'max_value' parameter of max_norm must be a float > 0. Got 0.0.",
        ),
        (
            lambda fw: fw.rule("max_nrom(3)"),
            ValueError,
            "The 'regularization' parameter of regularization must be one of 'none', 'l1'",
        ),
    ],
)
def test_bad_specs_raise_the_one_error_format(
    framework: Framework, call: Callable[[Framework], Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call(framework)


# ---------------------------------------------------------------------------
# Keras objects serialize; a user's own term works in both frameworks unchanged.


@pytest.mark.parametrize("term", [*_of_kind("penalty"), *_of_kind("layer")])
def test_keras_objects_round_trip(term: Term) -> None:
    fw = KerasFramework()
    if term.kind == "penalty":
        obj = fw.wk.Penalty(str(term))
        assert obj.get_config() == {"term": str(term)}
    else:
        obj = fw.wk.Dropout(term.kwargs()["p"], mode=term.kwargs()["mode"], seed=3)
    config = fw.keras.saving.serialize_keras_object(obj)
    assert config["registered_name"] == f"weightlab>{type(obj).__name__}"
    clone = fw.keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(obj)
    assert clone.get_config() == obj.get_config()
    if term.kind == "penalty":
        assert clone.term == term
        w = fw.array(_weights()[1])
        assert fw.number(clone(w)) == fw.number(obj(w))


def _quartic(ops: ArrayOps, weights: list[Any], *, strength: Any) -> Any:
    """Quartic penalty ``λ·Σw⁴``."""
    total: Any = 0.0
    for w in weights:
        w = ops.wide(w)
        total = total + ops.total(ops.square(ops.square(w)))
    return ops.coef(strength, total) * total


def _pull(ops: ArrayOps, prev: Any, proposed: Any, lr: Any, *, rate: Any, target: Any) -> Any:
    """Pull toward ``target``: ``w ← w − lr·rate·(w − target)``."""
    return proposed - ops.coef(lr * rate, proposed) * (proposed - target)


@pytest.fixture
def user_terms() -> Iterator[list[Term]]:
    """Two terms registered by a user, removed again after the test."""
    strength = REGISTRY["l2"].params[0].rule
    step = Canonical(step=True)
    register("quartic", [Param("strength", strength, example=0.3)], penalty=_quartic,
             canonical=lambda p: Canonical(), effect="shrinkage")  # fmt: skip
    register("pull", [Param("rate", strength, example=0.5), Param("target", Interval(), 0.0)],
             rule=_pull, canonical=lambda p: step, effect="shrinkage")  # fmt: skip
    try:
        yield [make_term("quartic", strength=0.3), make_term("pull", rate=0.5, target=0.25)]
    finally:
        del REGISTRY["quartic"], REGISTRY["pull"]


def test_a_user_registered_term_works_without_adapter_changes(
    framework: Framework, user_terms: list[Term]
) -> None:
    quartic, pull = user_terms
    _check_penalty(framework, quartic)
    _check_rule(framework, pull)
    _check_chain(framework, "max_norm(0.3)+pull(0.5, target=0.25)")
