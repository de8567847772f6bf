"""Rendering an initializer meaning in a target framework, with its formula and caveats."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from weightlab.interop.translate.components import Call
from weightlab.interop.translate.keras_terms import _KERAS_INITS
from weightlab.interop.translate.meanings import TRUNC_STD, InitMeaning
from weightlab.interop.translate.plan import _Render
from weightlab.interop.translate.show import _show
from weightlab.interop.translate.vocabulary import COMPONENTS


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
            "about 4·10⁻⁶ of the values (0.0455⁴) lie beyond ±2σ′; the tensorflow and jax "
            "backends cut exactly."
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
