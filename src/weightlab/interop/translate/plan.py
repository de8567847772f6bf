"""Rendering an optimizer, penalty or decay meaning in a target framework, with its
formula and caveats."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from weightlab._validate import fail
from weightlab.interop.translate.components import Call, Knob
from weightlab.interop.translate.meanings import (
    EPS_TOLERANCE,
    EXACT_TOLERANCE,
    FLOAT32_POWER_TOLERANCE,
    LR,
    Amount,
    UpdateMeaning,
)
from weightlab.interop.translate.show import _clean, _show
from weightlab.interop.translate.vocabulary import COMPONENTS
from weightlab.interop.translate.weightlab_terms import spec_of, term_for, term_of
from weightlab.regularize.registry import Canonical, parse_regularization, parse_term


@dataclass
class _Render:
    """What a renderer produces besides its calls: notes, caveats and exactness."""

    notes: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    exact: bool = True
    tolerance: float = EXACT_TOLERANCE
    extra: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)


def _fill(framework: str, name: str, m: UpdateMeaning, terms: Mapping[str, Amount]) -> Call:
    """A target call with the meaning's optimizer fields and the given term amounts."""
    comp = COMPONENTS[framework][name]
    args = dict(comp.params)
    for p, f in comp.fields.items():
        if p not in args:
            continue
        if f == "lr":
            args[p] = LR if m.lr is None else m.lr
        elif m.optimizer is None:
            continue  # a penalty alone says nothing about the optimizer's other settings
        elif f == "betas":
            args[p] = (m.beta1, m.beta2)
        else:
            args[p] = getattr(m, f)
    for knob in comp.knobs:
        amount = terms.get(knob.term, Amount())
        value = _clean(amount.value / knob.factor)
        args[knob.param] = None if value == 0.0 and comp.default(knob.param) is None else value
        if amount and "on" in args:
            args["on"] = amount.scope
    return Call(framework, name, tuple(args.items()))


def _family(m: UpdateMeaning, wanted: str | None, to: str) -> str:
    if m.optimizer is None:
        return wanted or "sgd"
    if wanted is None:
        return "adamw" if m.optimizer == "adam" and m.decoupled else m.optimizer
    allowed = ("sgd",) if m.optimizer == "sgd" else ("adam", "adamw")
    if wanted not in allowed:
        fw = to.strip().lower().partition(":")[0]
        options = " or ".join(repr(f"{fw}:{a}") for a in allowed)
        kind = {"sgd": "SGD", "adam": "Adam"}[m.optimizer]
        expected = f"{fw!r} or {options} for {kind} settings"
        raise fail("translate", "to", expected, to)
    return wanted


def _plain_sgd(m: UpdateMeaning) -> bool:
    """SGD without momentum, where coupled and decoupled decay are the same step (not a
    penalty alone: its optimizer is unknown)."""
    return m.optimizer == "sgd" and m.momentum == 0.0


def _fold_note(target: str) -> str:
    return (
        f"Without momentum, decoupled decay and {target}'s coupled weight_decay are the same "
        "step: w − lr·(g + d·w) (the gradient is taken before either acts)."
    )


def _plan_torch(m: UpdateMeaning, family: str, r: _Render) -> list[Call]:
    coupled, decoupled = m.coupled, m.decoupled
    if family == "sgd":
        if decoupled and _plain_sgd(m) and coupled.fits(decoupled):
            r.notes.append(_fold_note("torch"))
            coupled, decoupled = coupled + decoupled, Amount()
        calls = [_fill("torch", "SGD", m, {"coupled": coupled})]
    elif family == "adamw" or (not m.bias_correction and decoupled):
        if family == "adam":
            r.notes.append("torch's Adam cannot take per-step decay here; AdamW does.")
        calls = [_fill("torch", "AdamW", m, {"decoupled": decoupled})]
        decoupled = Amount()
        if coupled:
            calls.append(_fill("torch", "penalty_l2", m, {"coupled": coupled}))
            r.notes.append(
                "AdamW's weight_decay is decoupled, so coupled L2 goes into the loss: "
                "(c/2)·Σw² has gradient c·w."
            )
    else:
        calls = [_fill("torch", "Adam", m, {"coupled": coupled})]
    steps = m.steps
    joins = decoupled and steps and decoupled.scope == "kernels"
    decay = term_for(Canonical(decoupled=decoupled.kernel)) if joins else None
    if decay is not None:  # one RegularizedOptimizer: the decay becomes a step
        steps = (str(decay), *steps)
        r.notes.append(
            f"The decoupled decay on the kernels joins the steps as {decay}, the term whose "
            "meaning is w ← w − lr·d·w, so one RegularizedOptimizer applies both (the decay "
            "first)."
        )
    elif decoupled:
        calls.append(_fill("torch", "decoupled_decay", m, {"decoupled": decoupled}))
        r.notes.append(
            "torch has no decoupled decay for this optimizer; weightlab's RegularizedOptimizer "
            "applies w ← w − lr·d·w beside its step."
        )
        if steps:
            r.notes.append(
                "The steps' RegularizedOptimizer wraps the decay's: each step the decay "
                "runs first (on every weight it names), then the steps (on the kernels)."
            )
    if not m.bias_correction:
        calls.append(Call("torch", "no_bias_correction", ()))
    if m.l1:
        calls.append(_fill("torch", "penalty_l1", m, {"l1": m.l1}))
    calls += _plan_penalties(m, "torch", r)
    return calls + _plan_steps(replace(m, steps=steps), "torch", r)


