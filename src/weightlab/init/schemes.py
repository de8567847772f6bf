"""Initialization schemes: one general variance-scaling function and named presets.

Every variance-scaling scheme draws ``W`` with ``Var(W) = scale / n`` where ``n`` is
``fan_in``, ``fan_out`` or ``fan_avg`` (Keras' ``VarianceScaling``).  The classic
schemes are presets of it:

===============  =========================  ===================================
preset           scale, mode                variance
===============  =========================  ===================================
xavier_*         gain², fan_avg             gain² · 2 / (fan_in + fan_out)
he_*             gain(nonlin, a)², fan_in   2 / (1 + a²) / fan_in (ReLU: 2/fan_in)
lecun_*          gain², fan_in              gain² / fan_in
xavier_fan_in    1, fan_in                  1 / n^[l-1]  (seed 000's rule)
===============  =========================  ===================================

Each preset declares its ``(scale, mode, distribution)`` once, as data on its registry
entry, and draws through that declaration; :meth:`Scheme.variance` reads it (the
translator reads the same declaration instead of restating it).

Every scheme fills its tensor in place and returns it, and takes a ``generator`` so that
runs are reproducible without global seeding.  Schemes are registered by name and can be
written as spec strings (``"normal(std=0.01)"``), see :func:`resolve`.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar, cast

import torch

from weightlab._spec import format_spec, parse_spec
from weightlab._validate import (
    GENERATOR,
    POSITIVE,
    REAL,
    Constraint,
    Interval,
    OneOf,
    Tensor,
    check,
    check_generator,
    fail,
)
from weightlab.init.fans import ACTIVATIONS, FAN_MODES, calculate_gain, fan

__all__ = [
    "DISTRIBUTIONS",
    "REGISTRY",
    "Scheme",
    "Variance",
    "constant_",
    "he_normal_",
    "he_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "normal_",
    "orthogonal_",
    "resolve",
    "scheme_names",
    "truncated_normal_",
    "uniform_",
    "variance_scaling_",
    "xavier_fan_in_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

Distribution = Literal["normal", "truncated_normal", "uniform"]
DISTRIBUTIONS: tuple[str, ...] = ("normal", "truncated_normal", "uniform")

# Standard deviation of a standard normal truncated to [-2, 2]; dividing by it makes a
# truncated draw's final standard deviation the requested one (as Keras does).
_TRUNC_STD = 0.87962566103423978

GAIN = Interval(0.0, math.inf, "neither")
NONNEG = Interval(0.0, math.inf, "left")

# Every real parameter of a scheme (a location, scale, gain, slope or bound) is kept
# within ±MAGNITUDE, so that the variance computed from it and the weights drawn stay
# finite in float32 (largest 3.4e38; a draw reaches several standard deviations past
# its mean): 1e308 overflows the arithmetic or the draw.
MAGNITUDE = 1e37


def _capped(rule: Constraint) -> Constraint | None:
    """``rule`` narrowed to [-MAGNITUDE, MAGNITUDE] when it is a real interval that
    reaches beyond it; None when nothing changes."""
    if not isinstance(rule, Interval) or rule.integer:
        return None
    if rule.low >= -MAGNITUDE and rule.high <= MAGNITUDE:
        return None
    low_open = rule.closed in ("neither", "right") and rule.low >= -MAGNITUDE
    low = max(rule.low, -MAGNITUDE)
    high = min(rule.high, MAGNITUDE)
    high_open = rule.closed in ("neither", "left") and rule.high <= MAGNITUDE
    closed = {
        (False, False): "both",
        (False, True): "left",
        (True, False): "right",
        (True, True): "neither",
    }[(low_open, high_open)]
    return Interval(low, high, closed)


def check_params(owner: str, values: Mapping[str, Any], table: Mapping[str, Any]) -> None:
    """Check a scheme's parameters against its ``table``, then every real one against
    the table narrowed to ±MAGNITUDE (the second check only speaks for finite values
    the first accepted, so its message names the float32 bound).

    Example:
        >>> check_params("constant", {"value": 1e308}, {"value": Interval()})
        Traceback (most recent call last):
        ...
        weightlab._validate.ParameterError: The 'value' parameter of constant must be a \
