"""weightlab's initializers, penalties, update rules and dropout for MLX.

Four pieces, each with the semantics of its PyTorch counterpart in weightlab:

- **Initializers** shaped like ``mlx.nn.init``: :func:`initializer` turns any weightlab
  scheme (``"he_normal(nonlinearity='relu')"``) into a function ``(a) -> mx.array``;
  :func:`apply` initializes every Linear and convolution of an ``mlx.nn.Module`` as
  :func:`weightlab.init.init_module` does for torch.  Values are drawn by the weightlab
  torch scheme from a seeded ``torch.Generator`` in torch's layout ``[out, in, *kernel]``
  and moved to MLX's layout: Linear ``[out, in]`` (the same), convolutions (transposed
  ones included) ``[out, *kernel, in]``.  One seed therefore gives the same numbers in
  both frameworks.
- **Penalties** for a loss: :func:`penalty` for any registered penalty term
  (``penalty("l2(1e-4)")``), with :func:`l1`, :func:`l2`, :func:`elastic_net` as
  presets; ``mx.grad`` and ``nn.value_and_grad`` differentiate them.
- **Update rules** after any MLX optimizer: :func:`rule` for any registered rule terms
  (``rule("decoupled_decay(0.01)+max_norm(3)")``), with :func:`decoupled_decay` and
  :func:`l1_step` as presets, composed with :func:`chain` and run by
  :class:`RegularizedOptimizer` (which also takes the spec string itself).
- **Dropout**: :class:`Dropout`, inverted or classic.

Every regularizer derives from weightlab's registry of terms
(:mod:`weightlab.regularize.registry`): it runs the registered term's arithmetic with
:class:`MLXOps`, so a term registered later, one of your own included, works here
without changes.  A unit's incoming weights, which ``max_norm`` bounds, are a row of a
Linear weight ``[out, in]`` (every axis but the first of a convolution weight).

Which arrays are "weights" is decided by :func:`is_weight` (floating, two or more
dimensions, not a bias: the rule of :func:`weightlab.regularize.select_params`); pass
another predicate ``(name, array) -> bool`` to choose differently.

MLX conventions worth knowing (checked on MLX 0.32): ``mlx.nn.init.he_normal()`` has
gain 1, so by default it draws LeCun's ``N(0, 1/fan_in)``, not He's ``2/fan_in``;
``optimizers.SGD(weight_decay=λ)`` adds ``λw`` to the gradient (the ``"half_sum_sq"``
penalty); ``optimizers.AdamW`` has ``bias_correction=False`` by default; dropout is
inverted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch

from weightlab._optional import require

require("mlx.core", "mlx", "MLX initializers and regularizers")

import mlx.core as mx  # noqa: E402
from mlx.nn.layers.base import Module  # noqa: E402
from mlx.nn.layers.convolution import Conv1d, Conv2d, Conv3d  # noqa: E402
from mlx.nn.layers.convolution_transpose import (  # noqa: E402
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from mlx.nn.layers.linear import Linear  # noqa: E402
from mlx.optimizers.optimizers import MultiOptimizer, Optimizer  # noqa: E402
from mlx.utils import tree_flatten, tree_unflatten  # noqa: E402

from weightlab._spec import parse_spec  # noqa: E402
from weightlab._validate import (  # noqa: E402
    OPTIONAL,
    REAL,
    Constraint,
    Described,
    Instance,
    Interval,
    OneOf,
    Satisfies,
    check,
    fail,
)
from weightlab.init.apply import LayerInit, scheme_gain  # noqa: E402
from weightlab.init.schemes import Scheme, resolve, scheme_names  # noqa: E402
from weightlab.regularize import Convention, DropoutMode, L1Rule  # noqa: E402
from weightlab.regularize.registry import REGISTRY as TERMS  # noqa: E402
from weightlab.regularize.registry import (  # noqa: E402
    Regularization,
    Term,
    make_term,
    terms_of_kind,
)
from weightlab.regularize.terms import L1_RULES  # noqa: E402

__all__ = [
    "LAYER_TYPES",
    "MLX",
    "Dropout",
    "Initializer",
    "MLXOps",
    "MLXWeightRule",
    "Predicate",
    "RegularizedOptimizer",
    "apply",
    "chain",
    "decoupled_decay",
    "elastic_net",
    "initializer",
    "is_weight",
    "l1",
    "l1_step",
    "l2",
    "layers",
    "penalty",
    "rule",
    "select",
]

Initializer = Callable[..., mx.array]
"""``init_fn(a, **params) -> mx.array``: an array shaped like ``a``; ``params`` override
the scheme's parameters for this call (as ``mlx.nn.init.he_normal()(a, gain=2.0)``)."""