def _plan_mlx(m: UpdateMeaning, family: str, r: _Render) -> list[Call]:
    coupled, decoupled = m.coupled, m.decoupled
    if family == "sgd":
        if decoupled and _plain_sgd(m) and decoupled.scope == "all" and coupled.fits(decoupled):
            r.notes.append(_fold_note("MLX"))
            coupled, decoupled = coupled + decoupled, Amount()
        in_optimizer = coupled if coupled.scope == "all" else Amount()
        calls = [_fill("mlx", "SGD", m, {"coupled": in_optimizer})]
        if coupled and not in_optimizer:
            r.notes.append(
                "MLX's SGD weight_decay touches every parameter; a loss term keeps it to "
                "the kernels."
            )
        else:
            coupled = Amount()
    elif family == "adamw" and decoupled.scope == "all":
        calls = [_fill("mlx", "AdamW", m, {"decoupled": decoupled})]
        decoupled = Amount()
    else:
        calls = [_fill("mlx", "Adam", m, {})]
    if coupled and family != "sgd":
        r.notes.append(
            "MLX's Adam and AdamW have no coupled weight_decay, so L2 goes into the loss: "
            "(c/2)·Σw² has gradient c·w."
        )
    if coupled:
        calls.append(_fill("mlx", "penalty_l2", m, {"coupled": coupled}))
    if decoupled:
        calls.append(_fill("mlx", "decoupled_decay", m, {"decoupled": decoupled}))
        r.notes.append("The decay is written as its own step before optimizer.update.")
    if m.l1:
        calls.append(_fill("mlx", "penalty_l1", m, {"l1": m.l1}))
    calls += _plan_penalties(m, "mlx", r)
    return calls + _plan_steps(m, "mlx", r)


def _plan_keras(m: UpdateMeaning, family: str, r: _Render) -> list[Call]:
    # Keras' optimizers decay decoupled; coupled L2 and L1 are regularizers on the layers.
    coupled, decoupled = m.coupled, m.decoupled
    if family == "sgd" and coupled and _plain_sgd(m) and coupled.fits(decoupled):
        r.notes.append(_fold_note("Keras") + " Keras' weight_decay therefore carries it.")
        coupled, decoupled = Amount(), coupled + decoupled
    name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}[family]
    calls = [_fill("keras", name, m, {"decoupled": decoupled})]
    if coupled:
        r.notes.append(
            "No Keras optimizer option is coupled L2 (every weight_decay is decoupled), so it "
            "becomes a regularizer: L2(l2) adds l2·Σw², whose gradient 2·l2·w is c·w for "
            "l2 = c/2 and enters momentum and Adam's moments as a coupled weight_decay does."
        )
    if coupled and m.l1 and coupled.scope == m.l1.scope:
        calls.append(_fill("keras", "L1L2", m, {"coupled": coupled, "l1": m.l1}))
    else:
        if m.l1:
            calls.append(_fill("keras", "L1", m, {"l1": m.l1}))
        if coupled:
            calls.append(_fill("keras", "L2", m, {"coupled": coupled}))
    calls += _plan_penalties(m, "keras", r)
    if not m.bias_correction:
        calls.append(Call("keras", "no_bias_correction", ()))
    return calls + _plan_steps(m, "keras", r)


def _plan_steps(m: UpdateMeaning, framework: str, r: _Render) -> list[Call]:
    """The steps in one ``weightlab_rules`` call (weightlab's adapter for the framework),
    and each term's own code in the framework, where its registry entry has one, as an
    alternative with its caveat."""
    if not m.steps:
        return []
    _natives(m.steps, framework, r)
    return [Call(framework, "weightlab_rules", (("spec", spec_of(m.steps)),))]


