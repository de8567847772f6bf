"""Loss-side penalties: the elastic net, with L1 and L2 as presets.

The L2 convention is always explicit, because frameworks disagree by a factor of two:

==================  ======================  ==========================  =======================
``convention``      penalty                 gradient                    torch ``weight_decay``
==================  ======================  ==========================  =======================
``"sum_sq"``        ``λ Σ w²`` (Keras L2)   ``2 λ w``                   ``2 λ``
``"half_sum_sq"``   ``(λ/2) Σ w²``          ``λ w``                     ``λ``
==================  ======================  ==========================  =======================

So Keras ``regularizers.L2(λ)`` equals ``torch.optim.SGD(weight_decay=2λ)`` (seed 000 writes
``λ Σ w²`` with update ``2αλw``; seed 001's update ``θ − α(g + λθ)`` is ``"half_sum_sq"``).

Penalties of float16/bfloat16 weights are computed and returned in float32 (their sums
overflow float16: a million weights of 0.3 give Σw² = 90 000 > 65 504); float32 and
float64 weights keep their dtype.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import Tensor

from weightlab._validate import STRENGTH, UNIT, Described, OneOf, check, fail
from weightlab._validate import Tensor as TensorRule
from weightlab.regularize.arrays import TORCH
from weightlab.regularize.terms import CONVENTIONS, SQUARE_FACTOR, elastic_net_penalty

__all__ = [
    "CONVENTIONS",
    "Convention",
    "elastic_net",
    "elastic_net_grad",
    "l1",
    "l2",
    "torch_weight_decay",
]

Convention = Literal["sum_sq", "half_sum_sq"]

_TABLE = {
    "strength": STRENGTH,
    "l1_ratio": UNIT,
    "convention": OneOf(CONVENTIONS),
    "w": TensorRule(floating=True),
}
_PARAMS = "a floating-point torch.Tensor or an iterable of them"


def as_tensors(owner: str, params: Iterable[Tensor] | Tensor) -> list[Tensor]:
    """``params`` as a list of floating-point tensors (one tensor becomes a one-item list).

    Raises the library's standard error naming ``owner`` for anything else: a
    :class:`TypeError` for a non-tensor (e.g. a module instead of ``module.parameters()``,
    or ``(name, param)`` pairs), a :class:`ValueError` for an integer or bool tensor.
    """
    if isinstance(params, Tensor):
        items: list[object] = [params]
    elif isinstance(params, Iterable):
        items = list(params)
    else:
        raise fail(owner, "params", _PARAMS, params, wrong_type=True)
    tensors: list[Tensor] = []
    for item in items:
        if not isinstance(item, Tensor):
            got = Described(f"an item of type {type(item).__name__}")
            raise fail(owner, "params", _PARAMS, got, wrong_type=True)
        if not item.is_floating_point():
            raise fail(owner, "params", _PARAMS, item)
        tensors.append(item)
    return tensors


def elastic_net(
    params: Iterable[Tensor] | Tensor,
    strength: float,
    l1_ratio: float,
    *,
    convention: Convention,
) -> Tensor:
    """Elastic-net penalty over all weights in ``params``, to be added to the loss.

    ``strength · Σ_w [ l1_ratio·Σ|w| + (1 − l1_ratio)·c·Σw² ]`` with ``c = 1`` for
    ``"sum_sq"`` and ``c = 1/2`` for ``"half_sum_sq"``.

    Args:
        params: floating-point tensors of any shape (e.g. ``model.parameters()``), or one
            tensor.
        strength: λ ≥ 0, finite.
        l1_ratio: mix in [0, 1]; 1 is the lasso (:func:`l1`), 0 is ridge (:func:`l2`).
        convention: ``"sum_sq"`` or ``"half_sum_sq"``; required, see the module table.

    Returns:
        A 0-dim tensor on the parameters' device, in float32 for float16/bfloat16
        parameters and in their dtype otherwise (``0.0`` when ``params`` is empty).

    Example:
        >>> w = torch.tensor([1.0, -2.0])
        >>> elastic_net([w], 0.1, 0.5, convention="half_sum_sq")
        tensor(0.2750)

    With ``convention="half_sum_sq"`` this is scikit-learn's ``ElasticNet(alpha=strength,
    l1_ratio=l1_ratio)`` penalty. Zou & Hastie 2005, "Regularization and variable
    selection via the elastic net".
    """
    check(
        "elastic_net",
        {"strength": strength, "l1_ratio": l1_ratio, "convention": convention},
        _TABLE,
    )
    return _elastic_net(as_tensors("elastic_net", params), strength, l1_ratio, convention)


def l1(params: Iterable[Tensor] | Tensor, strength: float) -> Tensor:
    """L1 (lasso) penalty ``strength · Σ|w|``: :func:`elastic_net` with ``l1_ratio = 1``.

    Args:
        params: floating-point tensors of any shape, or one tensor.
        strength: λ ≥ 0, finite (Keras ``regularizers.L1(λ)``).

    Example:
        >>> l1([torch.tensor([1.0, -2.0])], 0.1)
        tensor(0.3000)

    Tibshirani 1996, "Regression shrinkage and selection via the lasso".
    """
    check("l1", {"strength": strength}, _TABLE)
    return _elastic_net(as_tensors("l1", params), strength, 1.0, "sum_sq")


def l2(params: Iterable[Tensor] | Tensor, strength: float, *, convention: Convention) -> Tensor:
    """L2 (ridge) penalty ``strength · c · Σw²``: :func:`elastic_net` with ``l1_ratio = 0``.

    ``c = 1`` for ``"sum_sq"`` (Keras ``L2(λ)``), ``c = 1/2`` for ``"half_sum_sq"`` (what
    torch's ``weight_decay=λ`` differentiates).

    Args:
        params: floating-point tensors of any shape, or one tensor.
        strength: λ ≥ 0, finite.
        convention: ``"sum_sq"`` or ``"half_sum_sq"``; required.

    Example:
        >>> w = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
        >>> l2([w], 0.01, convention="sum_sq")  # Keras L2(0.01) gives 0.1425 too
        tensor(0.1425)

    Hoerl & Kennard 1970, "Ridge regression: biased estimation for nonorthogonal problems".
    """
    check("l2", {"strength": strength, "convention": convention}, _TABLE)
    return _elastic_net(as_tensors("l2", params), strength, 0.0, convention)


def elastic_net_grad(
    w: Tensor, strength: float, l1_ratio: float, *, convention: Convention
) -> Tensor:
    """Analytic (sub)gradient of :func:`elastic_net` with respect to one weight tensor.

    ``strength · (l1_ratio·sign(w) + (1 − l1_ratio)·k·w)`` with ``k = 2`` for ``"sum_sq"``
    and ``k = 1`` for ``"half_sum_sq"``; at ``w = 0`` the L1 part uses ``sign(0) = 0``.

    Args:
        w: floating-point weights, any shape.
        strength: λ ≥ 0, finite.
        l1_ratio: mix in [0, 1].
        convention: ``"sum_sq"`` or ``"half_sum_sq"``.

    Returns:
        A tensor shaped like ``w``.

    Example:
        >>> elastic_net_grad(torch.tensor([1.0, -2.0]), 0.1, 0.0, convention="sum_sq")
        tensor([ 0.2000, -0.4000])

    Zou & Hastie 2005.
    """
    check(
        "elastic_net_grad",
        {"w": w, "strength": strength, "l1_ratio": l1_ratio, "convention": convention},
        _TABLE,
    )
    k = 2.0 * SQUARE_FACTOR[convention]
    return strength * (l1_ratio * w.sign() + (1.0 - l1_ratio) * k * w)


def torch_weight_decay(strength: float, convention: Convention) -> float:
    """The torch ``SGD``/``Adam`` ``weight_decay`` equal to the L2 penalty ``l2(strength)``.

    torch adds ``weight_decay·w`` to the gradient, the gradient of ``(weight_decay/2)·Σw²``:

    ====================================  ==========================
    penalty                               torch ``weight_decay``
    ====================================  ==========================
    ``"sum_sq"``: λΣw² (Keras ``L2(λ)``)  ``2λ``
    ``"half_sum_sq"``: (λ/2)Σw²           ``λ``
    ====================================  ==========================

    Args:
        strength: λ ≥ 0, finite.
        convention: ``"sum_sq"`` or ``"half_sum_sq"``.

    Example:
        >>> torch_weight_decay(0.01, "sum_sq")  # Keras L2(0.01)
        0.02

    Only coupled decay matches this way; decoupled decay (AdamW, Keras optimizers'
    ``weight_decay``) is :func:`weightlab.regularize.updates.decoupled_decay`.
    """
    check("torch_weight_decay", {"strength": strength, "convention": convention}, _TABLE)
    return 2.0 * SQUARE_FACTOR[convention] * strength


def _elastic_net(params: list[Tensor], strength: float, l1_ratio: float, convention: str) -> Tensor:
    # The registered term's arithmetic (weightlab.regularize.terms), on one model.
    if not params:
        return torch.zeros(())
    value: Tensor = elastic_net_penalty(
        TORCH, params, strength=strength, l1_ratio=l1_ratio, convention=convention
    )
    return value