LearningRate = float | mx.array
MLXWeightRule = Callable[[mx.array, mx.array, LearningRate], mx.array]
"""``rule(prev, proposed, lr) -> new``: ``prev`` a weight before the optimizer's step,
``proposed`` after it, ``lr`` the learning rate used (a float or a 0-dim ``mx.array``)."""

Predicate = Callable[[str, mx.array], bool]
"""``predicate(name, array) -> bool`` on dotted names from ``tree_flatten``, as
``mlx.optimizers.MultiOptimizer`` filters."""

Params = mx.array | Sequence[mx.array] | Mapping[str, Any] | Module

LAYER_TYPES: tuple[type[Module], ...] = (
    Linear,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)

_TORCH_DTYPES: dict[mx.Dtype, torch.dtype] = {
    mx.float16: torch.float16,
    mx.bfloat16: torch.bfloat16,
    mx.float32: torch.float32,
    mx.float64: torch.float64,
}


class _Seed(Interval):
    """What ``torch.Generator.manual_seed`` accepts, compared and described exactly."""

    def value_ok(self, value: Any) -> bool:
        return bool(0 <= value <= 2**64 - 1)

    def describe(self) -> str:
        return "an int in [0, 2**64 - 1]"


_ARRAY = Instance((mx.array,), "an mx.array")
_CALLABLE = Satisfies(callable, "a callable rule(prev, proposed, lr) -> new")
_RULE_OR_SPEC = Satisfies(
    lambda r: callable(r) or isinstance(r, str),
    "a callable rule(prev, proposed, lr) -> new or a spec string of rule terms such as "
    "'decoupled_decay(0.01)+max_norm(3)'",
)
_PREDICATE = Satisfies(callable, "a callable predicate(name, array) -> bool")
_PARAMS = "a floating-point mx.array, a list of them, a parameter tree or an mlx.nn.Module"
_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "spec": Instance((str, Scheme), "a scheme spec string or a Scheme"),
    "dtype": Satisfies(
        lambda d: isinstance(d, mx.Dtype) and d in _TORCH_DTYPES,
        "a floating MLX dtype (mx.float16, mx.bfloat16, mx.float32 or mx.float64)",
    ),
    "seed": (_Seed(integer=True), OPTIONAL),
    "model": Instance((Module,), "an mlx.nn.Module"),
    "bias": (REAL, OPTIONAL),
    # The registered terms' own rules: strength, l1_ratio, convention; rate, lr_scaled;
    # p, mode.
    **TERMS["elastic_net"].table,
    **TERMS["decoupled_decay"].table,
    **TERMS["dropout"].table,
    "rule": OneOf(L1_RULES),  # l1's own parameter also takes "penalty": not a step
    "select": _PREDICATE,
    "optimizer": Instance((Optimizer,), "an mlx.optimizers.Optimizer"),
}


# ---------------------------------------------------------------------------
# Initialization.


def initializer(
    spec: str | Scheme = "he_normal",
    dtype: mx.Dtype = mx.float32,
    *,
    seed: int | None = None,
) -> Initializer:
    """An ``mlx.nn.init``-style initializer for any weightlab scheme.

    ``initializer(spec, dtype)(a)`` returns an array shaped like ``a`` holding the draw
    of :func:`weightlab.init.resolve` ``(spec)`` on a torch tensor of the same size and
    dtype in torch's layout, moved to MLX's: 2-D ``[out, in]`` as is, ``a`` with more
    dimensions read as a convolution weight ``[out, *kernel, in]`` (drawn as ``[out, in,
    *kernel]``).  Fans are therefore ``fan_in = in·Πk``, ``fan_out = out·Πk``, as in
    ``mlx.nn.init``.  For example ``"he_normal(nonlinearity='relu')"`` draws
    ``N(0, 2/fan_in)`` (He et al. 2015) and ``"xavier_uniform"`` draws
    ``U(±√(6/(fan_in + fan_out)))`` (Glorot & Bengio 2010).

    Every call continues one ``torch.Generator`` seeded with ``seed``, so successive
    arrays differ and the sequence is reproducible.

    Args:
        spec: a scheme spec string (``"normal(std=0.01)"``) or a Scheme; data-dependent
            schemes (``lsuv``) are refused: they need a torch module and a batch.
        dtype: float16, bfloat16, float32 or float64 (the torch draw uses the same).
        seed: seed of the generator; None draws a fresh nondeterministic seed.

    Returns:
        ``init_fn(a, **params)``; ``params`` override the scheme's parameters for that
        call, e.g. ``init_fn(a, gain=2.0)``.

    Example:
        >>> init_fn = initializer("he_normal(nonlinearity='relu')", seed=0)
        >>> init_fn(mx.zeros((256, 128))).shape
        (256, 128)
    """
    check("initializer", {"spec": spec, "dtype": dtype, "seed": seed}, _TABLE)
    scheme = _per_tensor_scheme("initializer", spec)
    generator = _generator(seed)

    def init_fn(a: mx.array, **params: Any) -> mx.array:
        chosen = scheme.with_params(**params) if params else scheme
        _check_target(chosen, a)
        return _draw(chosen, tuple(a.shape), dtype, generator)

    return init_fn