def _plan_penalties(m: UpdateMeaning, framework: str, r: _Render) -> list[Call]:
    """The loss terms no framework has built in, in one ``weightlab_penalty`` call
    (weightlab's adapter for the framework), with their own code as alternatives."""
    if not m.penalties:
        return []
    _natives(m.penalties, framework, r)
    return [Call(framework, "weightlab_penalty", (("spec", spec_of(m.penalties)),))]


def _natives(terms: Sequence[str], framework: str, r: _Render) -> None:
    """Each term's own code in ``framework``, where its registry entry has one."""
    for text in terms:
        term = parse_term(text)
        native = term.entry.native.get(framework)
        if native is not None:
            code, caveat = native
            r.alternatives.append(code.format(**{k: _show(v) for k, v in term.params}))
            if caveat:
                own = f"The alternative for {text}, written with the framework's own objects"
                r.caveats.append(f"{own}: {caveat}")


def _plan_weightlab(m: UpdateMeaning, to: str) -> list[Call]:
    """weightlab's terms for a setting without an optimizer: the steps and penalties
    themselves, and for each amount the registered term whose canonical meaning it is
    (:func:`term_for`)."""
    terms = [parse_term(term) for term in (*m.steps, *m.penalties)]
    problems = ["with an optimizer"] if m.optimizer is not None else []
    for name in ("l1", "coupled", "decoupled"):
        amount = m.term(name)
        needed: dict[str, Any] = {name: amount.kernel}
        term = term_for(Canonical(**needed)) if amount else None
        if amount.bias:
            problems.append("that regularizes biases (weightlab's terms act on kernels only)")
        elif amount and term is None:
            problems.append(f"whose {name} amount no registered weightlab term means")
        terms += [term] if term is not None else []
    names = [t.name for t in terms]
    problems += ["that needs a weightlab term twice"] if len(set(names)) != len(names) else []
    problems += ["that regularizes nothing"] if not terms else []
    if problems:
        raise fail("translate", "to", f"'torch', 'keras' or 'mlx' for a setting {problems[0]}", to)
    return [
        Call("weightlab", t.name, t.params) for t in parse_regularization("+".join(map(str, terms)))
    ]


_PLANS: dict[str, Callable[[UpdateMeaning, str, _Render], list[Call]]] = {
    "torch": _plan_torch,
    "keras": _plan_keras,
    "mlx": _plan_mlx,
}


def _float32_caveat(calls: Sequence[Call], r: _Render) -> None:
    if any(c.framework == "keras" and c.name == "no_bias_correction" for c in calls):
        r.tolerance = FLOAT32_POWER_TOLERANCE
        r.caveats.append(
            "Exact in exact arithmetic, but Keras evaluates β₂ᵗ in float32 (0.999 is stored "
            "as 0.99900001), so at t = 1 its 1 − β₂ᵗ is off by about 1.3·10⁻⁵ relative to "
            "a c computed in float64; the trajectories agree to about 10⁻⁵ over 20 steps "
            "(2·10⁻⁷ when c is computed from float32 betas)."
        )


def _eps_caveat(m: UpdateMeaning, framework: str, family: str, r: _Render) -> None:
    if family == "sgd" or m.optimizer is None:
        return
    if not m.bias_correction:
        if framework != "mlx":
            rest = (
                ", and ε/√(1 − β₂ᵗ)." if framework == "torch" else " (Keras' ε̂ already sits on √v)."
            )
            r.notes.append(
                "MLX's Adam applies no bias correction by default (w ← w − lr·m/(√v + ε)); "
                f"{framework} always corrects, so the setting undoes it before each step t: "
                "lr·c and weight_decay/c with c = (1 − β₁ᵗ)/√(1 − β₂ᵗ)" + rest
            )
        return
    if m.eps_hat == (framework == "keras"):
        return
    src = "Keras adds ε̂ to √v" if m.eps_hat else "torch and MLX (bias_correction=True) add ε to √v̂"
    dst = f"{framework} adds ε to √v̂" if m.eps_hat else "Keras adds ε̂ to √v"
    r.exact = False
    r.tolerance = EPS_TOLERANCE
    r.alternatives.append(_exact_eps(m, framework))
    r.caveats.append(
        f"ε sits in a different place: {src}, {dst}. Keras' update is "
        "lr·m̂/(√v̂ + ε̂/√(1 − β₂ᵗ)), so the same ε acts 1/√(1 − β₂ᵗ) times larger in Keras "
        f"({1 / math.sqrt(1 - m.beta2):.3g}× at step 1, 1.01× after 2 500 steps with "
        "β₂ = 0.999). A step's relative difference is about |Δε|/(√v̂ + ε): negligible "
        "for weights whose gradients are much larger than ε, not for those with "
        f"near-zero gradients, and concentrated in the first steps (up to about 5·10⁻⁴ in "
        f"the equivalence tests' 20 steps at lr = 0.01; {EPS_TOLERANCE:g} is the bound they "
        "hold). The alternative sets ε per step and matches exactly."
    )


