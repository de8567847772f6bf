"""weightlab's own initializers, read from its scheme registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from weightlab.init.fans import calculate_gain
from weightlab.init.schemes import REGISTRY
from weightlab.interop.translate.components import Call, Component
from weightlab.interop.translate.meanings import InitMeaning
from weightlab.interop.translate.shared_terms import _varscale
from weightlab.interop.translate.show import _kwargs


def _he_scale(a: Mapping[str, Any]) -> float:
    param = a["a"] if a["nonlinearity"] == "leaky_relu" else None
    return calculate_gain(a["nonlinearity"], param) ** 2


_WEIGHTLAB_INITS: dict[str, Callable[[Mapping[str, Any]], InitMeaning]] = {
    "variance_scaling": lambda a: InitMeaning(a["distribution"], a["scale"], a["mode"]),
    "xavier_normal": _varscale("normal", "fan_avg", lambda a: a["gain"] ** 2),
    "xavier_uniform": _varscale("uniform", "fan_avg", lambda a: a["gain"] ** 2),
    "he_normal": lambda a: InitMeaning("normal", _he_scale(a), a["mode"]),
    "he_uniform": lambda a: InitMeaning("uniform", _he_scale(a), a["mode"]),
    "lecun_normal": _varscale("normal", "fan_in", lambda a: a["gain"] ** 2),
    "lecun_uniform": _varscale("uniform", "fan_in", lambda a: a["gain"] ** 2),
    "xavier_fan_in": _varscale("normal", "fan_in", lambda a: 1.0),
}


def _weightlab_row(name: str, meaning: Callable[[Mapping[str, Any]], InitMeaning]) -> Component:
    entry = REGISTRY[name]
    params = tuple((p.name, p.default) for p in entry.signature.parameters.values())
    return Component(
        "init",
        params,
        dict(entry.table),
        entry.summary,
        lambda call, calls: [
            f"weightlab.init.{call.name}_(w{_sep(call)}{_kwargs(call.changed())})"
        ],
        init=meaning,
    )


def _sep(call: Call) -> str:
    return ", " if call.changed() else ""


_WEIGHTLAB: dict[str, Component] = {
    name: _weightlab_row(name, fn) for name, fn in _WEIGHTLAB_INITS.items()
}