def layers(model: Module) -> list[tuple[str, Module]]:
    """``(name, layer)`` for every Linear and convolution of ``model``, in the order the
    attributes were set (as torch's ``named_modules``), the model itself first."""
    check("layers", {"model": model}, _TABLE)
    return [(name, m) for name, m in _modules(model, "") if isinstance(m, LAYER_TYPES)]


def apply(
    model: Module,
    spec: str | Scheme = "he_normal",
    *,
    seed: int | None = None,
    bias: float | None = 0.0,
) -> list[LayerInit]:
    """Initialize every Linear and convolution weight of ``model`` with ``spec``.

    The MLX counterpart of :func:`weightlab.init.init_module`: layers are drawn in
    order (:func:`layers`) from one generator seeded with ``seed``, each weight in
    torch's layout and moved to MLX's, so a torch model with the same layers initialized
    by ``init_module(net, spec, generator=torch.Generator().manual_seed(seed))`` gets
    the same numbers.  Weights keep their dtype.

    Args:
        model: an ``mlx.nn.Module``; updated in place.
        spec: a scheme spec string or a Scheme (not data-dependent).
        seed: seed of the generator; None draws a fresh nondeterministic seed.
        bias: constant for every layer bias (default 0); None leaves biases alone.

    Returns:
        One :class:`weightlab.init.LayerInit` per layer (MLX shapes).

    Example:
        >>> import mlx.nn as nn
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> [r.name for r in apply(net, "he_normal(nonlinearity='relu')", seed=0)]
        ['layers.0', 'layers.2']

    He, Zhang, Ren & Sun 2015; Glorot & Bengio 2010 (the schemes).
    """
    check("apply", {"model": model, "spec": spec, "seed": seed, "bias": bias}, _TABLE)
    scheme = _per_tensor_scheme("apply", spec)
    generator = _generator(seed)
    records = []
    for name, layer in layers(model):
        weight: mx.array = layer["weight"]
        new: dict[str, mx.array] = {
            "weight": _draw(scheme, tuple(weight.shape), weight.dtype, generator)
        }
        if bias is not None and "bias" in layer:
            new["bias"] = mx.full(layer["bias"].shape, bias, dtype=layer["bias"].dtype)
        layer.update(new)
        records.append(
            LayerInit(name, tuple(weight.shape), str(scheme), "linear", scheme_gain(scheme))
        )
    return records


def _per_tensor_scheme(owner: str, spec: str | Scheme) -> Scheme:
    name = spec.name if isinstance(spec, Scheme) else parse_spec(spec, owner, "spec")[0]
    if name in scheme_names() and resolve(name).data_dependent:
        expected = (
            f"a scheme that needs no data ({name!r} needs a torch module and a batch "
            f"of inputs: use weightlab.init.init_module(net, {name!r}, data=x))"
        )
        raise fail(owner, "spec", expected, str(spec))
    per_tensor = tuple(n for n in scheme_names() if not resolve(n).data_dependent)
    check(owner, {"spec": name}, {"spec": OneOf(per_tensor)})
    return resolve(spec)


def _generator(seed: int | None) -> torch.Generator:
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def _check_target(scheme: Scheme, a: object) -> None:
    rule = scheme.entry.target
    min_dim = int(getattr(rule, "min_dim", 0))
    plural = "s" if min_dim != 1 else ""
    expected = f"an mx.array with at least {min_dim} dimension{plural}"
    if not isinstance(a, mx.array):
        raise fail(scheme.name, "a", expected, Described(_kind(a)), wrong_type=True)
    if a.ndim < min_dim:
        raise fail(scheme.name, "a", expected, Described(_describe(a)))