float in [-1e+37, 1e+37]. Got 1e+308.
    """
    check(owner, values, table)
    narrowed = {name: _capped(rule) for name, rule in table.items()}
    check(owner, values, {k: v for k, v in narrowed.items() if v is not None})


F = TypeVar("F", bound=Callable[..., Any])


class Variance(NamedTuple):
    """What a variance-scaling scheme draws: ``Var(W) = scale / n``, ``n`` the fan named
    by ``mode``, from ``distribution`` (one of :data:`DISTRIBUTIONS`)."""

    scale: float
    mode: str
    distribution: str


VarianceRule = Callable[[Mapping[str, Any]], Variance]
"""A preset's declaration: its bound parameters (``{"gain": 1.0}``) to its Variance."""


@dataclass(frozen=True)
class _Entry:
    """A registered scheme: its validating and raw functions and what :func:`resolve`
    needs."""

    fn: Callable[..., Any]
    raw: Callable[..., Any]
    signature: inspect.Signature
    table: Mapping[str, Any]
    target: Constraint
    cross: Callable[[Mapping[str, Any]], None] | None
    gain_param: str | None
    data_dependent: bool
    summary: str
    variance: VarianceRule | None = None

    def check_target(self, name: str, target: Any, generator: torch.Generator | None) -> None:
        """Validate the tensor (or module) and generator a bound scheme is applied to."""
        check(
            name,
            {"tensor": target, "generator": generator},
            {"tensor": self.target, "generator": GENERATOR},
        )
        if isinstance(target, torch.Tensor):
            check_generator(name, generator, target)


REGISTRY: dict[str, _Entry] = {}