def _exact_eps(m: UpdateMeaning, framework: str) -> str:
    """The per-step ε that moves ε to where the source framework puts it."""
    eps, b2 = _show(m.eps), _show(m.beta2)
    if framework == "keras":
        value = f"{eps} * math.sqrt(1 - {b2} ** t)"
        return f"optimizer.epsilon = {value}  # before training step t = 1, 2, ...: exact"
    value = f"{eps} / math.sqrt(1 - {b2} ** t)"
    if framework == "mlx":
        return f"optimizer.eps = {value}  # before update t = 1, 2, ...: exact"
    return (
        f"for group in optimizer.param_groups: group['eps'] = {value}  "
        "# before step t = 1, 2, ...: exact"
    )


_TERMS = (
    ("coupled", "c", "L2 in the gradient: g ← g + c·w"),
    ("decoupled", "d", "decoupled decay: w ← w − lr·d·w"),
    ("l1", "λ", "L1: g ← g + λ·sign(w)"),
)


def _update_formula(m: UpdateMeaning, source: Sequence[Call], target: Sequence[Call]) -> str:
    lines = []
    if m.optimizer == "sgd":
        lr = "lr" if m.lr is None else _show(m.lr)
        lines.append(f"SGD: v ← {_show(m.momentum)}·v + g, w ← w − {lr}·v")
    elif m.optimizer == "adam":
        step = (
            "w ← w − lr·m/(√v + ε) (no bias correction)"
            if not m.bias_correction
            else "w ← w − lr·m̂/(√v + ε̂)·√(1 − β₂ᵗ)"
            if m.eps_hat
            else "w ← w − lr·m̂/(√v̂ + ε)"
        )
        lines.append(
            f"Adam: lr = {_show(m.lr) if m.lr else 'lr'}, β = ({_show(m.beta1)}, "
            f"{_show(m.beta2)}), ε = {_show(m.eps)}: {step}"
        )
    for term, symbol, text in _TERMS:
        amount = m.term(term)
        if amount:
            where = " (kernels only)" if amount.scope == "kernels" else " (all weights)"
            lines.append(f"{text}, {symbol} = {_show(amount.value)}{where}")
    lines += [
        f"penalty {term}, added to the loss, on kernels: {_doc(term)[0]}" for term in m.penalties
    ]
    lines += [
        f"step {step}, after each optimizer step, on kernels: {_doc(step)[0]}" for step in m.steps
    ]
    for side, calls in (("source", source), ("target", target)):
        lines += [
            f"{side} {_knob_text(c, k)}" for c in calls for k in c.component.knobs if c.arg(k.param)
        ]
        lines += [f"{side} {_declared_text(c)}" for c in calls if c.component.meaning is not None]
    return "\n".join(lines)


def _doc(step: str) -> tuple[str, str]:
    """A term's formula and paper (its docstring) as plain text: the first paragraph,
    and the rest."""
    paragraphs = [" ".join(p.split()).replace("``", "") for p in parse_term(step).doc.split("\n\n")]
    return paragraphs[0], " ".join(paragraphs[1:])


def _declared_text(call: Call) -> str:
    """What a row whose meaning its arguments declare (a weightlab term, an adapter's
    steps) amounts to: ``weightlab:l2(0.01) means c = 0.01``."""
    meaning = call.component.meaning
    assert meaning is not None
    part = meaning(dict(call.args))
    assert isinstance(part, UpdateMeaning)
    said = [f"{symbol} = {_show(part.term(t).value)}" for t, symbol, _ in _TERMS if part.term(t)]
    said += [f"the penalty {term}" for term in part.penalties]
    said += [f"the step {step}" for step in part.steps]
    name = str(term_of(call)) if call.framework == "weightlab" else call.spec(False)
    return f"{call.framework}:{name} means {', '.join(said) or 'nothing (a strength of 0)'}"


def _knob_text(call: Call, knob: Knob) -> str:
    symbol = {t: s for t, s, _ in _TERMS}[knob.term]
    factor = "" if knob.factor == 1.0 else f"{knob.factor:g}·"
    value = _show(call.arg(knob.param))
    where = f"{call.framework}:{call.name}({knob.param}={value})"
    return f"{where} {knob.says}: {symbol} = {factor}{knob.param}"