def _draw(
    scheme: Scheme, shape: tuple[int, ...], dtype: mx.Dtype, generator: torch.Generator
) -> mx.array:
    """Draw in torch's layout ``[out, in, *kernel]``, return MLX's ``[out, *kernel, in]``."""
    torch_shape = shape if len(shape) < 3 else (shape[0], shape[-1], *shape[1:-1])
    tensor = scheme(torch.empty(torch_shape, dtype=_TORCH_DTYPES[dtype]), generator=generator)
    if len(shape) >= 3:
        tensor = tensor.permute(0, *range(2, len(shape)), 1)
    # numpy has no bfloat16: go through float32 (exact) or float64, and name the dtype
    # (mx.array reads a float64 numpy array as float32 otherwise).
    wide = torch.float64 if tensor.dtype == torch.float64 else torch.float32
    return mx.array(tensor.to(wide).contiguous().numpy(), dtype=dtype)


def _modules(module: Module, prefix: str) -> list[tuple[str, Module]]:
    found = [(prefix, module)]
    children = module.children()  # type: ignore[no-untyped-call]
    for name, child in _flatten(children, is_leaf=Module.is_module):
        found += _modules(child, f"{prefix}.{name}" if prefix else name)
    return found


def _flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[tuple[str, Any]]:
    """``tree_flatten`` with the type it has for a tree (it returns a dict only when
    given a destination dict)."""
    return cast(list[tuple[str, Any]], tree_flatten(tree, is_leaf=is_leaf))


def _trainable(model: Module) -> dict[str, Any]:
    return cast(dict[str, Any], model.trainable_parameters())  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------------------
# Term arithmetic on MLX arrays, and specs of terms.


class MLXOps:
    """:class:`~weightlab.regularize.ArrayOps` with ``mlx.core``, for MLX weights
    ``[out, *kernel, in]``.

    A unit's incoming weights are every axis but the first (a row of a Linear weight);
    :meth:`total` sums in two levels (:func:`_sum`, torch's precision); :meth:`wide`
    takes float16/bfloat16 to float32; :meth:`coef` casts an ``mx.array`` to the weights'
    dtype and leaves Python numbers alone.  Every regularizer of this module is a
    registered term's arithmetic run with these operations (:data:`MLX`).
    """

    name = "mlx"

    def abs(self, x: mx.array) -> mx.array:
        return mx.abs(x)

    def sign(self, x: mx.array) -> mx.array:
        return mx.sign(x)

    def square(self, x: mx.array) -> mx.array:
        return mx.square(x)

    def sqrt(self, x: mx.array) -> mx.array:
        return mx.sqrt(x)

    def maximum(self, x: mx.array, value: Any) -> mx.array:
        return mx.maximum(x, value)

    def minimum(self, x: mx.array, value: Any) -> mx.array:
        return mx.minimum(x, value)

    def where(self, condition: mx.array, x: Any, y: Any) -> mx.array:
        return mx.where(condition, x, y)

    def coef(self, value: Any, like: mx.array) -> Any:
        return value.astype(like.dtype) if isinstance(value, mx.array) else value

    def wide(self, x: mx.array) -> mx.array:
        return x.astype(mx.float32) if x.dtype in (mx.float16, mx.bfloat16) else x

    def total(self, x: mx.array) -> mx.array:
        return _sum(x)

    def unit_norm(self, x: mx.array) -> mx.array:
        axes = tuple(range(1, x.ndim)) or None
        return mx.sqrt(mx.sum(mx.square(x), axis=axes, keepdims=True))

    def __repr__(self) -> str:
        return "MLXOps()"


MLX = MLXOps()
"""Term arithmetic on MLX weights."""


def _sum(x: mx.array) -> mx.array:
    """``Σx`` in two levels, rows of about ``√n`` terms and then their totals.

    MLX's float32 sum on the CPU drifts on long runs of positive terms (Σw² of 4 million
    weights: 0.4% low on MLX 0.32); two levels bring it to about 1e-6, as torch's.
    """
    flat = x.reshape(-1)
    n = flat.size
    k = max(1, math.isqrt(n))
    q = n // k
    total = flat[: q * k].reshape(q, k).sum(axis=1).sum()
    return total + flat[q * k :].sum() if q * k < n else total


# ---------------------------------------------------------------------------
# Which arrays to regularize, and loss-side penalties.


def is_weight(name: str, array: mx.array) -> bool:
    """True for a floating-point array with two or more dimensions not named ``*bias``
    (Linear, Conv and Embedding weights; not biases, not normalization scales, not
    quantized integers): the rule of :func:`weightlab.regularize.select_params`."""
    last = name.rsplit(".", 1)[-1]
    return (
        array.ndim >= 2
        and mx.issubdtype(array.dtype, mx.floating)
        and not (last.endswith("bias") or last == "biases")
    )


