"""The vocabulary's rows: a setting a framework offers (:class:`Component`), the knobs
that set a meaning's terms, and a setting parsed with every argument bound (:class:`Call`).

:data:`COMPONENTS` is filled by :mod:`weightlab.interop.translate.vocabulary`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from weightlab.interop.translate.meanings import InitMeaning, Meaning
from weightlab.interop.translate.show import _literal

__all__ = ["COMPONENTS", "REQUIRED", "Call", "Component", "Kind", "Knob"]


Kind = Literal["optimizer", "regularizer", "step", "init", "dropout"]


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Knob:
    """A parameter that sets one term of an :class:`UpdateMeaning`:
    ``term amount = factor × value``."""

    term: str
    param: str
    factor: float
    says: str


@dataclass(frozen=True)
class Component:
    """One setting a framework offers, or a short recipe written with its primitives
    (or weightlab's) where it offers none: ``penalty_l1``, ``penalty_l2``,
    ``decoupled_decay``, ``no_bias_correction``, MLX's ``variance_scaling``."""

    kind: Kind
    params: tuple[tuple[str, Any], ...]
    rules: Mapping[str, Any]
    summary: str
    code: Callable[[Call, Sequence[Call]], list[str]]
    knobs: tuple[Knob, ...] = ()
    family: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    sets: Mapping[str, Any] = field(default_factory=dict)
    eps_hat: bool = False
    init: Callable[[Mapping[str, Any]], InitMeaning] | None = None
    meaning: Callable[[Mapping[str, Any]], Meaning | None] | None = None
    """For rows whose arguments are not knobs (weightlab's registered terms, and the
    steps and penalties written with weightlab's adapters): the row's meaning from its
    arguments, an :class:`UpdateMeaning` part added to the others' or a
    :class:`DropoutMeaning`; None where the arguments have no meaning the translator can
    write."""

    def default(self, name: str) -> Any:
        return dict(self.params)[name]


@dataclass(frozen=True)
class Call:
    """A component with every argument bound (defaults filled in)."""

    framework: str
    name: str
    args: tuple[tuple[str, Any], ...]

    @property
    def component(self) -> Component:
        return COMPONENTS[self.framework][self.name]

    def arg(self, name: str) -> Any:
        return dict(self.args)[name]

    def changed(self) -> dict[str, Any]:
        """The arguments worth writing: those that differ from the framework's defaults,
        the learning rate, and every nonzero decay or penalty strength."""
        comp = self.component
        keep = {p for p, f in comp.fields.items() if f == "lr"}
        keep |= {k.param for k in comp.knobs if self.arg(k.param)}
        return {k: v for k, v in self.args if k in keep or comp.default(k) != v}

    def spec(self, full: bool = True) -> str:
        """``Name(a=1, b=2)``: every argument when ``full``, else :meth:`changed`."""
        shown = dict(self.args) if full else self.changed()
        if "on" in shown and self.component.default("on") == shown["on"]:
            del shown["on"]  # not a framework argument: shown only where it changes
        return f"{self.name}({', '.join(f'{k}={_literal(v)}' for k, v in shown.items())})"


COMPONENTS: dict[str, Mapping[str, Component]] = {}
"""Every setting the translator reads and writes, by framework and name (weightlab's
rows are read from its registries at each use)."""
