"""Translate a training setting from one framework's conventions into another's.

A setting is written ``framework:Name(args)``, several joined by ``+`` where they combine
(an optimizer and penalties: ``keras:Adam(learning_rate=1e-3) + L2(1e-4)``).  Every
setting is parsed into one canonical meaning, and every target framework renders a
meaning; nothing is written per pair of frameworks.

Meanings
--------
:class:`UpdateMeaning` (optimizers, penalties, decay), per weight ``w`` with data gradient
``g`` and learning rate ``lr``:

- ``coupled`` ``c``: ``g ← g + c·w``, the gradient of ``(c/2)·Σw²`` (torch and MLX
  ``weight_decay`` in SGD and Adam; Keras ``L2(λ)`` adds ``λΣw²``, so ``c = 2λ``).  It
  enters momentum and Adam's moments exactly as the penalty's gradient does.
- ``decoupled`` ``d``: ``w ← w − lr·d·w`` beside the optimizer's step (torch and MLX
  ``AdamW``, every Keras optimizer's ``weight_decay``; Loshchilov & Hutter 2019,
  "Decoupled Weight Decay Regularization").  For plain SGD it equals coupled ``c = d``.
- ``l1`` ``λ``: ``g ← g + λ·sign(w)``, the gradient of ``λΣ|w|`` (Keras ``L1``;
  Tibshirani 1996).
- the optimizer: SGD with momentum ``μ`` (``v ← μv + g``, ``w ← w − lr·v``) or Adam
  (Kingma & Ba 2015) with its ε placement: torch and MLX with ``bias_correction=True``
  add ε to ``√v̂``; Keras adds ``ε̂`` to ``√v`` (``lr·m̂/(√v̂ + ε̂/√(1 − β₂ᵗ))``); MLX by
  default applies no bias correction at all (``lr·m/(√v + ε)``).

Each amount says which weights it touches: kernels (weights with two or more
dimensions) and biases.

:class:`InitMeaning` (initializers, layer defaults): ``Var(W) = scale/n``, ``n`` the fan
chosen by ``mode``, drawn from a normal, a uniform ``U(±√(3·scale/n))`` or Keras' truncated
normal (``σ′ = √(scale/n)/0.8796``, cut at ``±2σ′``, final std ``√(scale/n)``).  Glorot &
Bengio 2010 (``fan_avg``), He et al. 2015 (``scale = 2``, ``fan_in``), LeCun et al. 1998
(``scale = 1``, ``fan_in``).

:class:`DropoutMeaning`: inverted dropout, ``y = x·m/(1 − p)`` with ``m ~ Bernoulli(1 − p)``
in training and ``y = x`` in evaluation, in all three frameworks (Srivastava et al. 2014
describe the non-inverted form, which scales weights by ``1 − p`` at test time).

Example:
    >>> t = translate("keras:L2(0.01)", to="torch:sgd")
    >>> t.target_setting
    "torch:SGD(lr=lr, weight_decay=0.02, on='kernels')"
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

import torch

from weightlab._spec import parse_spec
from weightlab._validate import (
    POSITIVE,
    STRENGTH,
    Instance,
    Interval,
    OneOf,
    Satisfies,
    check,
    fail,
    is_real,
)
from weightlab.init.fans import calculate_gain
from weightlab.init.schemes import REGISTRY

__all__ = [
    "COMPONENTS",
    "EPS_TOLERANCE",
    "EXACT_TOLERANCE",
    "FLOAT32_POWER_TOLERANCE",
    "FRAMEWORKS",
    "LR",
    "OPTIMIZER_FAMILIES",
    "TRUNC_STD",
    "Amount",
    "Call",
    "Component",
    "DropoutMeaning",
    "InitMeaning",
    "Meaning",
    "Translation",
    "UpdateMeaning",
    "decouples",
    "meaning_of",
    "parse_setting",
    "supported",
    "translate",
]

FRAMEWORKS: tuple[str, ...] = ("torch", "keras", "mlx", "weightlab")
OPTIMIZER_FAMILIES: tuple[str, ...] = ("sgd", "adam", "adamw")
TRUNC_STD = 0.87962566103423978
"""Standard deviation of a standard normal cut at ±2 (Keras divides by it)."""

EXACT_TOLERANCE = 1e-5
"""Largest trajectory difference accepted for an exact translation: float32 rounding over
the equivalence tests' 20 steps."""
EPS_TOLERANCE = 1e-3
"""Bound stated where only Adam's ε placement differs (see the caveat it comes with)."""
FLOAT32_POWER_TOLERANCE = 5e-5
"""Bound stated where Keras' float32 ``β₂ᵗ`` meets a correction computed in float64."""

Kind = Literal["optimizer", "regularizer", "step", "init", "dropout"]
Scope = Literal["all", "kernels"]
LR = "lr"
"""Placeholder for "your learning rate" in a rendered setting (``lr=lr``)."""


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


# ---------------------------------------------------------------------------
# Meanings.


@dataclass(frozen=True)
class Amount:
    """A strength applied to kernels (weights with ≥ 2 dimensions) and to biases."""

    kernel: float = 0.0
    bias: float = 0.0

    @classmethod
    def on(cls, value: float, scope: str) -> Amount:
        return cls(value, value if scope == "all" else 0.0)

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.kernel + other.kernel, self.bias + other.bias)

    def __bool__(self) -> bool:
        return self.kernel != 0.0 or self.bias != 0.0

    @property
    def scope(self) -> Scope:
        """``"all"`` or ``"kernels"`` (a zero amount reads ``"all"``)."""
        return "kernels" if self.bias == 0.0 and self.kernel != 0.0 else "all"

    @property
    def value(self) -> float:
        return self.kernel

    def fits(self, other: Amount) -> bool:
        """True when the two can be added into one knob (same weights, or one is zero)."""
        return not self or not other or self.scope == other.scope


