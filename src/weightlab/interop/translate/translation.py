"""The public function: :func:`translate`, and the :class:`Translation` it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from weightlab._validate import fail
from weightlab.interop.translate.backends import keras_backend_notes, traced_decay_caveat
from weightlab.interop.translate.components import Call
from weightlab.interop.translate.meanings import (
    FRAMEWORKS,
    OPTIMIZER_FAMILIES,
    DropoutMeaning,
    InitMeaning,
    Meaning,
    UpdateMeaning,
)
from weightlab.interop.translate.parse import meaning_of, parse_setting
from weightlab.interop.translate.plan import (
    _PLANS,
    _doc,
    _eps_caveat,
    _family,
    _float32_caveat,
    _plan_weightlab,
    _Render,
    _update_formula,
)
from weightlab.interop.translate.plan_init import (
    _call,
    _init_caveats,
    _init_formula,
    _plan_init,
)
from weightlab.interop.translate.weightlab_terms import term_for, term_of
from weightlab.regularize.registry import Canonical

__all__ = ["Translation", "translate"]


@dataclass(frozen=True)
class Translation:
    """A setting written in another framework, with why and how exactly.

    Attributes:
        source: the source setting, normalized (every argument written out).
        target: the target framework.
        settings: code lines in the target framework that together make the setting.
        formula: the conversion, one line per term.
        explanation: why these settings are equivalent.
        caveats: where the match is not exact, or is easily misapplied.
        exact: True when the two agree up to float rounding.
        tolerance: for optimizers and penalties, the largest weight difference over the
            equivalence tests' 20 steps; for initializers, the allowed relative
            difference of standard deviations beyond sampling error; 0 for dropout.
        target_setting: the target as a setting this module reads back
            (``parse_setting``), and that :mod:`weightlab.interop.trajectory` trains.
        alternatives: other ways to write it in the target framework.
        meaning: the canonical meaning both sides share.
        keras_backends: where Keras is on either side, the Keras backends the mapping is
            checked on (:data:`~weightlab.interop.translate.KERAS_BACKENDS`); else empty.
        checked: where Keras is on either side, one sentence: the backends and what was
            checked on each; else empty.
        backend_notes: what differs between Keras' backends for this setting, as
            measured (see :mod:`weightlab.interop.translate.backends`).
    """

    source: str
    target: str
    settings: list[str]
    formula: str
    explanation: str
    caveats: list[str]
    exact: bool
    tolerance: float
    target_setting: str
    alternatives: list[str]
    meaning: Meaning
    keras_backends: list[str]
    checked: str
    backend_notes: list[str]

    def to_json(self) -> dict[str, Any]:
        """Plain types only, for ``--json``."""
        payload = asdict(self)
        payload["meaning"] = asdict(self.meaning)
        return payload


def translate(setting: str, to: str) -> Translation:
    """Write ``setting`` in the conventions of the framework ``to``.

    Args:
        setting: ``framework:Name(args)``, several joined by ``+`` for an optimizer with
            penalties, e.g. ``"keras:L2(0.01)"``, ``"torch:AdamW(weight_decay=0.01)"``,
            ``"keras:Adam(learning_rate=1e-3) + L2(1e-4)"``, ``"mlx:he_normal()"``,
            ``"weightlab:l2(0.01) + max_norm(3)"``.  :func:`supported` lists the names.
        to: a framework (``torch``, ``keras``, ``mlx``, ``weightlab``; weightlab for
            initializers, dropout and settings without an optimizer), optionally with the
            optimizer to use: ``torch:sgd``, ``keras:adamw``.

    Returns:
        A :class:`Translation`.

    Raises:
        ValueError: an unknown framework or setting, a bad argument, or a pair that
            cannot be translated; the message lists what is supported.

    Example:
        >>> t = translate("torch:AdamW(weight_decay=0.01)", to="keras")
        >>> t.target_setting
        'keras:AdamW(learning_rate=0.001, weight_decay=0.01, epsilon=1e-08)'
        >>> t.exact, t.tolerance  # Keras puts ε on √v, torch on √v̂
        (False, 0.001)

    Keras' ``L2(λ)`` adds ``λΣw²`` and torch's ``weight_decay=λ′`` adds ``λ′w`` to the
    gradient, so ``λ′ = 2λ``; AdamW's decoupled decay is Loshchilov & Hutter 2019;
    initializer variances follow Glorot & Bengio 2010 and He et al. 2015.
    """
    calls = parse_setting(setting)
    framework, family = _parse_target(to)
    meaning = meaning_of(calls)
    source = f"{calls[0].framework}:" + " + ".join(c.spec() for c in calls)
    r = _Render()
    if isinstance(meaning, UpdateMeaning):
        if framework == "weightlab":
            if family is not None:
                raise _bad_target(
                    to, "'weightlab' without an optimizer (its terms go beside yours)"
                )
            target_calls = _plan_weightlab(meaning, to)
        else:
            chosen = _family(meaning, family, to)
            target_calls = _PLANS[framework](meaning, chosen, r)
            _eps_caveat(meaning, framework, chosen, r)
        _float32_caveat([*calls, *target_calls], r)
        traced = traced_decay_caveat([*calls, *target_calls])
        r.caveats += [traced] if traced else []
        formula = _update_formula(meaning, calls, target_calls)
        explanation = _update_explanation(meaning, calls, target_calls, r)
    elif isinstance(meaning, InitMeaning):
        _no_family(family, to, "an initializer")
        target_calls = _plan_init(meaning, framework, r)
        _init_caveats(calls, meaning, target_calls, r)
        r.tolerance = 0.0
        formula = _init_formula(meaning)
        explanation = _init_explanation(calls, target_calls, r)
    else:
        _no_family(family, to, "dropout")
        target_calls = [_dropout_call(meaning, framework, to)]
        r.tolerance = 0.0
        if framework == "keras" or calls[0].framework == "keras":
            r.caveats.append(
                "Keras drops only when the layer is called with training=True (fit does)."
            )
        formula, explanation = _DROPOUT_TEXT[meaning.mode]
    lines = [line for c in target_calls for line in c.component.code(c, target_calls)] + r.extra
    prefix = target_calls[0].framework
    backends, checked, backend_notes = keras_backend_notes([*calls, *target_calls], meaning)
    return Translation(
        source=source,
        target=framework,
        settings=lines,
        formula=formula,
        explanation=explanation,
        caveats=r.caveats,
        exact=r.exact,
        tolerance=r.tolerance,
        target_setting=f"{prefix}:" + " + ".join(c.spec(False) for c in target_calls),
        alternatives=r.alternatives,
        meaning=meaning,
        keras_backends=backends,
        checked=checked,
        backend_notes=backend_notes,
    )


_DROPOUT_TEXT = {
    "inverted": (
        "training: y = x·m/(1 − p), m ~ Bernoulli(1 − p); evaluation: y = x",
        "All three frameworks use inverted dropout: kept units are scaled by 1/(1 − p) "
        "during training, so nothing changes at evaluation. Srivastava et al. (2014) "
        "describe the original form, which instead scales weights by 1 − p at test time.",
    ),
    "classic": (
        "training: y = x·m, m ~ Bernoulli(1 − p); evaluation: y = x·(1 − p)",
        "Classic dropout is the original form (Srivastava et al. 2014): kept units pass "
        "unscaled during training and every unit is scaled by 1 − p at evaluation, which "
        "gives the same expected output. torch, Keras and MLX build in only inverted "
        "dropout, so weightlab's Dropout layer for the framework does it (mode='classic').",
    ),
}


def _dropout_call(m: DropoutMeaning, framework: str, to: str) -> Call:
    """The framework's own Dropout for inverted dropout, weightlab's layer for classic
    dropout, and for weightlab the registered term whose canonical meaning it is."""
    if framework == "weightlab":
        term = term_for(Canonical(dropout=(m.p, m.mode)))
        if term is None:
            raise _bad_target(to, "'torch', 'keras' or 'mlx' for this dropout")
        return Call("weightlab", term.name, term.params)
    param = "rate" if framework == "keras" else "p"
    if m.mode == "inverted":
        return _call(framework, "Dropout", **{param: m.p})
    return _call(framework, "weightlab_dropout", **{param: m.p, "mode": m.mode})


def _parse_target(to: str) -> tuple[str, str | None]:
    options = ", ".join(repr(f) for f in FRAMEWORKS)
    expected = (
        f"a framework ({options}), optionally with an optimizer: 'torch:sgd', 'keras:adam', "
        "'mlx:adamw'"
    )
    if not isinstance(to, str):
        raise fail("translate", "to", expected, to, wrong_type=True)
    framework, _, family = to.strip().lower().partition(":")
    if framework not in FRAMEWORKS:
        raise fail("translate", "to", expected, to)
    if family and family not in OPTIMIZER_FAMILIES:
        raise fail(
            "translate",
            "to",
            f"{framework!r} or {framework}:name with name one of "
            + ", ".join(repr(f) for f in OPTIMIZER_FAMILIES),
            to,
        )
    return framework, family or None


def _no_family(family: str | None, to: str, what: str) -> None:
    if family is not None:
        raise _bad_target(
            to,
            f"a framework without an optimizer ('torch', 'keras', 'mlx', 'weightlab') for {what}",
        )


def _bad_target(to: str, expected: str) -> Exception:
    return fail("translate", "to", expected, to)


def _update_explanation(
    m: UpdateMeaning, source: Sequence[Call], target: Sequence[Call], r: _Render
) -> str:
    parts = []
    if m.coupled:
        parts.append(
            "Coupled L2 adds c·w to the gradient before the optimizer sees it, so it enters "
            "momentum and Adam's moment estimates exactly as a penalty's gradient would: the "
            "match is step for step for SGD, momentum and (coupled) Adam alike."
        )
    if m.decoupled:
        parts.append(
            "Decoupled decay shrinks the weights by lr·d·w beside the optimizer's step, where "
            "Adam's normalization does not rescale it (Loshchilov & Hutter 2019); torch's and "
            "MLX's AdamW and every Keras optimizer's weight_decay scale it by the learning rate."
        )
    if m.l1:
        parts.append(
            "L1 adds λ·sign(w) to the gradient, as the penalty λΣ|w| in the loss does "
            "(Tibshirani 1996)."
        )
    if (
        m.optimizer == "sgd"
        and m.momentum
        and any(c.framework == "keras" for c in (*source, *target))
    ):
        parts.append(
            "Keras keeps its momentum buffer as v ← μv − lr·g, w ← w + v; torch and MLX keep "
            "v ← μv + g, w ← w − lr·v: the same steps for a constant learning rate."
        )
    parts += _weightlab_explanation(m, source, target)
    if m.optimizer is None:
        parts.append("The source names no optimizer: lr=lr stands for your learning rate.")
    return " ".join(parts + r.notes)


_ADAPTERS = {
    "torch": "weightlab.regularize.RegularizedOptimizer",
    "weightlab": "weightlab.regularize.RegularizedOptimizer",
    "keras": "the callback weightlab.keras.WeightRules",
    "mlx": "weightlab.mlx.RegularizedOptimizer",
}
_PENALTY_ADAPTERS = {
    "torch": "weightlab.regularize.parse_regularization(spec).penalty",
    "weightlab": "weightlab.regularize.parse_regularization(spec).penalty",
    "keras": "the regularizer weightlab.keras.Penalty",
    "mlx": "weightlab.mlx.penalty",
}


def _weightlab_explanation(
    m: UpdateMeaning, source: Sequence[Call], target: Sequence[Call]
) -> list[str]:
    """What weightlab's terms in the setting mean, and each penalty and step no framework
    has built in, from the registry's docstrings."""
    terms = [term_of(c) for c in (*source, *target) if c.framework == "weightlab"]
    own = (*m.steps, *m.penalties)
    parts = [f"weightlab:{t}: {_doc(str(t))[0]}" for t in terms if str(t) not in own]
    if terms:
        parts.append(
            "weightlab applies its terms to the weights select_params picks (kernels, not biases)."
        )
    penalty = _PENALTY_ADAPTERS[target[0].framework]
    for term in m.penalties:
        rest = _doc(term)[1]
        parts.append(
            f"{term} is a loss term no framework has built in: {penalty} adds its registered "
            "arithmetic (the penalty in the formula) over the kernels to the loss, so its "
            f"gradient is the same and the match is exact.{' ' + rest if rest else ''}"
        )
    adapter = _ADAPTERS[target[0].framework]
    for step in m.steps:
        rest = _doc(step)[1]
        parts.append(
            f"{step} is an update rule no framework has built in: {adapter} applies its "
            "registered arithmetic (the step in the formula) to the kernels after each "
            f"optimizer step, so the match is exact.{' ' + rest if rest else ''}"
        )
    return parts


def _plain(text: str) -> str:
    return text.replace("``", "").rstrip(".")


def _init_explanation(source: Sequence[Call], target: Sequence[Call], r: _Render) -> str:
    src, tgt = source[0], target[0]
    parts = [
        f"{src.framework}:{src.name}: {_plain(src.component.summary)}.",
        f"{tgt.framework}:{tgt.name}: {_plain(tgt.component.summary)}.",
        "Fans: torch and MLX weights are [out, in], Keras kernels [in, out]; each computes "
        "fan_in and fan_out for its own layout, so the same layer gets the same variance.",
    ]
    return " ".join(parts + r.notes)