def select(
    params: Mapping[str, Any] | Module, predicate: Predicate = is_weight
) -> list[tuple[str, mx.array]]:
    """``(name, array)`` pairs of a parameter tree for which ``predicate`` holds.

    Args:
        params: a parameter tree (``model.parameters()``, gradients) or a module, whose
            ``trainable_parameters()`` are used (frozen arrays are not regularized).
        predicate: ``(name, array) -> bool`` on dotted names; default :func:`is_weight`.

    Example:
        >>> import mlx.nn as nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1))
        >>> [name for name, _ in select(net)]
        ['layers.0.weight', 'layers.2.weight']

    The rule follows nanoGPT (Karpathy) and Loshchilov & Hutter 2019.
    """
    tree_rule = Instance((dict, Module), "a parameter tree (dict) or an mlx.nn.Module")
    check("select", {"params": params, "predicate": predicate}, {"params": tree_rule})
    check("select", {"predicate": predicate}, {"predicate": _PREDICATE})
    return _select(params, predicate)


def _select(params: Mapping[str, Any] | Module, predicate: Predicate) -> list[tuple[str, Any]]:
    tree = _trainable(params) if isinstance(params, Module) else params
    return [(n, a) for n, a in _flatten(tree) if isinstance(a, mx.array) and predicate(n, a)]


def penalty(spec: str | Term, *, select: Predicate = is_weight) -> Callable[[Params], mx.array]:
    """Any registered penalty term as a function ``fn(params) -> mx.array`` for a loss.

    ``fn`` takes what :func:`l1` takes: one array or a list of arrays (all penalized), or
    a parameter tree or module (only the arrays ``select`` picks: weights by default),
    and returns the term's own arithmetic (:meth:`weightlab.regularize.Term.penalty`)
    over them, a 0-dim array written with ``mlx.core`` ops, so ``nn.value_and_grad``
    differentiates it; float16/bfloat16 weights are summed in float32.  :func:`l1`,
    :func:`l2` and :func:`elastic_net` are presets.

    Args:
        spec: a spec string of one penalty term (``"l2(1e-4)"``,
            ``"l1(1e-3, rule=penalty)"``; ``weightlab terms`` lists them) or a
            :class:`weightlab.regularize.Term`.
        select: predicate for trees and modules (see :func:`select`).

    Example:
        >>> ridge = penalty("l2(0.01, convention=sum_sq)")
        >>> ridge(mx.array([[1.0, -2.0], [3.0, 0.5]]))
        array(0.1425, dtype=float32)

    Hoerl & Kennard 1970 (ridge); Tibshirani 1996 (lasso); Zou & Hastie 2005 (elastic
    net): each term's docstring cites its own.
    """
    (term,) = terms_of_kind(spec, "penalty", owner="penalty", param="spec", one=True).terms
    check("penalty", {"select": select}, _TABLE)

    def fn(params: Params) -> mx.array:
        return _penalty(term, _arrays("penalty", params, select))

    return fn


def elastic_net(
    params: Params,
    strength: float,
    l1_ratio: float,
    *,
    convention: Convention,
    select: Predicate = is_weight,
) -> mx.array:
    """Elastic-net penalty ``strength · Σ_w [l1_ratio·Σ|w| + (1 − l1_ratio)·c·Σw²]``.

    ``c = 1`` for ``"sum_sq"`` (Keras ``L2(λ)``), ``c = 1/2`` for ``"half_sum_sq"``
    (the penalty whose gradient MLX's ``SGD(weight_decay=λ)`` adds).  Written with
    ``mlx.core`` ops: differentiable by ``mx.grad`` and ``nn.value_and_grad`` (at
    ``w = 0`` the gradient of ``|w|`` is 0, as in torch).  float16/bfloat16 weights are
    summed in float32.

    Args:
        params: one array or a list of arrays (all used), or a parameter tree or module
            (only the arrays ``select`` picks: weights by default).
        strength: λ ≥ 0, finite.
        l1_ratio: mix in [0, 1]; 1 is :func:`l1`, 0 is :func:`l2`.
        convention: ``"sum_sq"`` or ``"half_sum_sq"``; required.
        select: predicate for trees and modules (see :func:`select`).

    Returns:
        A 0-dim array (float32 for half-precision weights, else their dtype).

    Example:
        >>> elastic_net([mx.array([1.0, -2.0])], 0.1, 0.5, convention="half_sum_sq")
        array(0.275, dtype=float32)

    Zou & Hastie 2005, "Regularization and variable selection via the elastic net".
    """
    values = {"strength": strength, "l1_ratio": l1_ratio, "convention": convention}
    check("elastic_net", {**values, "select": select}, _TABLE)
    arrays = _arrays("elastic_net", params, select)
    return _penalty(make_term("elastic_net", **values), arrays)