@dataclass(frozen=True)
class UpdateMeaning:
    """What one training step does to the weights; see the module docstring."""

    optimizer: str | None = None  # "sgd", "adam", or None: a penalty alone
    lr: float | None = None  # None: the user's own learning rate
    momentum: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    eps_hat: bool = False  # ε added to √v (Keras' ε̂) instead of √v̂
    bias_correction: bool = True
    coupled: Amount = Amount()
    decoupled: Amount = Amount()
    l1: Amount = Amount()
    kind: str = "update"

    def term(self, name: str) -> Amount:
        amount: Amount = getattr(self, name)
        return amount


@dataclass(frozen=True)
class InitMeaning:
    """``Var(W) = scale / n`` with ``n`` = ``mode``'s fan; ``bias`` is set for layer
    defaults (``"zeros"`` or ``"uniform_fan_in"``: ``U(±1/√fan_in)``)."""

    distribution: str  # "normal", "uniform", "truncated_normal"
    scale: float
    mode: str
    bias: str | None = None
    kind: str = "init"

    def std(self, fan_in: int, fan_out: int) -> float:
        """Final standard deviation for a weight with these fans."""
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        return math.sqrt(self.scale / n[self.mode])


@dataclass(frozen=True)
class DropoutMeaning:
    """Inverted dropout with drop probability ``p``."""

    p: float
    kind: str = "dropout"


Meaning = UpdateMeaning | InitMeaning | DropoutMeaning


# ---------------------------------------------------------------------------
# The vocabulary: one row per setting each framework has.


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


def _literal(value: Any) -> str:
    """A value as the spec parser reads it back (full float precision)."""
    return LR if value == LR else repr(value)


def _kwargs(values: Mapping[str, Any], skip: Sequence[str] = ()) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in values.items() if k not in skip)


def _show(value: Any) -> str:
    """A value as code shows it: ``0.02``, ``1/3``, ``math.sqrt(2)``, ``lr``."""
    if value == LR:
        return LR
    if isinstance(value, float):
        return _pretty(value)
    if isinstance(value, tuple):
        inner = ", ".join(_show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _pretty(x: float) -> str:
    text = repr(_clean(x))
    if len(text.lstrip("-")) <= 10 or x == 0.0:
        return text
    for value, form in ((x, "{}"), (x * x, "math.sqrt({})")):
        ratio = Fraction(value).limit_denominator(64)
        if ratio and math.isclose(float(ratio), value, rel_tol=1e-12):
            return form.format(str(ratio))
    return text


def _clean(x: float) -> float:
    """``x`` rounded to 12 significant digits: ``0.020000000000000004`` reads ``0.02``."""
    return float(f"{x:.12g}")


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
_TORCH_NONLINEARITIES = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
)

_COUPLED_GRAD = "adds weight_decay·w to the gradient (the gradient of (weight_decay/2)·Σw²)"
_DECOUPLED = "w ← w − lr·weight_decay·w before the step"


def _torch_params(value: float, scope: str) -> str:
    if value and scope == "kernels":
        return f"weightlab.regularize.param_groups(model, weight_decay={_show(value)})"
    return "model.parameters()"


def _torch_selected(scope: str) -> str:
    if scope == "kernels":
        return "[p for _, p in weightlab.regularize.select_params(model)]"
    return "model.parameters()"


def _torch_optimizer(call: Call, calls: Sequence[Call]) -> list[str]:
    wd = call.arg("weight_decay")
    params = _torch_params(wd, call.arg("on"))
    skip = ["on", "weight_decay"] if params != "model.parameters()" else ["on"]
    return [f"optimizer = torch.optim.{call.name}({params}, {_kwargs(call.changed(), skip)})"]


def _keras_optimizer(call: Call, calls: Sequence[Call]) -> list[str]:
    lines = [f"optimizer = keras.optimizers.{call.name}({_kwargs(call.changed(), ['on'])})"]
    if call.arg("weight_decay") and call.arg("on") == "kernels":
        lines.append('optimizer.exclude_from_weight_decay(var_names=["bias"])')
    return lines


def _mlx_optimizer(call: Call, calls: Sequence[Call]) -> list[str]:
    return [f"optimizer = mlx.optimizers.{call.name}({_kwargs(call.changed())})"]


def _keras_regularizer(call: Call, calls: Sequence[Call]) -> list[str]:
    reg = f"keras.regularizers.{call.name}({_kwargs(call.changed(), ['on'])})"
    bias = f", bias_regularizer={reg}" if call.arg("on") == "all" else ""
    return [f"keras.layers.Dense(units, kernel_regularizer={reg}{bias})"]


def _torch_penalty(call: Call, calls: Sequence[Call]) -> list[str]:
    params = _torch_selected(call.arg("on"))
    strength = _show(call.arg("strength"))
    if call.name == "penalty_l1":
        return [f"loss = loss + weightlab.regularize.l1({params}, {strength})"]
    return [f"loss = loss + weightlab.regularize.l2({params}, {strength}, convention='sum_sq')"]


def _mlx_penalty(call: Call, calls: Sequence[Call]) -> list[str]:
    op = "mx.abs" if call.name == "penalty_l1" else "mx.square"
    where = " if k.endswith('weight')" if call.arg("on") == "kernels" else ""
    return [
        f"loss = loss + {_show(call.arg('strength'))} * sum(mx.sum({op}(p)) "
        f"for k, p in tree_flatten(model.parameters()){where})"
    ]


def _torch_decoupled(call: Call, calls: Sequence[Call]) -> list[str]:
    rule = f"weightlab.regularize.decoupled_decay({_show(call.arg('rate'))})"
    params = _torch_selected(call.arg("on"))
    return [f"optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, {rule}, {params})"]


def _mlx_decoupled(call: Call, calls: Sequence[Call]) -> list[str]:
    shrink = f"p * (1 - optimizer.learning_rate * {_show(call.arg('rate'))})"
    if call.arg("on") == "kernels":
        shrink += " if k.endswith('weight') else p"
    return [
        "# before optimizer.update(model, grads):",
        f"model.update(tree_map_with_path(lambda k, p: {shrink}, model.parameters()))",
    ]


