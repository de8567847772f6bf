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
    "Described",
    "Instance",
    "Interval",
    "OneOf",
    "ParameterError",
    "ParameterTypeError",
    "Satisfies",
    "Tensor",
    "check",
    "check_generator",
    "error_summary",
    "fail",
    "is_real",
    "same_device",
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


def error_summary(error: BaseException) -> str:
    """``"RuntimeError: first line of its message"``, to quote a failure inside an
    error of the project's format."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class Described(str):
    """Text shown as written after "Got" (``fail`` shows any other value by its repr).

    Example:
        >>> str(fail("l1", "params", "an iterable of torch.Tensor", Described("a str")))
        "The 'params' parameter of l1 must be an iterable of torch.Tensor. Got a str."
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def same_device(a: torch.device, b: torch.device) -> bool:
    """Full device equality (cuda:0 is not cuda:1); an index-less CUDA device is the
    current one, and all CPU devices are one."""
    return _indexed(a) == _indexed(b)


def _indexed(device: torch.device) -> torch.device:
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def check_generator(owner: str, generator: torch.Generator | None, tensor: torch.Tensor) -> None:
    """A generator must live on the device of the tensor it draws for (torch raises a
    bare RuntimeError otherwise)."""
    if generator is not None and not same_device(torch.device(generator.device), tensor.device):
        expected = f"a torch.Generator on {tensor.device} (the tensor's device)"
        raise fail(owner, "generator", expected, generator)


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
        try:
            v = float(value)
        except OverflowError:  # an int too large for a float is out of any finite range
            return False
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
    """A torch tensor with at least ``min_dim`` dimensions, of a floating-point dtype
    when ``floating``."""

    min_dim: int = 0
    floating: bool = False

    def type_ok(self, value: object) -> bool:
        return isinstance(value, torch.Tensor)

    def value_ok(self, value: Any) -> bool:
        return bool(value.dim() >= self.min_dim) and (
            not self.floating or bool(value.is_floating_point())
        )

    def describe(self) -> str:
        kind = "a floating-point torch.Tensor" if self.floating else "a torch.Tensor"
        if self.min_dim:
            plural = "s" if self.min_dim != 1 else ""
            return f"{kind} with at least {self.min_dim} dimension{plural}"
        return kind


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
        dtype = "" if value.is_floating_point() else f" and dtype {value.dtype}"
        return f"a tensor of shape {tuple(value.shape)}{dtype}"
    if isinstance(value, torch.Generator):
        return f"a generator on {value.device}"
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