def l1(params: Params, strength: float, *, select: Predicate = is_weight) -> mx.array:
    """L1 (lasso) penalty ``strength · Σ|w|``: the term ``l1(strength, rule='penalty')``,
    :func:`elastic_net` with ``l1_ratio = 1``.

    Example:
        >>> l1(mx.array([1.0, -2.0]), 0.1)
        array(0.3, dtype=float32)

    Tibshirani 1996, "Regression shrinkage and selection via the lasso".
    """
    check("l1", {"strength": strength, "select": select}, _TABLE)
    term = make_term("l1", strength=strength, rule="penalty")
    return _penalty(term, _arrays("l1", params, select))


def l2(
    params: Params, strength: float, *, convention: Convention, select: Predicate = is_weight
) -> mx.array:
    """L2 (ridge) penalty ``strength · c · Σw²``: the term ``l2(strength, convention)``,
    :func:`elastic_net` with ``l1_ratio = 0``.

    ``c = 1`` for ``"sum_sq"``, ``c = 1/2`` for ``"half_sum_sq"``.

    Example:
        >>> l2(mx.array([[1.0, -2.0], [3.0, 0.5]]), 0.01, convention="sum_sq")
        array(0.1425, dtype=float32)

    Hoerl & Kennard 1970, "Ridge regression: biased estimation for nonorthogonal problems".
    """
    check("l2", {"strength": strength, "convention": convention, "select": select}, _TABLE)
    term = make_term("l2", strength=strength, convention=convention)
    return _penalty(term, _arrays("l2", params, select))


def _arrays(owner: str, params: object, predicate: Predicate) -> list[mx.array]:
    if isinstance(params, (Module, dict)):
        return [a for _, a in _select(params, predicate)]
    if isinstance(params, mx.array):
        items: list[object] = [params]
    elif isinstance(params, (list, tuple)):
        items = list(params)
    else:
        raise fail(owner, "params", _PARAMS, Described(_kind(params)), wrong_type=True)
    for item in items:
        if not isinstance(item, mx.array):
            got = Described(f"an item of type {type(item).__name__}")
            raise fail(owner, "params", _PARAMS, got, wrong_type=True)
        if not mx.issubdtype(item.dtype, mx.floating):
            raise fail(owner, "params", _PARAMS, Described(_describe(item)))
    return items  # type: ignore[return-value]


def _penalty(term: Term, arrays: list[mx.array]) -> mx.array:
    value = term.penalty(arrays, MLX)
    return value if isinstance(value, mx.array) else mx.array(value)  # no arrays: 0.0


# ---------------------------------------------------------------------------
# Update-side rules and the optimizer wrapper.


def rule(spec: str | Term) -> MLXWeightRule:
    """Rule terms as one :data:`MLXWeightRule`: a spec string of one registered rule term,
    or several joined by ``+`` (run in the registry's stage order: decay, then L1, then
    max-norm), or a :class:`weightlab.regularize.Term`.

    Each term runs its registered arithmetic (:meth:`weightlab.regularize.Term.rule`) on
    MLX arrays; an inactive term (strength 0) is the identity.  ``"max_norm(c)"``
    rescales each unit's incoming weights, a row of a Linear weight (every axis but the
    first of a convolution weight), to ``‖w‖₂ ≤ c``.  :class:`RegularizedOptimizer` takes
    the spec string itself too.

    Example:
        >>> cap = rule("max_norm(1)")
        >>> weight = mx.array([[3.0, 4.0], [0.3, 0.4]])  # two units, norms 5 and 0.5
        >>> cap(weight, weight, 0.1)
        array([[0.6, 0.8],
               [0.3, 0.4]], dtype=float32)

    Srivastava et al. 2014, "Dropout: a simple way to prevent neural networks from
    overfitting" (max-norm); each term's docstring cites its own.
    """
    return _rule(*terms_of_kind(spec, "rule", owner="rule", param="spec", one=False).terms)


def decoupled_decay(rate: float, *, lr_scaled: bool = True) -> MLXWeightRule:
    """Decoupled weight decay ``new = proposed − s·rate·prev``, ``s = lr`` if
    ``lr_scaled`` else 1: the term ``decoupled_decay(rate, lr_scaled)``.

    After ``optimizers.Adam`` this is torch's ``AdamW(weight_decay=rate)`` (decay from
    the weight before the step); after SGD it is SGDW.  MLX's own ``AdamW`` decays
    ``w ← w(1 − lr·rate)`` before its step too, but without bias correction by default.

    Args:
        rate: decay rate ≥ 0, finite.
        lr_scaled: multiply by the optimizer's learning rate (torch, Keras, MLX) or not
            (the paper's schedule-free form).

    Example:
        >>> decoupled_decay(0.5)(mx.array([1.0, -2.0]), mx.array([1.0, -2.0]), 0.1)
        array([0.95, -1.9], dtype=float32)

    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".
    """
    check("decoupled_decay", {"rate": rate, "lr_scaled": lr_scaled}, _TABLE)
    return _rule(make_term("decoupled_decay", rate=rate, lr_scaled=lr_scaled))