def decouples(call: Call) -> bool:
    """True for an optimizer call whose ``weight_decay`` is decoupled: torch and MLX
    ``AdamW``, torch ``Adam(decoupled_weight_decay=True)``, every Keras optimizer."""
    if call.framework == "keras":
        return True
    return call.name == "AdamW" or bool(dict(call.args).get("decoupled_weight_decay"))


def _optimizer_of(calls: Sequence[Call]) -> Call:
    return next(c for c in calls if c.component.kind == "optimizer")


def _torch_uncorrected(call: Call, calls: Sequence[Call]) -> list[str]:
    opt = _optimizer_of(calls)
    b1, b2 = (_show(b) for b in opt.arg("betas"))
    lr, eps = _show(opt.arg("lr")), _show(opt.arg("eps"))
    update = f"lr={lr} * c, eps={eps} / math.sqrt(1 - {b2} ** t)"
    loop = "for group in optimizer.param_groups:"
    if decouples(opt) and opt.arg("weight_decay"):
        wd = opt.arg("weight_decay")
        decays = (wd,) if opt.arg("on") == "all" else (wd, 0.0)
        loop = f"for group, wd in zip(optimizer.param_groups, {_show(decays)}):"
        update += ", weight_decay=wd / c"
    return [
        "# before optimizer.step() number t = 1, 2, ... (undo Adam's bias correction):",
        f"c = (1 - {b1} ** t) / math.sqrt(1 - {b2} ** t)",
        f"{loop} group.update({update})",
    ]


def _keras_uncorrected(call: Call, calls: Sequence[Call]) -> list[str]:
    opt = _optimizer_of(calls)
    b1, b2 = _show(opt.arg("beta_1")), _show(opt.arg("beta_2"))
    assign = f"optimizer.learning_rate = {_show(opt.arg('learning_rate'))} * c"
    if opt.arg("weight_decay"):
        assign += f"; optimizer.weight_decay = {_show(opt.arg('weight_decay'))} / c"
    return [
        "# before training step t = 1, 2, ... (undo Adam's bias correction):",
        f"c = (1 - {b1} ** t) / math.sqrt(1 - {b2} ** t)",
        assign,
    ]


def _init_code(prefix: str, suffix: str = "") -> Callable[[Call, Sequence[Call]], list[str]]:
    def code(call: Call, calls: Sequence[Call]) -> list[str]:
        kwargs = _kwargs(call.changed())
        if suffix:  # MLX: a factory, then the call on the array
            return [f"{prefix}{call.name}()(w{', ' if kwargs else ''}{kwargs})"]
        return [f"{prefix}{call.name}(w{', ' if kwargs else ''}{kwargs})"]

    return code


def _keras_init_code(call: Call, calls: Sequence[Call]) -> list[str]:
    return [f"keras.initializers.{call.name}({_kwargs(call.changed())})"]


def _fixed(*lines: str) -> Callable[[Call, Sequence[Call]], list[str]]:
    return lambda call, calls: list(lines)


def _mlx_variance_scaling(call: Call, calls: Sequence[Call]) -> list[str]:
    fan = {"fan_in": "fan_in", "fan_out": "fan_out", "fan_avg": "(fan_in + fan_out) / 2"}
    std = f"math.sqrt({_show(call.arg('scale'))} / {fan[call.arg('mode')]})"
    dist = call.arg("distribution")
    if dist == "truncated_normal":
        draw = f"{std} / {TRUNC_STD!r} * mx.random.truncated_normal(-2.0, 2.0, w.shape)"
    elif dist == "uniform":
        draw = f"mx.random.uniform(-math.sqrt(3) * {std}, math.sqrt(3) * {std}, w.shape)"
    else:
        draw = f"{std} * mx.random.normal(w.shape)"
    return [f"w = {draw}  # fan_in, fan_out = w.shape[1], w.shape[0]"]


def _dropout_code(prefix: str, param: str) -> Callable[[Call, Sequence[Call]], list[str]]:
    return lambda call, calls: [f"{prefix}Dropout({param}={_show(call.arg(param))})"]


def _varscale(dist: str, mode: str, scale: Callable[[Mapping[str, Any]], float]) -> Any:
    return lambda a: InitMeaning(dist, scale(a), mode)


def _torch_gain(a: Mapping[str, Any]) -> float:
    param = a["a"] if a["nonlinearity"] == "leaky_relu" else None
    return float(torch.nn.init.calculate_gain(a["nonlinearity"], param))


def _kaiming(dist: str) -> Callable[[Mapping[str, Any]], InitMeaning]:
    return lambda a: InitMeaning(dist, _torch_gain(a) ** 2, a["mode"])


def _keras_dist(name: str) -> str:
    # Keras reads "normal" as truncated, and "untruncated_normal" as the plain normal.
    return {"normal": "truncated_normal", "untruncated_normal": "normal"}.get(name, name)


_SGD_KNOB = Knob("coupled", "weight_decay", 1.0, _COUPLED_GRAD)
_ADAM_COUPLED = Knob(
    "coupled", "weight_decay", 1.0, _COUPLED_GRAD + ", before Adam's moment estimates"
)
_ADAMW_KNOB = Knob("decoupled", "weight_decay", 1.0, _DECOUPLED)
_KERAS_DECAY = Knob("decoupled", "weight_decay", 1.0, _DECOUPLED)
_L1_KNOB = Knob("l1", "l1", 1.0, "adds l1·Σ|w| to the loss (gradient l1·sign(w))")
_L2_KNOB = Knob("coupled", "l2", 2.0, "adds l2·Σw² to the loss (gradient 2·l2·w)")
_PENALTY_L1 = Knob("l1", "strength", 1.0, "adds strength·Σ|w| to the loss")
_PENALTY_L2 = Knob(
    "coupled", "strength", 2.0, "adds strength·Σw² to the loss (gradient 2·strength·w)"
)
_DECAY_STEP = Knob("decoupled", "rate", 1.0, "w ← w − lr·rate·w beside the optimizer's step")

