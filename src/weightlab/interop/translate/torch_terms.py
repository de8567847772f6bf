"""torch's settings: its optimizers, dropout and initializers, and recipes written with
weightlab's tools where torch has none (penalties, decoupled decay, no bias correction)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from weightlab._validate import POSITIVE, STRENGTH, OneOf
from weightlab.interop.translate.components import Call, Component, Knob
from weightlab.interop.translate.meanings import InitMeaning
from weightlab.interop.translate.shared_terms import (
    _ADAMW_KNOB,
    _BETAS,
    _BOOL,
    _COUPLED_GRAD,
    _FAN_IO,
    _GAIN,
    _LR,
    _ON,
    _PENALTY_L1,
    _PENALTY_L2,
    _SGD_KNOB,
    _UNIT_OPEN,
    _adapter_dropout,
    _decay_step,
    _dropout_code,
    _fixed,
    _init_code,
    _optimizer_of,
    _penalty,
    _varscale,
    decouples,
)
from weightlab.interop.translate.show import _kwargs, _show
from weightlab.interop.translate.weightlab_terms import (
    _penalty_row,
    _rules_row,
    _torch_penalties,
    _torch_rules,
)

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


def _torch_penalty(call: Call, calls: Sequence[Call]) -> list[str]:
    params = _torch_selected(call.arg("on"))
    strength = _show(call.arg("strength"))
    if call.name == "penalty_l1":
        return [f"loss = loss + weightlab.regularize.l1({params}, {strength})"]
    return [f"loss = loss + weightlab.regularize.l2({params}, {strength}, convention='sum_sq')"]


def _torch_decoupled(call: Call, calls: Sequence[Call]) -> list[str]:
    rule = f"weightlab.regularize.decoupled_decay({_show(call.arg('rate'))})"
    params = _torch_selected(call.arg("on"))
    return [f"optimizer = weightlab.regularize.RegularizedOptimizer(optimizer, {rule}, {params})"]


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


def _torch_gain(a: Mapping[str, Any]) -> float:
    param = a["a"] if a["nonlinearity"] == "leaky_relu" else None
    return float(torch.nn.init.calculate_gain(a["nonlinearity"], param))


def _kaiming(dist: str) -> Callable[[Mapping[str, Any]], InitMeaning]:
    return lambda a: InitMeaning(dist, _torch_gain(a) ** 2, a["mode"])


_ADAM_COUPLED = Knob(
    "coupled", "weight_decay", 1.0, _COUPLED_GRAD + ", before Adam's moment estimates"
)

_TORCH_FIELDS = {"lr": "lr", "momentum": "momentum", "betas": "betas", "eps": "eps"}
_ADAM_TORCH_PARAMS = (("lr", 0.001), ("betas", (0.9, 0.999)), ("eps", 1e-8))
_ADAM_TORCH_RULES = {
    "lr": _LR,
    "betas": _BETAS,
    "eps": POSITIVE,
    "weight_decay": STRENGTH,
    "on": _ON,
}


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
    "weightlab_rules": _rules_row("torch", _torch_rules),
    "weightlab_penalty": _penalty_row("torch", _torch_penalties),
    "Dropout": Component(
        "dropout",
        (("p", 0.5),),
        {"p": _UNIT_OPEN},
        "torch.nn.Dropout (inverted)",
        _dropout_code("torch.nn.", "p"),
    ),
    "weightlab_dropout": _adapter_dropout("weightlab.regularize.", "p"),
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
