"""What several frameworks' tables share: argument rules, knobs, and code writers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from weightlab._validate import (
    POSITIVE,
    STRENGTH,
    Instance,
    Interval,
    OneOf,
    Satisfies,
    is_real,
)
from weightlab.interop.translate.components import REQUIRED, Call, Component, Knob
from weightlab.interop.translate.meanings import LR, InitMeaning
from weightlab.interop.translate.show import _kwargs
from weightlab.regularize.dropout import MODES

__all__ = ["decouples"]


# Rules shared by the table.
_LR = (POSITIVE, OneOf((LR,)))
_UNIT_OPEN = Interval(0.0, 1.0, "left")
_BETAS = Satisfies(
    lambda v: (
        isinstance(v, (tuple, list))
        and len(v) == 2
        and all(is_real(b) and 0.0 <= b < 1.0 for b in v)
    ),
    "a pair of floats in [0, 1)",
)
_ON = OneOf(("all", "kernels"))
_BOOL = Instance((bool,), "a bool")
_DECAY_OR_NONE = (STRENGTH, Instance((type(None),), "None"))
_FAN = OneOf(("fan_in", "fan_out", "fan_avg"))
_FAN_IO = OneOf(("fan_in", "fan_out"))

_COUPLED_GRAD = "adds weight_decay·w to the gradient (the gradient of (weight_decay/2)·Σw²)"
_DECOUPLED = "w ← w − lr·weight_decay·w before the step"


def decouples(call: Call) -> bool:
    """True for an optimizer call whose ``weight_decay`` is decoupled: torch and MLX
    ``AdamW``, torch ``Adam(decoupled_weight_decay=True)``, every Keras optimizer."""
    if call.framework == "keras":
        return True
    return call.name == "AdamW" or bool(dict(call.args).get("decoupled_weight_decay"))


def _optimizer_of(calls: Sequence[Call]) -> Call:
    return next(c for c in calls if c.component.kind == "optimizer")


def _init_code(prefix: str, suffix: str = "") -> Callable[[Call, Sequence[Call]], list[str]]:
    def code(call: Call, calls: Sequence[Call]) -> list[str]:
        kwargs = _kwargs(call.changed())
        if suffix:  # MLX: a factory, then the call on the array
            return [f"{prefix}{call.name}()(w{', ' if kwargs else ''}{kwargs})"]
        return [f"{prefix}{call.name}(w{', ' if kwargs else ''}{kwargs})"]

    return code


def _fixed(*lines: str) -> Callable[[Call, Sequence[Call]], list[str]]:
    return lambda call, calls: list(lines)


def _dropout_code(prefix: str, param: str) -> Callable[[Call, Sequence[Call]], list[str]]:
    return lambda call, calls: [_dropout_line(prefix, param, call.arg(param), "inverted")]


def _dropout_line(prefix: str, param: str, p: float, mode: str) -> str:
    """``{prefix}Dropout(p=0.3)``, with the mode where it is not inverted."""
    values: dict[str, Any] = {param: p} if mode == "inverted" else {param: p, "mode": mode}
    return f"{prefix}Dropout({_kwargs(values)})"


def _adapter_dropout(prefix: str, param: str, default: Any = 0.5) -> Component:
    """``weightlab_dropout(p, mode)``: weightlab's Dropout layer for a framework, which
    also has the classic mode (training ``x·m``, inference ``x·(1 − p)``)."""
    return Component(
        "dropout",
        ((param, default), ("mode", "inverted")),
        {param: _UNIT_OPEN, "mode": OneOf(MODES)},
        f"{prefix}Dropout: inverted or classic dropout (weightlab's layer)",
        lambda call, calls: [_dropout_line(prefix, param, call.arg(param), call.arg("mode"))],
    )


def _varscale(dist: str, mode: str, scale: Callable[[Mapping[str, Any]], float]) -> Any:
    return lambda a: InitMeaning(dist, scale(a), mode)


_SGD_KNOB = Knob("coupled", "weight_decay", 1.0, _COUPLED_GRAD)
_ADAMW_KNOB = Knob("decoupled", "weight_decay", 1.0, _DECOUPLED)
_PENALTY_L1 = Knob("l1", "strength", 1.0, "adds strength·Σ|w| to the loss")
_PENALTY_L2 = Knob(
    "coupled", "strength", 2.0, "adds strength·Σw² to the loss (gradient 2·strength·w)"
)
_DECAY_STEP = Knob("decoupled", "rate", 1.0, "w ← w − lr·rate·w beside the optimizer's step")

_PENALTY_RULES = {"strength": STRENGTH, "on": _ON}
_DECAY_RULES = {"rate": STRENGTH, "on": _ON}
_GAIN = {"gain": POSITIVE}


def _penalty(code: Callable[[Call, Sequence[Call]], list[str]], knob: Knob, what: str) -> Component:
    return Component(
        "regularizer",
        (("strength", REQUIRED), ("on", "kernels")),
        _PENALTY_RULES,
        what,
        code,
        knobs=(knob,),
    )


def _decay_step(code: Callable[[Call, Sequence[Call]], list[str]]) -> Component:
    return Component(
        "step",
        (("rate", REQUIRED), ("on", "all")),
        _DECAY_RULES,
        "decoupled decay w ← w − lr·rate·w as a separate step",
        code,
        knobs=(_DECAY_STEP,),
    )