def l1_step(strength: float, rule: L1Rule = "proximal") -> MLXWeightRule:
    """An L1 step of size ``t = lr·strength`` after the optimizer's step: the term
    ``l1(strength, rule)``.

    - ``"subgradient"``: ``new = proposed − t·sign(prev)``.
    - ``"clip"``: ``z = proposed − t·sign(prev)``; ``new = 0`` where ``prev·z < 0`` (the
      whole step crossed zero), else ``z``.
    - ``"proximal"``: soft-thresholding ``new = sign(proposed)·max(|proposed| − t, 0)``
      (ISTA; truncated gradient, Langford, Li & Zhang 2009).

    Same rules as :func:`weightlab.regularize.l1_step`; ``strength = 0`` is the identity.

    Example:
        >>> l1_step(0.1)(mx.array([0.5, 0.005]), mx.array([0.5, 0.005]), 0.1)
        array([0.49, 0], dtype=float32)

    Tibshirani 1996; Langford, Li & Zhang 2009, "Sparse online learning via truncated
    gradient".
    """
    check("l1_step", {"strength": strength, "rule": rule}, _TABLE)
    return _rule(make_term("l1", strength=strength, rule=rule))


def chain(*rules: MLXWeightRule) -> MLXWeightRule:
    """Compose rules left to right: ``chain(r1, r2)(prev, w, lr) = r2(prev, r1(prev, w,
    lr), lr)``; ``chain()`` is the identity.

    Example:
        >>> rule = chain(decoupled_decay(0.01), l1_step(1e-4, "proximal"))
    """
    for index, item in enumerate(rules):
        check("chain", {f"rules[{index}]": item}, {f"rules[{index}]": _CALLABLE})

    def chained(prev: mx.array, proposed: mx.array, lr: LearningRate) -> mx.array:
        for step in rules:
            proposed = step(prev, proposed, lr)
        return proposed

    return chained


class RegularizedOptimizer:
    """An MLX optimizer followed by a rule on the weights ``select`` picks.

    ``update(model, gradients)``: keep the selected weights that have a gradient, call
    ``optimizer.update(model, gradients)``, then replace each of them by
    ``rule(prev, proposed, lr)``, where ``lr`` is the learning rate the optimizer just
    used: after its update MLX stores a scheduled rate, evaluated at that step, in
    ``optimizer.learning_rate`` as it stores a constant one.  With a
    ``MultiOptimizer`` each weight gets the rate of the optimizer its filter chooses.
    Results keep each weight's dtype; nothing is evaluated (call ``mx.eval`` as usual).

    Args:
        optimizer: any ``mlx.optimizers.Optimizer`` with a learning rate.
        rule: an :data:`MLXWeightRule`, e.g. ``chain(decoupled_decay(1e-2),
            l1_step(1e-4, "clip"))``, or a spec string of registered rule terms, which
            :func:`rule` turns into one (``"decoupled_decay(0.01)+max_norm(3)"``).
        select: ``(name, array) -> bool``; default :func:`is_weight`.

    Example:
        >>> import mlx.nn as nn
        >>> import mlx.optimizers as optim
        >>> opt = RegularizedOptimizer(optim.SGD(learning_rate=0.1), l1_step(1e-3))
        >>> model = nn.Linear(3, 1)
        >>> grads = {"weight": mx.ones((1, 3)), "bias": mx.ones((1,))}
        >>> opt.update(model, grads)
        >>> capped = RegularizedOptimizer(optim.SGD(learning_rate=0.1), "max_norm(3)")

    Loshchilov & Hutter 2019 (decay as a separate step); Langford, Li & Zhang 2009.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        rule: MLXWeightRule | str,
        *,
        select: Predicate = is_weight,
    ) -> None:
        check(
            "RegularizedOptimizer",
            {"optimizer": optimizer, "rule": rule, "select": select},
            {"optimizer": _TABLE["optimizer"], "rule": _RULE_OR_SPEC, "select": _PREDICATE},
        )
        self.optimizer = optimizer
        self.rule: MLXWeightRule = (
            _rule(
                *terms_of_kind(
                    rule, "rule", owner="RegularizedOptimizer", param="rule", one=False
                ).terms
            )
            if isinstance(rule, str)
            else rule
        )
        self.select = select

    def update(self, model: Module, gradients: Mapping[str, Any]) -> None:
        """One optimizer update, then the rule on the selected weights."""
        check("RegularizedOptimizer.update", {"model": model}, _TABLE)
        grads = dict(_flatten(gradients))
        chosen = [(n, w) for n, w in _select(model, self.select) if n in grads]
        # A new array object: the snapshot survives in-place updates of the weight.
        prev = {n: mx.stop_gradient(w) for n, w in chosen}
        self.optimizer.update(model, dict(gradients))
        current = dict(_flatten(_trainable(model)))
        new = []
        for name, before in prev.items():
            lr = _learning_rate(self.optimizer, name, grads[name])
            proposed = current[name]
            new.append((name, self.rule(before, proposed, lr).astype(proposed.dtype)))
        if new:
            model.update(tree_unflatten(new))

    @property
    def learning_rate(self) -> Any:
        """The wrapped optimizer's learning rate."""
        return self.optimizer.learning_rate

    @property
    def state(self) -> Any:
        """The wrapped optimizer's state (rules are stateless)."""
        return self.optimizer.state

    def __repr__(self) -> str:
        return f"RegularizedOptimizer({type(self.optimizer).__name__})"


