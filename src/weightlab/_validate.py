"""Parameter validation at the public boundary, from a table, with one error format.

Every public callable that takes user input declares a constraint table and calls
:func:`check` once.  Errors read the same everywhere::

    The 'p' parameter of dropout must be a float in [0, 1). Got 1.5.

Bad values raise :class:`ValueError`, values of the wrong type raise :class:`TypeError`.
Internal helpers trust their inputs and never re-validate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "GENERATOR",
    "OPTIONAL",
    "POSITIVE",
    "PROBABILITY",
    "REAL",
    "STRENGTH",
    "UNIT",
    "Constraint",
    "Instance",
    "Interval",
    "OneOf",
    "ParameterError",
    "ParameterTypeError",
    "Satisfies",
    "Tensor",
    "check",
    "fail",
    "is_real",
]


class ParameterError(ValueError):
    """A user-supplied value is out of range or unknown."""


class ParameterTypeError(TypeError):
    """A user-supplied value has the wrong type."""


def fail(
    owner: str, name: str, expected: str, got: object, *, wrong_type: bool = False
) -> ParameterError | ParameterTypeError:
    """Build the one error format for checks a table cannot express; ``raise`` the result.

    Example:
        >>> str(fail("uniform", "high", "a float > low (1.0)", 0.5))
        "The 'high' parameter of uniform must be a float > low (1.0). Got 0.5."
    """
    cls = ParameterTypeError if wrong_type else ParameterError
    return cls(f"The {name!r} parameter of {owner} must be {expected}. Got {_got(got)}.")


def is_real(value: object) -> bool:
    """True for int or float values (bool excluded: ``True`` is not a strength)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Constraint:
    """One rule a parameter must satisfy; ``describe`` completes 'must be ...'."""

    def type_ok(self, value: object) -> bool:
        return True

    def value_ok(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A finite real number in an interval; ``closed`` is ``"both"``, ``"left"``, ``"right"``
    or ``"neither"``.  NaN and infinities are always rejected."""

    low: float = -math.inf
    high: float = math.inf
    closed: str = "both"
    integer: bool = False

    def type_ok(self, value: object) -> bool:
        if self.integer:
            return isinstance(value, int) and not isinstance(value, bool)
        return is_real(value)

    def value_ok(self, value: Any) -> bool:
        v = float(value)
        if not math.isfinite(v):
            return False
        left = v >= self.low if self.closed in ("both", "left") else v > self.low
        right = v <= self.high if self.closed in ("both", "right") else v < self.high
        return left and right

    def describe(self) -> str:
        kind = "an int" if self.integer else "a float"
        if self.low == -math.inf and self.high == math.inf:
            return f"{kind} (finite)"
        if self.high == math.inf:
            op = ">=" if self.closed in ("both", "left") else ">"
            return f"{kind} {op} {_fmt(self.low)}"
        if self.low == -math.inf:
            op = "<=" if self.closed in ("both", "right") else "<"
            return f"{kind} {op} {_fmt(self.high)}"
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        return f"{kind} in {lb}{_fmt(self.low)}, {_fmt(self.high)}{rb}"


@dataclass(frozen=True)
class OneOf(Constraint):
    """A string from a fixed set of options."""

    options: tuple[str, ...]

    def type_ok(self, value: object) -> bool:
        return isinstance(value, str)

    def value_ok(self, value: Any) -> bool:
        return value in self.options

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class Tensor(Constraint):
    """A torch tensor with at least ``min_dim`` dimensions."""

    min_dim: int = 0

    def type_ok(self, value: object) -> bool:
        return isinstance(value, torch.Tensor)

    def value_ok(self, value: Any) -> bool:
        return bool(value.dim() >= self.min_dim)

    def describe(self) -> str:
        if self.min_dim:
            plural = "s" if self.min_dim != 1 else ""
            return f"a torch.Tensor with at least {self.min_dim} dimension{plural}"
        return "a torch.Tensor"


@dataclass(frozen=True)
class Instance(Constraint):
    """An instance of one of the given types."""

    types: tuple[type, ...]
    name: str

    def type_ok(self, value: object) -> bool:
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class Satisfies(Constraint):
    """Any value accepted by ``predicate``; ``name`` says what is expected."""

    predicate: Callable[[Any], bool]
    name: str

    def value_ok(self, value: Any) -> bool:
        return self.predicate(value)

    def describe(self) -> str:
        return self.name


def _fmt(x: float) -> str:
    return f"{x:g}"


def _got(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return repr(value)


def check(
    owner: str,
    values: Mapping[str, object],
    table: Mapping[str, Constraint | Iterable[Constraint] | None],
) -> None:
    """Validate ``values`` against ``table`` and raise one clear error on the first failure.

    ``table`` maps a parameter name to a constraint, a tuple of alternatives (any one may
    hold), or ``None`` for parameters that accept anything.  ``owner`` names the public
    callable in the message.  ``None`` values pass when ``None`` is listed via
    :data:`OPTIONAL`.
    """
    for name, rule in table.items():
        if rule is None or name not in values:
            continue
        value = values[name]
        rules = (rule,) if isinstance(rule, Constraint) else tuple(rule)
        if value is None and OPTIONAL in rules:
            continue
        real_rules = [r for r in rules if r is not OPTIONAL]
        typed = [r for r in real_rules if r.type_ok(value)]
        if not typed or not any(r.value_ok(value) for r in typed):
            expected = " or ".join(r.describe() for r in rules)
            raise fail(owner, name, expected, value, wrong_type=not typed)


class _Optional(Constraint):
    def type_ok(self, value: object) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


OPTIONAL = _Optional()

# Shared rules used by many tables.
STRENGTH = Interval(0.0, math.inf, "left")
POSITIVE = Interval(0.0, math.inf, "neither")
PROBABILITY = Interval(0.0, 1.0, "left")
UNIT = Interval(0.0, 1.0, "both")
REAL = Interval()
GENERATOR = (Instance((torch.Generator,), "a torch.Generator"), OPTIONAL)