def register(
    table: Mapping[str, Constraint | tuple[Constraint, ...]],
    *,
    min_dim: int = 0,
    gain_param: str | None = None,
    data_dependent: bool = False,
    target: Constraint | None = None,
    cross: Callable[[Mapping[str, Any]], None] | None = None,
    variance: VarianceRule | None = None,
) -> Callable[[F], F]:
    """Register a scheme under its name without the trailing underscore, and validate
    its arguments from ``table`` on every public call.

    ``gain_param`` names the argument that a per-layer activation gain sets (``"gain"``
    or ``"nonlinearity"``), ``None`` if the scheme has none.  ``target`` replaces the
    default rule for the first argument (a floating tensor with at least ``min_dim``
    dimensions), for data-dependent schemes that take a module.  ``cross`` checks
    rules between parameters (``low < high``); it runs at call time and in
    :func:`resolve`.  ``variance`` declares a variance-scaling scheme's ``(scale, mode,
    distribution)`` from its parameters; the scheme draws through it (:func:`_declared`)
    and :meth:`Scheme.variance` reads it.
    """

    def decorate(fn: F) -> F:
        name = fn.__name__.rstrip("_")
        sig = inspect.signature(fn)
        first = next(iter(sig.parameters))
        entry_target = target if target is not None else Tensor(min_dim=min_dim, floating=True)

        @functools.wraps(fn)
        def validated(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            values = bound.arguments
            REGISTRY[name].check_target(name, values[first], values.get("generator"))
            check_params(name, values, table)
            if cross is not None:
                cross(values)
            with torch.no_grad():
                return fn(*bound.args, **bound.kwargs)

        own = [p for p in sig.parameters.values() if p.name not in (first, "generator", "data")]
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = _Entry(
            fn=validated,
            raw=fn,
            signature=sig.replace(parameters=own),
            table=table,
            target=entry_target,
            cross=cross,
            gain_param=gain_param,
            data_dependent=data_dependent,
            summary=doc[0] if doc else name,
            variance=variance,
        )
        return validated  # type: ignore[return-value]

    return decorate


def scheme_names() -> tuple[str, ...]:
    """Names of every registered scheme, in registration order."""
    return tuple(REGISTRY)


# ---------------------------------------------------------------------------
# The general function and its helpers (helpers trust their inputs).


def _variance_scaling(
    tensor: torch.Tensor,
    scale: float,
    mode: str,
    distribution: str,
    generator: torch.Generator | None,
) -> torch.Tensor:
    std = math.sqrt(scale / fan(tensor, mode))
    if distribution == "normal":
        return tensor.normal_(0.0, std, generator=generator)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std
        return tensor.uniform_(-limit, limit, generator=generator)
    sigma = std / _TRUNC_STD
    return torch.nn.init.trunc_normal_(tensor, 0.0, sigma, -2 * sigma, 2 * sigma, generator)


def _declared(
    name: str, tensor: torch.Tensor, generator: torch.Generator | None, **params: Any
) -> torch.Tensor:
    """Draw ``tensor`` from the Variance that scheme ``name`` declares for ``params``."""
    scale, mode, distribution = cast(VarianceRule, REGISTRY[name].variance)(params)
    return _variance_scaling(tensor, scale, mode, distribution, generator)


@register(
    {"scale": POSITIVE, "mode": OneOf(FAN_MODES), "distribution": OneOf(DISTRIBUTIONS)},
    min_dim=2,
    variance=lambda p: Variance(p["scale"], p["mode"], p["distribution"]),
)
def variance_scaling_(
    tensor: torch.Tensor,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "normal",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Variance scaling: ``Var(W) = scale / n``, ``n`` the fan chosen by ``mode``.

    ``normal`` draws ``N(0, scale/n)``; ``uniform`` draws ``U(±√(3·scale/n))``;
    ``truncated_normal`` draws a normal cut at two of its standard deviations, widened
    so the result still has variance ``scale/n`` (Keras' convention).

    Args:
        tensor: weight ``[out, in, *kernel]``, at least 2-D; filled in place.
        scale: positive multiplier of the variance (the square of a gain).
        mode: ``fan_in``, ``fan_out`` or ``fan_avg``.
        distribution: ``normal``, ``truncated_normal`` or ``uniform``.
        generator: source of randomness.

    Example:
        >>> w = variance_scaling_(torch.empty(256, 128), 2.0, "fan_in")  # He normal
    """
    return _declared(
        "variance_scaling", tensor, generator, scale=scale, mode=mode, distribution=distribution
    )


# ---------------------------------------------------------------------------
# Non-scaling presets.


@register({})
def zeros_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """All zeros: every unit of a layer computes the same thing (the symmetry problem)."""
    return tensor.zero_()


@register({"value": REAL})
def constant_(
    tensor: torch.Tensor, value: float = 0.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Every entry equal to ``value``; like zeros, leaves the units of a layer identical."""
    return tensor.fill_(value)


@register({"mean": REAL, "std": NONNEG})
def normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``N(mean, std²)``, with no dependence on the layer's size."""
    return tensor.normal_(mean, std, generator=generator)


def _low_below_high(values: Mapping[str, Any]) -> None:
    if not values["low"] < values["high"]:
        raise fail("uniform", "high", f"a float > low ({values['low']!r})", values["high"])


def _a_below_b(values: Mapping[str, Any]) -> None:
    if not values["a"] < values["b"]:
        raise fail("truncated_normal", "b", f"a float > a ({values['a']!r})", values["b"])


@register({"low": REAL, "high": REAL}, cross=_low_below_high)
def uniform_(
    tensor: torch.Tensor,
    low: float = 0.0,
    high: float = 1.0,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``U(low, high)``, with no dependence on the layer's size; requires ``low < high``."""
    return tensor.uniform_(low, high, generator=generator)


@register({"mean": REAL, "std": POSITIVE, "a": REAL, "b": REAL}, cross=_a_below_b)
def truncated_normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``N(mean, std²)`` redrawn into ``[a, b]`` (absolute bounds, as in
    ``torch.nn.init.trunc_normal_``); requires ``a < b``."""
    return torch.nn.init.trunc_normal_(tensor, mean, std, a, b, generator)


# ---------------------------------------------------------------------------
# Variance-scaling presets: each declares its Variance once and draws through it.


def _gain_squared(mode: str, distribution: str) -> VarianceRule:
    """Xavier and LeCun: ``scale = gain²`` over a fixed fan."""
    return lambda p: Variance(p["gain"] ** 2, mode, distribution)


def _he_scale(a: float, nonlinearity: str) -> float:
    """He's ``scale = gain²``, the gain of ``nonlinearity`` (of slope ``a`` if leaky)."""
    param = a if nonlinearity == "leaky_relu" else None
    return calculate_gain(nonlinearity, param) ** 2


def _he(distribution: str) -> VarianceRule:
    """He: ``scale = gain(nonlinearity, a)²`` over the fan that ``mode`` chooses."""
    return lambda p: Variance(_he_scale(p["a"], p["nonlinearity"]), p["mode"], distribution)


@register({"gain": GAIN}, min_dim=2, gain_param="gain", variance=_gain_squared("fan_avg", "normal"))
def xavier_normal_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Glorot normal: ``N(0, gain² · 2 / (fan_in + fan_out))``.

    Keeps forward activations and backward gradients at roughly constant variance for
    tanh-like units (Glorot & Bengio 2010, "Understanding the difficulty of training deep
    feedforward neural networks").  Plain normal as in torch; Keras' GlorotNormal is the
    same variance from a truncated normal (``variance_scaling_(..., distribution=
    "truncated_normal")``).
    """
    return _declared("xavier_normal", tensor, generator, gain=gain)


@register(
    {"gain": GAIN}, min_dim=2, gain_param="gain", variance=_gain_squared("fan_avg", "uniform")
)
def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Glorot uniform: ``U(±gain · √(6 / (fan_in + fan_out)))`` (Glorot & Bengio 2010)."""
    return _declared("xavier_uniform", tensor, generator, gain=gain)


_HE_TABLE = {
    "a": NONNEG,
    "mode": OneOf(("fan_in", "fan_out")),
    "nonlinearity": OneOf(ACTIVATIONS),
}


@register(_HE_TABLE, min_dim=2, gain_param="nonlinearity", variance=_he("normal"))
def he_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """He (Kaiming) normal: ``N(0, gain² / n)``, ``gain = √(2 / (1 + a²))`` for a
    leaky ReLU of slope ``a`` (ReLU: ``a = 0``, ``Var = 2 / fan_in``).

    Halving the variance per ReLU layer is what this cancels (He, Zhang, Ren & Sun 2015,
    "Delving Deep into Rectifiers").  ``mode='fan_out'`` preserves backward gradient
    variance instead.  Same defaults as ``torch.nn.init.kaiming_normal_``.
    """
    return _declared("he_normal", tensor, generator, a=a, mode=mode, nonlinearity=nonlinearity)


@register(_HE_TABLE, min_dim=2, gain_param="nonlinearity", variance=_he("uniform"))
def he_uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """He (Kaiming) uniform: ``U(±gain · √(3 / n))`` (He et al. 2015)."""
    return _declared("he_uniform", tensor, generator, a=a, mode=mode, nonlinearity=nonlinearity)


@register({"gain": GAIN}, min_dim=2, gain_param="gain", variance=_gain_squared("fan_in", "normal"))
def lecun_normal_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """LeCun normal: ``N(0, gain² / fan_in)`` (LeCun, Bottou, Orr & Müller 1998,
    "Efficient BackProp").  Plain normal; Keras' LecunNormal is truncated."""
    return _declared("lecun_normal", tensor, generator, gain=gain)


@register({"gain": GAIN}, min_dim=2, gain_param="gain", variance=_gain_squared("fan_in", "uniform"))
def lecun_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """LeCun uniform: ``U(±gain · √(3 / fan_in))`` (LeCun et al. 1998)."""
    return _declared("lecun_uniform", tensor, generator, gain=gain)


@register({}, min_dim=2, variance=lambda p: Variance(1.0, "fan_in", "normal"))
def xavier_fan_in_(
    tensor: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Seed 000's "Xavier" rule ``W ~ N(0, 1 / n^[l-1])``, with ``n^[l-1] = fan_in``.

    This is LeCun normal, not Glorot's ``2 / (fan_in + fan_out)``: the two agree only
    when ``fan_in = fan_out``.  Derived for tanh near 0 (``Var(a) ≈ Var(z)``), zero-mean
    i.i.d. weights and inputs, and zero biases.
    """
    return _declared("xavier_fan_in", tensor, generator)


@register({"gain": GAIN}, min_dim=2, gain_param="gain")
def orthogonal_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(Semi-)orthogonal: ``W`` reshaped to ``[out, rest]`` has orthonormal rows or
    columns, times ``gain``, so ``WᵀW = gain² · I`` (or ``WWᵀ`` when out < rest).

    Drawn as the Q of a QR decomposition of a Gaussian matrix with the signs of R's
    diagonal folded in, which makes Q Haar-distributed (Saxe, McClelland & Ganguli 2014,
    "Exact solutions to the nonlinear dynamics of learning in deep linear networks").
    """
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    work_dtype = torch.float64 if tensor.dtype == torch.float64 else torch.float32
    flat = torch.randn(rows, cols, generator=generator, device=tensor.device, dtype=work_dtype)
    if rows < cols:
        flat = flat.T
    q, r = torch.linalg.qr(flat)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    if rows < cols:
        q = q.T
    return tensor.copy_(q.reshape(tensor.shape)).mul_(gain)


# ---------------------------------------------------------------------------
# Bound schemes and spec strings.


@dataclass(frozen=True)
class Scheme:
    """A registered scheme with bound parameters: frozen, hashable, printable as a spec.

    Example:
        >>> s = resolve("normal(std=0.01)")
        >>> str(s), s(torch.empty(3, 4), generator=torch.Generator().manual_seed(0)).shape
        ('normal(std=0.01)', torch.Size([3, 4]))
    """

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def entry(self) -> _Entry:
        return REGISTRY[self.name]

    @property
    def data_dependent(self) -> bool:
        return self.entry.data_dependent

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def variance(self) -> Variance | None:
        """The ``(scale, mode, distribution)`` this scheme draws, ``Var(W) = scale / n``,
        read from its registry entry's declaration; None for a scheme that is not
        variance scaling (``normal``, ``orthogonal``, ``lsuv``, ...).

        Example:
            >>> resolve("xavier_uniform(gain=2.0)").variance()
            Variance(scale=4.0, mode='fan_avg', distribution='uniform')
            >>> resolve("normal(std=0.01)").variance() is None
            True
        """
        rule = self.entry.variance
        return None if rule is None else rule(self.kwargs())

    def __call__(
        self, tensor: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if self.data_dependent:
            raise fail(
                "Scheme.__call__",
                "scheme",
                f"a per-tensor scheme ({self.name!r} needs a module and a batch of inputs: "
                f"use init_module(model, {self.name!r}, data=x))",
                self.name,
                wrong_type=True,
            )
        # Parameters were validated when the scheme was bound; check only the target.
        self.entry.check_target(self.name, tensor, generator)
        with torch.no_grad():
            return self.entry.raw(tensor, generator=generator, **self.kwargs())  # type: ignore[no-any-return]

    def with_params(self, **changes: Any) -> Scheme:
        """A copy with some parameters changed, validated like :func:`resolve`."""
        return _bind(self.name, (), {**self.kwargs(), **changes}, str(self))

    def __str__(self) -> str:
        defaults = {p.name: p.default for p in self.entry.signature.parameters.values()}
        changed = {k: v for k, v in self.params if defaults.get(k) != v}
        return format_spec(self.name, changed)


def resolve(spec: str | Scheme, owner: str = "resolve", param: str = "scheme") -> Scheme:
    """Turn ``"he_normal"``, ``"normal(std=0.01)"`` or ``"he_normal(mode=fan_out)"`` into
    a :class:`Scheme`.  Unknown names and parameters raise ``ValueError`` listing the
    valid ones; an unknown or malformed spec is named as ``owner``'s ``param`` (the
    option or field the user wrote it in).

    Example:
        >>> resolve("he_normal(mode=fan_out)").kwargs()["mode"]
        'fan_out'
        >>> try:
        ...     resolve("foo", "inspect", "init")
        ... except ValueError as error:
        ...     str(error)[:48]
        "The 'init' parameter of inspect must be one of '"
    """
    if isinstance(spec, Scheme):
        return spec
    name, args, kwargs = parse_spec(spec, owner, param)
    check(owner, {param: name}, {param: OneOf(scheme_names())})
    return _bind(name, args, kwargs, spec)


def _bind(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], text: str) -> Scheme:
    entry = REGISTRY[name]
    names = tuple(entry.signature.parameters)
    try:
        bound = entry.signature.bind(*args, **kwargs)
    except TypeError:
        allowed = ", ".join(names) if names else "no parameters"
        raise fail(
            "resolve", "scheme", f"a call using the parameters of {name} ({allowed})", text
        ) from None
    bound.apply_defaults()
    values = {
        k: _coerce(v, entry.signature.parameters[k].default) for k, v in bound.arguments.items()
    }
    check_params(name, values, entry.table)
    if entry.cross is not None:
        entry.cross(values)
    return Scheme(name, tuple(values.items()))


def _coerce(value: Any, default: Any) -> Any:
    # "normal(std=1)" and "normal(std=1.0)" are the same scheme: keep the default's type.
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
