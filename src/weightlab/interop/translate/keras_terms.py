"""Keras' settings: its optimizers (every weight_decay decoupled), regularizers, dropout
and initializers, and the per-step recipe that undoes Adam's bias correction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from weightlab._validate import POSITIVE, STRENGTH, OneOf
from weightlab.interop.translate.components import REQUIRED, Call, Component, Knob
from weightlab.interop.translate.meanings import InitMeaning
from weightlab.interop.translate.shared_terms import (
    _DECAY_OR_NONE,
    _DECOUPLED,
    _FAN,
    _LR,
    _ON,
    _UNIT_OPEN,
    _adapter_dropout,
    _dropout_code,
    _fixed,
    _optimizer_of,
)
from weightlab.interop.translate.show import _kwargs, _show
from weightlab.interop.translate.weightlab_terms import _penalty_row, _rules_row
from weightlab.regularize.registry import parse_regularization


def _keras_optimizer(call: Call, calls: Sequence[Call]) -> list[str]:
    lines = [f"optimizer = keras.optimizers.{call.name}({_kwargs(call.changed(), ['on'])})"]
    if call.arg("weight_decay") and call.arg("on") == "kernels":
        lines.append('optimizer.exclude_from_weight_decay(var_names=["bias"])')
    return lines


def _keras_regularizer(call: Call, calls: Sequence[Call]) -> list[str]:
    """One layer line for every regularizer of the setting (a layer takes one kernel and
    one bias regularizer: several are added in a function), written by the first."""
    regs = [c for c in calls if c.component.kind == "regularizer"]
    if call is not regs[0]:
        return []
    kernel: list[str] = []
    bias: list[str] = []
    for c in regs:
        if c.name == "weightlab_penalty":
            spec = parse_regularization(c.arg("spec"))
            kernel += [f"weightlab.keras.Penalty({str(t)!r})" for t in spec.terms]
            continue
        reg = f"keras.regularizers.{c.name}({_kwargs(c.changed(), ['on'])})"
        kernel.append(reg)
        bias += [reg] if c.arg("on") == "all" else []
    args = f"kernel_regularizer={_added(kernel)}"
    args += f", bias_regularizer={_added(bias)}" if bias else ""
    return [f"keras.layers.Dense(units, {args})"]


def _added(regularizers: Sequence[str]) -> str:
    if len(regularizers) == 1:
        return regularizers[0]
    return "lambda w: " + " + ".join(f"{r}(w)" for r in regularizers)


def _keras_uncorrected(call: Call, calls: Sequence[Call]) -> list[str]:
    opt = _optimizer_of(calls)
    b1, b2 = _show(opt.arg("beta_1")), _show(opt.arg("beta_2"))
    assign = f"optimizer.learning_rate = {_show(opt.arg('learning_rate'))} * c"
    eager = []
    if opt.arg("weight_decay"):
        assign += f"; optimizer.weight_decay = {_show(opt.arg('weight_decay'))} / c"
        # A traced step (tensorflow, jitted jax) would keep the first weight_decay.
        eager = ["model.compile(optimizer=optimizer, loss=loss, run_eagerly=True)"]
    return [
        *eager,
        "# before training step t = 1, 2, ... (undo Adam's bias correction):",
        f"c = (1 - {b1} ** t) / math.sqrt(1 - {b2} ** t)",
        assign,
    ]


def _keras_rules(call: Call, calls: Sequence[Call]) -> list[str]:
    callback = f"weightlab.keras.WeightRules.from_spec({call.arg('spec')!r})"
    return [f"model.fit(x, y, callbacks=[{callback}])"]


def _keras_init_code(call: Call, calls: Sequence[Call]) -> list[str]:
    return [f"keras.initializers.{call.name}({_kwargs(call.changed())})"]


def _keras_dist(name: str) -> str:
    # Keras reads "normal" as truncated, and "untruncated_normal" as the plain normal.
    return {"normal": "truncated_normal", "untruncated_normal": "normal"}.get(name, name)


_KERAS_DECAY = Knob("decoupled", "weight_decay", 1.0, _DECOUPLED)
_L1_KNOB = Knob("l1", "l1", 1.0, "adds l1·Σ|w| to the loss (gradient l1·sign(w))")
_L2_KNOB = Knob("coupled", "l2", 2.0, "adds l2·Σw² to the loss (gradient 2·l2·w)")

_KERAS_FIELDS = {
    "learning_rate": "lr",
    "momentum": "momentum",
    "beta_1": "beta1",
    "beta_2": "beta2",
    "epsilon": "eps",
}
_KERAS_ADAM_PARAMS = (("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7))
_KERAS_RULES = {
    "learning_rate": _LR,
    "momentum": _UNIT_OPEN,
    "beta_1": _UNIT_OPEN,
    "beta_2": _UNIT_OPEN,
    "epsilon": POSITIVE,
    "weight_decay": _DECAY_OR_NONE,
    "on": _ON,
}


_KERAS_INITS = {
    "GlorotNormal": ("truncated_normal", 1.0, "fan_avg"),
    "GlorotUniform": ("uniform", 1.0, "fan_avg"),
    "HeNormal": ("truncated_normal", 2.0, "fan_in"),
    "HeUniform": ("uniform", 2.0, "fan_in"),
    "LecunNormal": ("truncated_normal", 1.0, "fan_in"),
    "LecunUniform": ("uniform", 1.0, "fan_in"),
}


def _keras_preset(dist: str, scale: float, mode: str) -> Component:
    return Component(
        "init",
        (),
        {},
        f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={dist!r})",
        _keras_init_code,
        init=lambda a: InitMeaning(dist, scale, mode),
    )


def _keras_optimizer_row(
    name: str, params: tuple[tuple[str, Any], ...], family: str, summary: str
) -> Component:
    return Component(
        "optimizer",
        (*params, ("on", "all")),
        _KERAS_RULES,
        summary,
        _keras_optimizer,
        knobs=(_KERAS_DECAY,),
        family=family,
        fields=_KERAS_FIELDS,
        eps_hat=family == "adam",
    )


def _keras_reg(params: tuple[tuple[str, Any], ...], knobs: tuple[Knob, ...]) -> Component:
    return Component(
        "regularizer",
        (*params, ("on", "kernels")),
        {"l1": STRENGTH, "l2": STRENGTH, "on": _ON},
        "added to the loss of the layer it is attached to (kernel_regularizer)",
        _keras_regularizer,
        knobs=knobs,
    )


_KERAS: dict[str, Component] = {
    "SGD": _keras_optimizer_row(
        "SGD",
        (("learning_rate", 0.01), ("momentum", 0.0), ("weight_decay", None)),
        "sgd",
        "keras.optimizers.SGD: decoupled, lr-scaled weight_decay",
    ),
    "Adam": _keras_optimizer_row(
        "Adam",
        (("learning_rate", 0.001), *_KERAS_ADAM_PARAMS, ("weight_decay", None)),
        "adam",
        "keras.optimizers.Adam: decoupled weight_decay, ε̂ added to √v",
    ),
    "AdamW": _keras_optimizer_row(
        "AdamW",
        (("learning_rate", 0.001), ("weight_decay", 0.004), *_KERAS_ADAM_PARAMS),
        "adam",
        "keras.optimizers.AdamW: Adam with weight_decay 0.004 by default",
    ),
    "L1": _keras_reg((("l1", 0.01),), (_L1_KNOB,)),
    "L2": _keras_reg((("l2", 0.01),), (_L2_KNOB,)),
    "L1L2": _keras_reg((("l1", 0.0), ("l2", 0.0)), (_L1_KNOB, _L2_KNOB)),
    "no_bias_correction": Component(
        "step",
        (),
        {},
        "per-step learning_rate and weight_decay that undo Adam's bias correction",
        _keras_uncorrected,
        sets={"bias_correction": False, "eps_hat": True},
    ),
    "weightlab_rules": _rules_row("keras", _keras_rules),
    "weightlab_penalty": _penalty_row("keras", _keras_regularizer),
    "Dropout": Component(
        "dropout",
        (("rate", REQUIRED),),
        {"rate": _UNIT_OPEN},
        "keras.layers.Dropout (inverted, in training only)",
        _dropout_code("keras.layers.", "rate"),
    ),
    "weightlab_dropout": _adapter_dropout("weightlab.keras.", "rate", REQUIRED),
    "Dense": Component(
        "init",
        (),
        {},
        "keras.layers.Dense's default: kernel glorot_uniform, bias zeros",
        _fixed("keras.layers.Dense(units)"),
        init=lambda a: InitMeaning("uniform", 1.0, "fan_avg", "zeros"),
    ),
    **{name: _keras_preset(*spec) for name, spec in _KERAS_INITS.items()},
    "VarianceScaling": Component(
        "init",
        (("scale", 1.0), ("mode", "fan_in"), ("distribution", "truncated_normal")),
        {
            "scale": POSITIVE,
            "mode": _FAN,
            "distribution": OneOf(("truncated_normal", "untruncated_normal", "uniform", "normal")),
        },
        "Var = scale/fan; 'normal' means truncated",
        _keras_init_code,
        init=lambda a: InitMeaning(_keras_dist(a["distribution"]), a["scale"], a["mode"]),
    ),
}