def _learning_rate(optimizer: Optimizer, name: str, grad: mx.array) -> LearningRate:
    if isinstance(optimizer, MultiOptimizer):
        for sub, keep in zip(optimizer.optimizers, optimizer.filters, strict=True):
            if keep(name, grad):
                return _learning_rate(sub, name, grad)
    if "learning_rate" not in optimizer.state:
        got = Described(f"a {type(optimizer).__name__} without a learning rate")
        expected = "an optimizer with a learning_rate in its state"
        raise fail("RegularizedOptimizer", "optimizer", expected, got)
    lr: mx.array = optimizer.state["learning_rate"]
    return lr


def _identity(prev: mx.array, proposed: mx.array, lr: LearningRate) -> mx.array:
    return proposed


def _rule(*terms: Term) -> MLXWeightRule:
    # Chained in stage order; inactive terms (strength 0) are left out: they change nothing.
    return Regularization(terms).rule(MLX) or _identity


# ---------------------------------------------------------------------------
# Dropout.


class Dropout(Module):
    """Dropout as an ``mlx.nn.Module``, inverted or classic; follows ``self.training``:
    the registered term ``dropout(p, mode)``, with the mask drawn by MLX.

    With a mask ``m ~ Bernoulli(1 − p)``:

    - ``"inverted"`` (``mlx.nn.Dropout``, torch, Keras): training ``x·m/(1 − p)``,
      inference ``x``;
    - ``"classic"`` (the original paper): training ``x·m``, inference ``x·(1 − p)``.

    Both give the same expected output in training as at inference.

    Args:
        p: drop probability in [0, 1); ``p = 0`` is the identity in both modes.
        mode: ``"inverted"`` or ``"classic"``.
        seed: seed of the module's own key, split at every training call; None uses
            MLX's global random state (as ``mlx.nn.Dropout``), without seeding it.

    Example:
        >>> layer = Dropout(0.5, mode="classic")
        >>> layer.eval()(mx.ones((3,)))
        array([0.5, 0.5, 0.5], dtype=float32)

    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: a simple way
    to prevent neural networks from overfitting".
    """

    def __init__(
        self, p: float = 0.5, mode: DropoutMode = "inverted", *, seed: int | None = None
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        check("Dropout", {"p": p, "mode": mode, "seed": seed}, _TABLE)
        self.p = p
        self.mode = mode
        self.term = make_term("dropout", p=p, mode=mode)
        # A leading underscore keeps the key out of parameters() and gradients.
        self._key = None if seed is None else mx.random.key(seed)

    def __call__(self, x: mx.array) -> mx.array:
        if not self.term.active:
            return x
        keep = None
        if self.training:
            keep = mx.random.bernoulli(1.0 - self.p, x.shape, key=self._next_key())
        out: mx.array = self.term.layer(MLX, x, keep, self.training)
        return out

    def _next_key(self) -> mx.array | None:
        if self._key is None:
            return None
        self._key, key = mx.random.split(self._key)
        return key

    def _extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"


def _kind(value: object) -> str:
    return f"an object of type {type(value).__name__}"


def _describe(a: mx.array) -> str:
    return f"an array of shape {tuple(a.shape)} and dtype {a.dtype}"
