"""MLX's settings: its optimizers, dropout and initializers, and recipes written with
MLX's primitives where it has none (penalties, decoupled decay, variance scaling)."""

from __future__ import annotations

from collections.abc import Sequence

from weightlab._validate import POSITIVE, STRENGTH, OneOf
from weightlab.interop.translate.components import REQUIRED, Call, Component
from weightlab.interop.translate.meanings import TRUNC_STD, InitMeaning
from weightlab.interop.translate.shared_terms import (
    _ADAMW_KNOB,
    _BETAS,
    _BOOL,
    _FAN,
    _FAN_IO,
    _GAIN,
    _LR,
    _PENALTY_L1,
    _PENALTY_L2,
    _SGD_KNOB,
    _UNIT_OPEN,
    _adapter_dropout,
    _decay_step,
    _dropout_code,
    _fixed,
    _init_code,
    _penalty,
    _varscale,
)
from weightlab.interop.translate.show import _kwargs, _show
from weightlab.interop.translate.weightlab_terms import _penalty_row, _rules_row
from weightlab.regularize.registry import parse_regularization


def _mlx_optimizer(call: Call, calls: Sequence[Call]) -> list[str]:
    return [f"optimizer = mlx.optimizers.{call.name}({_kwargs(call.changed())})"]


def _mlx_penalty(call: Call, calls: Sequence[Call]) -> list[str]:
    op = "mx.abs" if call.name == "penalty_l1" else "mx.square"
    where = " if k.endswith('weight')" if call.arg("on") == "kernels" else ""
    return [
        f"loss = loss + {_show(call.arg('strength'))} * sum(mx.sum({op}(p)) "
        f"for k, p in tree_flatten(model.parameters()){where})"
    ]


def _mlx_decoupled(call: Call, calls: Sequence[Call]) -> list[str]:
    shrink = f"p * (1 - optimizer.learning_rate * {_show(call.arg('rate'))})"
    if call.arg("on") == "kernels":
        shrink += " if k.endswith('weight') else p"
    return [
        "# before optimizer.update(model, grads):",
        f"model.update(tree_map_with_path(lambda k, p: {shrink}, model.parameters()))",
    ]


def _mlx_rules(call: Call, calls: Sequence[Call]) -> list[str]:
    return [f"optimizer = weightlab.mlx.RegularizedOptimizer(optimizer, {call.arg('spec')!r})"]


def _mlx_weightlab_penalty(call: Call, calls: Sequence[Call]) -> list[str]:
    terms = parse_regularization(call.arg("spec")).terms
    return [
        "loss = loss + " + " + ".join(f"weightlab.mlx.penalty({str(t)!r})(model)" for t in terms)
    ]


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


_MLX_FIELDS = {
    "learning_rate": "lr",
    "momentum": "momentum",
    "betas": "betas",
    "eps": "eps",
    "bias_correction": "bias_correction",
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
    "weightlab_rules": _rules_row("mlx", _mlx_rules),
    "weightlab_penalty": _penalty_row("mlx", _mlx_weightlab_penalty),
    "Dropout": Component(
        "dropout",
        (("p", 0.5),),
        {"p": _UNIT_OPEN},
        "mlx.nn.Dropout (inverted, in training only)",
        _dropout_code("mlx.nn.", "p"),
    ),
    "weightlab_dropout": _adapter_dropout("weightlab.mlx.", "p"),
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