_TORCH_FIELDS = {"lr": "lr", "momentum": "momentum", "betas": "betas", "eps": "eps"}
_KERAS_FIELDS = {
    "learning_rate": "lr",
    "momentum": "momentum",
    "beta_1": "beta1",
    "beta_2": "beta2",
    "epsilon": "eps",
}
_MLX_FIELDS = {
    "learning_rate": "lr",
    "momentum": "momentum",
    "betas": "betas",
    "eps": "eps",
    "bias_correction": "bias_correction",
}
_ADAM_TORCH_PARAMS = (("lr", 0.001), ("betas", (0.9, 0.999)), ("eps", 1e-8))
_ADAM_TORCH_RULES = {
    "lr": _LR,
    "betas": _BETAS,
    "eps": POSITIVE,
    "weight_decay": STRENGTH,
    "on": _ON,
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
_MLX_ADAM_PARAMS = (("betas", (0.9, 0.999)), ("eps", 1e-8))
_MLX_RULES = {
    "learning_rate": _LR,
    "momentum": _UNIT_OPEN,
    "betas": _BETAS,
    "eps": POSITIVE,
    "weight_decay": STRENGTH,
    "bias_correction": _BOOL,
}
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


_TORCH: dict[str, Component] = {
    "SGD": Component(
        "optimizer",
        (("lr", 0.001), ("momentum", 0.0), ("weight_decay", 0.0), ("on", "all")),
        {"lr": _LR, "momentum": _UNIT_OPEN, "weight_decay": STRENGTH, "on": _ON},
        "torch.optim.SGD: coupled weight_decay",
        _torch_optimizer,
        knobs=(_SGD_KNOB,),
        family="sgd",
        fields=_TORCH_FIELDS,
    ),
    "Adam": Component(
        "optimizer",
        (
            *_ADAM_TORCH_PARAMS,
            ("weight_decay", 0.0),
            ("decoupled_weight_decay", False),
            ("on", "all"),
        ),
        {**_ADAM_TORCH_RULES, "decoupled_weight_decay": _BOOL},
        "torch.optim.Adam: coupled weight_decay (decoupled_weight_decay=True makes it AdamW)",
        _torch_optimizer,
        knobs=(_ADAM_COUPLED,),
        family="adam",
        fields=_TORCH_FIELDS,
    ),
    "AdamW": Component(
        "optimizer",
        (*_ADAM_TORCH_PARAMS, ("weight_decay", 0.01), ("on", "all")),
        _ADAM_TORCH_RULES,
        "torch.optim.AdamW: decoupled, lr-scaled weight_decay",
        _torch_optimizer,
        knobs=(_ADAMW_KNOB,),
        family="adam",
        fields=_TORCH_FIELDS,
    ),
    "penalty_l1": _penalty(
        _torch_penalty, _PENALTY_L1, "weightlab.regularize.l1 added to the loss"
    ),
    "penalty_l2": _penalty(
        _torch_penalty, _PENALTY_L2, "weightlab.regularize.l2 (λΣw²) added to the loss"
    ),
    "decoupled_decay": _decay_step(_torch_decoupled),
    "no_bias_correction": Component(
        "step",
        (),
        {},
        "per-step lr, eps and weight_decay that undo Adam's bias correction",
        _torch_uncorrected,
        sets={"bias_correction": False, "eps_hat": True},
    ),
    "Dropout": Component(
        "dropout",
        (("p", 0.5),),
        {"p": _UNIT_OPEN},
        "torch.nn.Dropout (inverted)",
        _dropout_code("torch.nn.", "p"),
    ),
    "Linear": Component(
        "init",
        (),
        {},
        "torch.nn.Linear's default: weight and bias U(±1/√fan_in)",
        _fixed("torch.nn.Linear(in_features, out_features)"),
        init=lambda a: InitMeaning("uniform", 1.0 / 3.0, "fan_in", "uniform_fan_in"),
    ),
    "xavier_normal_": Component(
        "init",
        (("gain", 1.0),),
        _GAIN,
        "N(0, gain²·2/(fan_in + fan_out))",
        _init_code("torch.nn.init."),
        init=_varscale("normal", "fan_avg", lambda a: a["gain"] ** 2),
    ),
    "xavier_uniform_": Component(
        "init",
        (("gain", 1.0),),
        _GAIN,
        "U(±gain·√(6/(fan_in + fan_out)))",
        _init_code("torch.nn.init."),
        init=_varscale("uniform", "fan_avg", lambda a: a["gain"] ** 2),
    ),
    "kaiming_normal_": Component(
        "init",
        (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu")),
        {"a": STRENGTH, "mode": _FAN_IO, "nonlinearity": OneOf(_TORCH_NONLINEARITIES)},
        "N(0, gain²/fan), gain = calculate_gain(nonlinearity, a)",
        _init_code("torch.nn.init."),
        init=_kaiming("normal"),
    ),
    "kaiming_uniform_": Component(
        "init",
        (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu")),
        {"a": STRENGTH, "mode": _FAN_IO, "nonlinearity": OneOf(_TORCH_NONLINEARITIES)},
        "U(±gain·√(3/fan))",
        _init_code("torch.nn.init."),
        init=_kaiming("uniform"),
    ),
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
    "Dropout": Component(
        "dropout",
        (("rate", REQUIRED),),
        {"rate": _UNIT_OPEN},
        "keras.layers.Dropout (inverted, in training only)",
        _dropout_code("keras.layers.", "rate"),
    ),
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

_MLX: dict[str, Component] = {
    "SGD": Component(
        "optimizer",
        (("learning_rate", REQUIRED), ("momentum", 0.0), ("weight_decay", 0.0)),
        _MLX_RULES,
        "mlx.optimizers.SGD: coupled weight_decay",
        _mlx_optimizer,
        knobs=(_SGD_KNOB,),
        family="sgd",
        fields=_MLX_FIELDS,
    ),
    "Adam": Component(
        "optimizer",
        (("learning_rate", REQUIRED), *_MLX_ADAM_PARAMS, ("bias_correction", False)),
        _MLX_RULES,
        "mlx.optimizers.Adam: no bias correction by default, no weight_decay",
        _mlx_optimizer,
        family="adam",
        fields=_MLX_FIELDS,
    ),
    "AdamW": Component(
        "optimizer",
        (
            ("learning_rate", REQUIRED),
            *_MLX_ADAM_PARAMS,
            ("weight_decay", 0.01),
            ("bias_correction", False),
        ),
        _MLX_RULES,
        "mlx.optimizers.AdamW: decoupled weight_decay, no bias correction by default",
        _mlx_optimizer,
        knobs=(_ADAMW_KNOB,),
        family="adam",
        fields=_MLX_FIELDS,
    ),
    "penalty_l1": _penalty(_mlx_penalty, _PENALTY_L1, "λΣ|w| added to the loss"),
    "penalty_l2": _penalty(_mlx_penalty, _PENALTY_L2, "λΣw² added to the loss"),
    "decoupled_decay": _decay_step(_mlx_decoupled),
    "Dropout": Component(
        "dropout",
        (("p", 0.5),),
        {"p": _UNIT_OPEN},
        "mlx.nn.Dropout (inverted, in training only)",
        _dropout_code("mlx.nn.", "p"),
    ),
    "Linear": Component(
        "init",
        (),
        {},
        "mlx.nn.Linear's default: weight and bias U(±1/√fan_in)",
        _fixed("mlx.nn.Linear(input_dims, output_dims)"),
        init=lambda a: InitMeaning("uniform", 1.0 / 3.0, "fan_in", "uniform_fan_in"),
    ),
    "glorot_normal": Component(
        "init",
        (("gain", 1.0),),
        _GAIN,
        "N(0, gain²·2/(fan_in + fan_out))",
        _init_code("mlx.nn.init.", "()"),
        init=_varscale("normal", "fan_avg", lambda a: a["gain"] ** 2),
    ),
    "glorot_uniform": Component(
        "init",
        (("gain", 1.0),),
        _GAIN,
        "U(±gain·√(6/(fan_in + fan_out)))",
        _init_code("mlx.nn.init.", "()"),
        init=_varscale("uniform", "fan_avg", lambda a: a["gain"] ** 2),
    ),
    "he_normal": Component(
        "init",
        (("mode", "fan_in"), ("gain", 1.0)),
        {"mode": _FAN_IO, "gain": POSITIVE},
        "N(0, gain²/fan), gain 1.0 by default (LeCun's variance)",
        _init_code("mlx.nn.init.", "()"),
        init=lambda a: InitMeaning("normal", a["gain"] ** 2, a["mode"]),
    ),
    "he_uniform": Component(
        "init",
        (("mode", "fan_in"), ("gain", 1.0)),
        {"mode": _FAN_IO, "gain": POSITIVE},
        "U(±gain·√(3/fan)), gain 1.0 by default",
        _init_code("mlx.nn.init.", "()"),
        init=lambda a: InitMeaning("uniform", a["gain"] ** 2, a["mode"]),
    ),
    "variance_scaling": Component(
        "init",
        (("scale", 1.0), ("mode", "fan_in"), ("distribution", "normal")),
        {
            "scale": POSITIVE,
            "mode": _FAN,
            "distribution": OneOf(("normal", "uniform", "truncated_normal")),
        },
        "Var = scale/fan written with mlx.random (MLX has no such initializer)",
        _mlx_variance_scaling,
        init=lambda a: InitMeaning(a["distribution"], a["scale"], a["mode"]),
    ),
}


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


COMPONENTS: dict[str, dict[str, Component]] = {
    "torch": _TORCH,
    "keras": _KERAS,
    "mlx": _MLX,
    "weightlab": {name: _weightlab_row(name, fn) for name, fn in _WEIGHTLAB_INITS.items()},
}
"""Every setting the translator reads and writes, by framework and name."""


def supported() -> dict[str, list[str]]:
    """Names of the settings each framework offers the translator, by framework.

    Example:
        >>> supported()["keras"][:3]
        ['SGD', 'Adam', 'AdamW']
    """
    return {fw: list(table) for fw, table in COMPONENTS.items()}


# ---------------------------------------------------------------------------
# Parsing: "framework:Name(args) + Name(args)" into bound calls.


def parse_setting(text: str, owner: str = "translate", param: str = "setting") -> tuple[Call, ...]:
    """Parse ``"framework:Name(args) + Name(args)"`` into calls with every argument bound.

    The framework prefix may be left out when the names belong to one framework only.
    Positional arguments bind in the framework's order (``keras:L2(0.01)`` is
    ``l2=0.01``); missing ones take the framework's defaults.

    Raises:
        ValueError: naming ``param`` of ``owner`` and listing what is supported.

    Example:
        >>> [c.spec(full=False) for c in parse_setting("keras:Adam(1e-3) + L2(1e-4)")]
        ['Adam(learning_rate=0.001)', 'L2(l2=0.0001)']
    """
    if not isinstance(text, str):
        raise fail(owner, param, "a str", text, wrong_type=True)
    framework, body = _prefix(text, owner, param)
    try:
        parsed = [parse_spec(part, owner, param) for part in _parts(body)]
    except ValueError:
        expected = (
            "a setting written framework:Name(args) with literal arguments, e.g. 'keras:L2(0.01)'"
        )
        raise fail(owner, param, expected, text) from None
    if framework is None:
        framework = _infer(text, [name for name, _, _ in parsed], owner, param)
    table = COMPONENTS[framework]
    calls = []
    for name, args, kwargs in parsed:
        if name not in table:
            listed = ", ".join(table)
            raise fail(owner, param, f"a {framework} setting, one of: {listed}", text)
        calls.append(_bind(framework, name, args, kwargs, text, owner, param))
    _check_combination(calls, text, owner, param)
    return tuple(calls)


def _prefix(text: str, owner: str, param: str) -> tuple[str | None, str]:
    head, sep, rest = text.partition(":")
    if not sep or not head.strip().isidentifier():
        return None, text
    framework = head.strip().lower()
    if framework not in FRAMEWORKS:
        expected = "a setting written framework:Name(args), framework one of " + ", ".join(
            repr(f) for f in FRAMEWORKS
        )
        raise fail(owner, param, expected, text)
    return framework, rest


def _parts(body: str) -> list[str]:
    """Split ``A(...) + B(...)`` at its top-level ``+`` signs."""
    try:
        node = ast.parse(body.strip(), mode="eval").body
    except SyntaxError:
        return [body]  # parse_spec reports the malformed text
    operands: list[ast.expr] = []

    def flatten(n: ast.expr) -> None:
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
            flatten(n.left)
            flatten(n.right)
        else:
            operands.append(n)

    flatten(node)
    source = body.strip()
    return [ast.get_source_segment(source, n) or "" for n in operands]


def _infer(text: str, names: list[str], owner: str, param: str) -> str:
    candidates = [fw for fw in FRAMEWORKS if all(n in COMPONENTS[fw] for n in names)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        options = " or ".join(f"{fw}:{names[0]}" for fw in candidates)
        raise fail(owner, param, f"prefixed by its framework ({options})", text)
    listed = "; ".join(f"{fw}: {', '.join(t)}" for fw, t in COMPONENTS.items())
    raise fail(owner, param, f"a known setting written framework:Name(args) ({listed})", text)


def _bind(
    framework: str,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    text: str,
    owner: str,
    param: str,
) -> Call:
    comp = COMPONENTS[framework][name]
    names = [p for p, _ in comp.params]
    usage = f"a call using the parameters of {framework}:{name} ({', '.join(names) or 'none'})"
    if len(args) > len(names) or any(k not in names for k in kwargs):
        raise fail(owner, param, usage, text)
    values = dict(zip(names, args, strict=False))  # fewer args than names: checked above
    if any(k in values for k in kwargs):
        raise fail(owner, param, usage, text)
    values.update(kwargs)
    bound: dict[str, Any] = {}
    for p, default in comp.params:
        value = values.get(p, default)
        if value is REQUIRED:
            raise fail(owner, param, f"{usage}, giving {p}", text)
        bound[p] = _coerce(value, default)
    check(f"{framework}:{name}", bound, comp.rules)
    return Call(framework, name, tuple(bound.items()))


def _coerce(value: Any, default: Any) -> Any:
    # "lr=1" is the float 1.0; betas written as a list are the pair they mean.
    if isinstance(default, float) and is_real(value):
        return float(value)
    if isinstance(value, list) and len(value) == 2:
        return tuple(float(v) if is_real(v) else v for v in value)
    if isinstance(value, tuple):
        return tuple(float(v) if is_real(v) else v for v in value)
    return value


def _check_combination(calls: list[Call], text: str, owner: str, param: str) -> None:
    kinds = [c.component.kind for c in calls]
    alone = [k for k in kinds if k in ("init", "dropout")]
    if alone and len(calls) > 1:
        raise fail(
            owner,
            param,
            f"a single {alone[0]} setting (only optimizers, penalties and steps combine with '+')",
            text,
        )
    if kinds.count("optimizer") > 1:
        raise fail(owner, param, "a setting with at most one optimizer", text)
    if "step" in kinds and any(c.name == "no_bias_correction" for c in calls):
        opt = [c for c in calls if c.component.kind == "optimizer"]
        if not opt or opt[0].component.family != "adam":
            raise fail(owner, param, "no_bias_correction() combined with an Adam optimizer", text)


# ---------------------------------------------------------------------------
# Meaning of a parsed setting.


def meaning_of(calls: Sequence[Call], owner: str = "translate", param: str = "setting") -> Meaning:
    """The canonical meaning of parsed calls (see the module docstring).

    Example:
        >>> meaning_of(parse_setting("keras:L2(0.01)")).coupled
        Amount(kernel=0.02, bias=0.0)
    """
    first = calls[0].component
    if first.kind == "init":
        assert first.init is not None
        return first.init(dict(calls[0].args))
    if first.kind == "dropout":
        return DropoutMeaning(float(calls[0].args[0][1]))
    meaning = UpdateMeaning()
    for call in calls:
        meaning = _add(meaning, call)
    for term in ("coupled", "decoupled", "l1"):
        amount = meaning.term(term)
        if amount and amount.bias not in (0.0, amount.kernel):
            text = f"{calls[0].framework}:" + " + ".join(c.spec(False) for c in calls)
            raise fail(
                owner,
                param,
                f"a setting whose {term} term is the same on kernels and biases, or on "
                "kernels only",
                text,
            )
    return meaning


def _add(meaning: UpdateMeaning, call: Call) -> UpdateMeaning:
    comp, args = call.component, dict(call.args)
    changes: dict[str, Any] = dict(comp.sets)
    if comp.family is not None:
        changes.update(optimizer=comp.family, eps_hat=comp.eps_hat or meaning.eps_hat)
        for p, name in comp.fields.items():
            if p not in args:
                continue
            value = args[p]
            if name == "betas":
                changes.update(beta1=value[0], beta2=value[1])
            elif name == "lr":
                changes["lr"] = None if value == LR else value
            else:
                changes[name] = value
        if "bias_correction" in changes and not changes["bias_correction"]:
            changes["eps_hat"] = True
    if not meaning.bias_correction:
        changes["bias_correction"] = False
        changes["eps_hat"] = True
    scope = args.get("on", "all")
    for knob in comp.knobs:
        value = args[knob.param] or 0.0
        term = knob.term
        if call.framework == "torch" and decouples(call):
            term = "decoupled"
        changes[term] = changes.get(term, meaning.term(term)) + Amount.on(
            knob.factor * value, scope
        )
    return replace(meaning, **changes)


# ---------------------------------------------------------------------------
# Rendering a meaning in a target framework.


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
    if decoupled:
        calls.append(_fill("torch", "decoupled_decay", m, {"decoupled": decoupled}))
        r.notes.append(
            "torch has no decoupled decay for this optimizer; weightlab's RegularizedOptimizer "
            "applies w ← w − lr·d·w beside its step."
        )
    if not m.bias_correction:
        calls.append(Call("torch", "no_bias_correction", ()))
    if m.l1:
        calls.append(_fill("torch", "penalty_l1", m, {"l1": m.l1}))
    return calls


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
    return calls


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
    if not m.bias_correction:
        calls.append(Call("keras", "no_bias_correction", ()))
    return calls


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
        f"source {_knob_text(c, k)}" for c in source for k in c.component.knobs if c.arg(k.param)
    ]
    lines += [
        f"target {_knob_text(c, k)}" for c in target for k in c.component.knobs if c.arg(k.param)
    ]
    return "\n".join(lines)


def _knob_text(call: Call, knob: Knob) -> str:
    symbol = {t: s for t, s, _ in _TERMS}[knob.term]
    factor = "" if knob.factor == 1.0 else f"{knob.factor:g}·"
    value = _show(call.arg(knob.param))
    where = f"{call.framework}:{call.name}({knob.param}={value})"
    return f"{where} {knob.says}: {symbol} = {factor}{knob.param}"


# ----- initializers


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9)


def _plan_init(m: InitMeaning, framework: str, r: _Render) -> list[Call]:
    dist, s, mode = m.distribution, m.scale, m.mode
    linear_default = (
        m.bias == "uniform_fan_in" and dist == "uniform" and _close(s, 1 / 3) and mode == "fan_in"
    )
    if framework == "torch":
        if linear_default:
            return [Call("torch", "Linear", ())]
        if dist == "truncated_normal":
            r.notes.append(
                "torch has no truncated variance-scaling initializer (trunc_normal_ takes "
                "absolute bounds and std, so it needs the fans); weightlab's draws the same "
                "distribution from torch."
            )
            r.alternatives.append(_torch_plain_code(s, mode, dist))
            plain = _plan_init(replace(m, distribution="normal", bias=None), "torch", _Render())
            untruncated = plain[0].component.code(plain[0], plain)[0]
            r.alternatives.append(f"{untruncated}  # same variance, not truncated")
            return [_weightlab_vs(s, mode, dist)]
        r.alternatives.append(_torch_plain_code(s, mode, dist))
        suffix = "normal_" if dist == "normal" else "uniform_"
        if mode == "fan_avg":
            return [_call("torch", "xavier_" + suffix, gain=math.sqrt(s))]
        kaiming = _kaiming_args(s)
        if kaiming is None:
            r.notes.append(
                "No torch nonlinearity gives this gain; weightlab's variance_scaling_ does."
            )
            return [_weightlab_vs(s, mode, dist)]
        return [_call("torch", "kaiming_" + suffix, mode=mode, **kaiming)]
    if framework == "keras":
        if dist == "uniform" and _close(s, 1.0) and mode == "fan_avg" and m.bias == "zeros":
            return [Call("keras", "Dense", ())]
        for name, (d, sc, md) in _KERAS_INITS.items():
            if d == dist and _close(sc, s) and md == mode:
                return [Call("keras", name, ())]
        keras_dist = {"normal": "untruncated_normal"}.get(dist, dist)
        if dist == "normal":
            r.notes.append(
                "Keras' GlorotNormal, HeNormal and LecunNormal are truncated; a plain normal "
                "is VarianceScaling(distribution='untruncated_normal') ('normal' there means "
                "truncated)."
            )
        return [_call("keras", "VarianceScaling", scale=s, mode=mode, distribution=keras_dist)]
    if framework == "mlx":
        if linear_default:
            return [Call("mlx", "Linear", ())]
        if dist == "truncated_normal":
            r.notes.append(
                "MLX has no truncated-normal initializer; the setting writes it with "
                "mx.random.truncated_normal."
            )
            return [_call("mlx", "variance_scaling", scale=s, mode=mode, distribution=dist)]
        suffix = "normal" if dist == "normal" else "uniform"
        gain = math.sqrt(s)
        if mode == "fan_avg":
            return [_call("mlx", "glorot_" + suffix, gain=gain)]
        return [_call("mlx", "he_" + suffix, mode=mode, gain=gain)]
    # weightlab
    if dist == "truncated_normal" or (mode == "fan_out" and not _close(s, 2.0)):
        return [_weightlab_vs(s, mode, dist)]
    suffix = "normal" if dist == "normal" else "uniform"
    gain = math.sqrt(s)
    if mode == "fan_avg":
        return [_call("weightlab", "xavier_" + suffix, gain=gain)]
    if _close(s, 2.0):
        return [_call("weightlab", "he_" + suffix, mode=mode)]
    return [_call("weightlab", "lecun_" + suffix, gain=gain)]


def _kaiming_args(s: float) -> dict[str, Any] | None:
    named = {1.0: "linear", 2.0: "relu", 25.0 / 9.0: "tanh", 9.0 / 16.0: "selu"}
    for scale, name in named.items():
        if _close(s, scale):
            return {"nonlinearity": name}
    if s < 2.0:
        return {"a": math.sqrt(2.0 / s - 1.0), "nonlinearity": "leaky_relu"}
    return None


def _weightlab_vs(s: float, mode: str, dist: str) -> Call:
    return _call("weightlab", "variance_scaling", scale=s, mode=mode, distribution=dist)


def _call(framework: str, name: str, **given: Any) -> Call:
    comp = COMPONENTS[framework][name]
    args = {p: given.get(p, d) for p, d in comp.params}
    return Call(framework, name, tuple(args.items()))


def _torch_plain_code(s: float, mode: str, dist: str) -> str:
    """The distribution written with torch's size-free initializers and the layer's fans."""
    fan = {"fan_in": "fan_in", "fan_out": "fan_out", "fan_avg": "((fan_in + fan_out) / 2)"}[mode]
    std = f"math.sqrt({_show(s)} / {fan})"
    if dist == "uniform":
        return f"b = math.sqrt(3) * {std}; torch.nn.init.uniform_(w, -b, b)"
    if dist == "normal":
        return f"torch.nn.init.normal_(w, std={std})"
    return (
        f"std = {std} / {TRUNC_STD!r}; "
        "torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)"
    )


def _init_formula(m: InitMeaning) -> str:
    n = {"fan_in": "fan_in", "fan_out": "fan_out", "fan_avg": "((fan_in + fan_out)/2)"}[m.mode]
    scale = str(int(m.scale)) if m.scale.is_integer() else _show(m.scale)
    if not scale.replace(".", "").isdigit():
        scale = f"({scale})"
    var = f"Var(W) = {scale}/{n}"
    if m.distribution == "uniform":
        return f"{var}: W ~ U(−b, b), b = √(3·{scale}/{n})"
    if m.distribution == "normal":
        return f"{var}: W ~ N(0, σ²), σ = √({scale}/{n})"
    return (
        f"{var}: W ~ N(0, σ′²) cut at ±2σ′, σ′ = √({scale}/{n})/{TRUNC_STD:.8f}, "
        f"so the final std is √({scale}/{n})"
    )


def _init_caveats(
    source: Sequence[Call], m: InitMeaning, target: Sequence[Call], r: _Render
) -> None:
    src = source[0]
    if (
        src.framework == "mlx"
        and src.name in ("he_normal", "he_uniform")
        and _close(src.arg("gain"), 1.0)
    ):
        r.caveats.append(
            f"MLX's {src.name} has gain 1.0 by default: Var = 1/fan, LeCun's variance, not He's "
            "2/fan_in (He et al. 2015). For He's, pass gain=math.sqrt(2) (torch: "
            "nonlinearity='relu')."
        )
    if m.distribution == "truncated_normal" and "keras" in (src.framework, target[0].framework):
        r.caveats.append(
            "On the torch backend Keras draws a truncated normal by taking the first of four "
            "standard-normal draws inside (−2, 2) and keeps the first draw when none is, so "
            "about 4·10⁻⁶ of the values (0.0455⁴) lie beyond ±2σ′; other backends cut exactly."
        )
    if m.bias is not None:
        tgt = target[0]
        target_bias = {"Linear": "uniform_fan_in", "Dense": "zeros"}.get(tgt.name)
        if target_bias != m.bias:
            if m.bias == "zeros":
                r.extra.append(_bias_zero_code(tgt.framework))
                r.notes.append(
                    "Keras' Dense starts its bias at zero; the second line does the same."
                )
            else:
                bias = _bias_uniform_code(tgt.framework)
                if tgt.framework == "keras":  # initializers go into the layer
                    kernel = tgt.component.code(tgt, target)[0]
                    bias = bias.replace(
                        "Dense(units, ", f"Dense(units, kernel_initializer={kernel}, "
                    )
                r.extra.append(bias)
                r.notes.append(
                    "The layer default also draws its bias from U(±1/√fan_in); the second line "
                    "does the same."
                )


def _bias_zero_code(framework: str) -> str:
    return {
        "torch": "torch.nn.init.zeros_(layer.bias)",
        "mlx": "layer.bias = mx.zeros_like(layer.bias)",
        "weightlab": "weightlab.init.zeros_(layer.bias)",
        "keras": "keras.layers.Dense(units, bias_initializer='zeros')",
    }[framework]


def _bias_uniform_code(framework: str) -> str:
    bound = "1 / math.sqrt(fan_in)"
    return {
        "torch": f"torch.nn.init.uniform_(layer.bias, -{bound}, {bound})",
        "mlx": f"layer.bias = mx.random.uniform(-{bound}, {bound}, layer.bias.shape)",
        "weightlab": f"weightlab.init.uniform_(layer.bias, -{bound}, {bound})",
        "keras": "keras.layers.Dense(units, bias_initializer="
        f"keras.initializers.RandomUniform(-{bound}, {bound}))",
    }[framework]


# ---------------------------------------------------------------------------
# The public function.


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
            ``"keras:Adam(learning_rate=1e-3) + L2(1e-4)"``, ``"mlx:he_normal()"``.
            :func:`supported` lists the names.
        to: a framework (``torch``, ``keras``, ``mlx``; ``weightlab`` for initializers),
            optionally with the optimizer to use: ``torch:sgd``, ``keras:adamw``.

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
            raise _bad_target(to, "'torch', 'keras' or 'mlx' for an optimizer or penalty")
        chosen = _family(meaning, family, to)
        target_calls = _PLANS[framework](meaning, chosen, r)
        _eps_caveat(meaning, framework, chosen, r)
        _float32_caveat([*calls, *target_calls], r)
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
        if framework == "weightlab":
            raise _bad_target(to, "'torch', 'keras' or 'mlx' for dropout")
        param = "rate" if framework == "keras" else "p"
        target_calls = [_call(framework, "Dropout", **{param: meaning.p})]
        r.tolerance = 0.0
        if framework == "keras" or calls[0].framework == "keras":
            r.caveats.append(
                "Keras drops only when the layer is called with training=True (fit does)."
            )
        formula = "training: y = x·m/(1 − p), m ~ Bernoulli(1 − p); evaluation: y = x"
        explanation = (
            "All three frameworks use inverted dropout: kept units are scaled by 1/(1 − p) "
            "during training, so nothing changes at evaluation. Srivastava et al. (2014) "
            "describe the original form, which instead scales weights by 1 − p at test time."
        )
    lines = [line for c in target_calls for line in c.component.code(c, target_calls)] + r.extra
    prefix = target_calls[0].framework
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
    )


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
    if m.optimizer is None:
        parts.append("The source names no optimizer: lr=lr stands for your learning rate.")
    return " ".join(parts + r.notes)


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
