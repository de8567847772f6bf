"""weightlab's initializers, penalties, update rules and dropout as Keras 3 objects.

Everything here is a plain Keras object: an :class:`Initializer` goes where Keras takes a
``kernel_initializer``, a :class:`Penalty` (presets :class:`L1`, :class:`L2`,
:class:`ElasticNet`) where it takes a ``kernel_regularizer``, :class:`WeightRules`
(presets :class:`L1Step`, :class:`DecoupledDecay`, or any rule terms through
:meth:`WeightRules.from_spec`) in ``model.fit(callbacks=[...])`` and :class:`Dropout` in a
model.  All but the callbacks are registered for serialization under the package name
``weightlab`` and survive ``model.save("model.keras")`` / ``keras.models.load_model``.

Regularizers derive from weightlab's registry of terms
(:mod:`weightlab.regularize.registry`): each runs the registered term's arithmetic with
:class:`KerasOps`, so any registered term, one of your own included, works here without
changes: ``Penalty("l2(1e-4)")``, ``rule("max_norm(3)")``,
``WeightRules.from_spec("decoupled_decay(0.01)+max_norm(3)")``.

Layout.  An initializer draws with weightlab's torch scheme in torch layout, so fans and
gains are exactly weightlab's, then permutes the draw to Keras layout:

================  ======================  ============================================
layer             torch weight            Keras kernel
================  ======================  ============================================
Dense             ``[out, in]``           ``[in, out]`` (the transpose)
ConvNd            ``[out, in, *kernel]``  ``[*kernel, in, out]``
bias, scalar      ``[n]``, ``[]``         the same
================  ======================  ============================================

Both put ``fan_in = in · Πkernel``, so with the same seed a Keras kernel holds the same
numbers as ``scheme(torch.empty(out, in, *kernel), generator=torch.Generator()
.manual_seed(seed))``, permuted (:func:`to_keras_layout`, :func:`to_torch_layout`).  A
unit's incoming weights are a column of a Dense kernel (every axis but the last of a
convolution kernel): that is what ``max_norm`` bounds.

Conventions a translation must respect:

- Keras ``regularizers.L2(λ)`` adds ``λ Σ w²`` (no ½): it is ``L2(λ, convention="sum_sq")``
  here; torch's ``weight_decay=λ`` is ``convention="half_sum_sq"``.
- Keras ``GlorotNormal``/``HeNormal``/``LecunNormal`` are truncated normals widened to a
  final standard deviation ``√(scale/n)``; weightlab's ``xavier_normal``, ``he_normal`` and
  ``lecun_normal`` are plain normals, as in torch.  The Keras ones are
  ``variance_scaling(scale, mode, distribution='truncated_normal')``.
- A Keras optimizer's ``weight_decay`` is decoupled and scaled by the learning rate, as
  :class:`DecoupledDecay` is, but it decays every trainable variable (biases too) unless
  ``optimizer.exclude_from_weight_decay`` says otherwise.
- Keras ``constraints.MaxNorm(c, axis=0)`` scales by ``c/(ε + ‖w‖)``, ``ε = 1e-7``;
  ``max_norm(c)`` scales by ``c/‖w‖`` exactly.
- Keras ``layers.Dropout`` is inverted dropout; :class:`Dropout` adds the classic mode.

Backends.  Everything here runs on Keras' TensorFlow, JAX and torch backends
(``weightlab.interop.trajectory.KERAS_BACKENDS``), and the test suite runs it on each.  Keras
picks its backend once, on its first import: torch unless ``KERAS_BACKEND`` says otherwise
or Keras was imported first (weightlab sets the variable only when Keras is not yet
imported, and refuses an unknown or uninstalled backend before Keras is imported).  The
penalties, update rules and dropout use ``keras.ops`` and Python's operators only; the
initializers draw with torch and hand Keras the numbers, so a seed gives the same kernel
on every backend.  Keras' own random ops (its initializers, the masks of
:class:`Dropout`) use each backend's own generator: the same seed repeats on one backend,
not across them.  JAX computes in float32 unless ``jax_enable_x64`` is set.
"""

from __future__ import annotations

import operator
import os
import random
import sys
from collections.abc import Callable, Sequence
from typing import Any, SupportsIndex

import torch

from weightlab._optional import require
from weightlab._spec import parse_spec
from weightlab._validate import (
    OPTIONAL,
    Constraint,
    Described,
    OneOf,
    Satisfies,
    Tensor,
    check,
    fail,
)
from weightlab.init.schemes import REGISTRY, Scheme, resolve, scheme_names
from weightlab.interop.trajectory import DEFAULT_KERAS_BACKEND, KERAS_BACKENDS, check_keras_backend
from weightlab.regularize import Convention, DropoutMode, L1Rule
from weightlab.regularize.registry import REGISTRY as TERMS
from weightlab.regularize.registry import (
    Regularization,
    Term,
    make_term,
    terms_of_kind,
)
from weightlab.regularize.terms import L1_RULES

if "keras" not in sys.modules:
    # torch is weightlab's own dependency; Keras would otherwise look for TensorFlow.
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_KERAS_BACKEND)
    check_keras_backend(os.environ["KERAS_BACKEND"], "weightlab.keras", "KERAS_BACKEND")
require("keras", "keras", "Keras initializers and regularizers")

import keras  # noqa: E402  (after the backend is chosen and a missing Keras is explained)
from keras import ops  # noqa: E402

if keras.backend.backend() not in KERAS_BACKENDS:  # Keras was imported first, on another
    raise fail(
        "weightlab.keras",
        "KERAS_BACKEND",
        "one of " + ", ".join(repr(b) for b in KERAS_BACKENDS),
        keras.backend.backend(),
    )

__all__ = [
    "KERAS",
    "L1",
    "L2",
    "DecoupledDecay",
    "Dropout",
    "ElasticNet",
    "Initializer",
    "KerasOps",
    "KerasRule",
    "L1Step",
    "Penalty",
    "WeightRules",
    "decoupled_decay",
    "initializer_schemes",
    "is_kernel",
    "l1_step",
    "rule",
    "to_keras_layout",
    "to_torch_layout",
]

KerasRule = Callable[[Any, Any, float], Any]
"""``rule(prev, proposed, lr) -> new`` on backend tensors: a registered rule term's
arithmetic run with :class:`KerasOps` (or your own function of ``keras.ops``)."""

_FLOATS = ("float16", "bfloat16", "float32", "float64")


def _is_seed(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64


def _is_shape(value: object) -> bool:
    return isinstance(value, (tuple, list)) and all(_is_size(d) for d in value)


def _is_size(value: object) -> bool:
    # Any integer type (numpy's too), but not bool.
    return (
        isinstance(value, SupportsIndex)
        and not isinstance(value, bool)
        and operator.index(value) >= 0
    )


_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    # The registered terms' own rules: strength, l1_ratio, convention; rate, lr_scaled.
    **TERMS["elastic_net"].table,
    **TERMS["decoupled_decay"].table,
    "seed": (Satisfies(_is_seed, "an int in [0, 2**64)"), OPTIONAL),
    "shape": Satisfies(_is_shape, "a tuple of non-negative ints"),
    "rule": OneOf(L1_RULES),  # l1's own parameter also takes "penalty": not a step
    "select": (Satisfies(callable, "a callable variable -> bool"), OPTIONAL),
    "weight": Tensor(),
}
_CALLABLE_RULE = Satisfies(callable, "a callable rule(prev, proposed, lr) -> new")
_DROPOUT_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "rate": TERMS["dropout"].table["p"],
    "mode": TERMS["dropout"].table["mode"],
    "seed": _TABLE["seed"],
}


# ---------------------------------------------------------------------------
# Layout.


def to_keras_layout(weight: torch.Tensor) -> torch.Tensor:
    """A torch weight ``[out, in, *kernel]`` as a Keras kernel ``[*kernel, in, out]``.

    A 2-D weight is transposed; tensors with fewer than 2 dimensions come back as they are.
    The result is a view (call ``.contiguous()`` for a copy).

    Example:
        >>> to_keras_layout(torch.empty(32, 16, 3, 3)).shape
        torch.Size([3, 3, 16, 32])
    """
    check("to_keras_layout", {"weight": weight}, _TABLE)
    n = weight.dim()
    return weight if n < 2 else weight.permute(*range(2, n), 1, 0)


def to_torch_layout(kernel: torch.Tensor) -> torch.Tensor:
    """A Keras kernel ``[*kernel, in, out]`` as a torch weight ``[out, in, *kernel]``;
    the inverse of :func:`to_keras_layout`.

    Example:
        >>> to_torch_layout(torch.empty(3, 3, 16, 32)).shape
        torch.Size([32, 16, 3, 3])
    """
    check("to_torch_layout", {"kernel": kernel}, {"kernel": _TABLE["weight"]})
    n = kernel.dim()
    return kernel if n < 2 else kernel.permute(n - 1, n - 2, *range(n - 2))


def _torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) < 2 else (shape[-1], shape[-2], *shape[:-2])


# ---------------------------------------------------------------------------
# Initializers.


def initializer_schemes() -> tuple[str, ...]:
    """Names :class:`Initializer` accepts: every registered scheme that draws a tensor on
    its own (all but data-dependent ones such as ``lsuv``)."""
    return tuple(name for name in scheme_names() if not REGISTRY[name].data_dependent)


def _keras_scheme(spec: str | Scheme, params: dict[str, Any]) -> Scheme:
    if isinstance(spec, Scheme):
        name = spec.name
    elif isinstance(spec, str):
        name = parse_spec(spec, "Initializer", "scheme")[0]
    else:
        expected = "a scheme spec string such as \"he_normal(nonlinearity='relu')\""
        raise fail("Initializer", "scheme", expected, spec, wrong_type=True)
    allowed = initializer_schemes()
    if name not in allowed:
        expected = "one of " + ", ".join(repr(n) for n in allowed)
        if name in REGISTRY:
            expected += (
                f" ({name!r} is data-dependent: it needs a model and a batch of inputs, "
                "so it runs on the torch model through weightlab.init.init_module)"
            )
        raise fail("Initializer", "scheme", expected, name)
    scheme = resolve(spec)
    allowed_params = tuple(scheme.entry.signature.parameters)
    for key in params:
        if key not in allowed_params:
            expected = f"a parameter of {name} ({', '.join(allowed_params) or 'none'})"
            raise fail("Initializer", "params", expected, Described(f"{key}={params[key]!r}"))
    return scheme.with_params(**params) if params else scheme


@keras.saving.register_keras_serializable(package="weightlab")
class Initializer(keras.initializers.Initializer):  # type: ignore[misc]
    """A weightlab scheme as a Keras initializer, drawn in torch layout with a seeded
    ``torch.Generator`` and permuted to Keras layout (see the module docstring).

    The variance-scaling schemes draw ``Var(W) = scale / n`` with ``n`` the fan of the
    torch-layout weight; e.g. ``he_normal(nonlinearity='relu')`` is ``N(0, 2 / fan_in)``
    (He, Zhang, Ren & Sun 2015), ``xavier_uniform`` is ``U(±√(6 / (fan_in + fan_out)))``
    (Glorot & Bengio 2010), ``lecun_normal`` is ``N(0, 1 / fan_in)`` (LeCun et al. 1998).
    ``weightlab schemes`` lists them all with their formulas.

    Like Keras's own initializers, one instance returns the same values on every call
    with the same shape and dtype: give each layer its own instance (or seed).  Values
    are drawn in float32 (float64 when ``dtype`` is float64) and cast to ``dtype``.

    Args:
        scheme: a spec string, ``"he_normal"`` or ``"he_normal(nonlinearity='relu')"``, or a
            :class:`weightlab.init.Scheme`; one of :func:`initializer_schemes`.
        seed: int in [0, 2**64) for the torch generator; None draws one at construction
            from Python's ``random`` (as Keras does, so ``keras.utils.set_random_seed``
            fixes it).
        **params: scheme parameters, as an alternative to writing them in the spec.

    Example:
        >>> init = Initializer("he_normal", seed=0, nonlinearity="relu")
        >>> init
        Initializer("he_normal(nonlinearity='relu')", seed=0)
        >>> tuple(init((784, 256)).shape)
        (784, 256)
    """

    def __init__(self, scheme: str | Scheme, seed: int | None = None, **params: Any) -> None:
        check("Initializer", {"seed": seed}, _TABLE)
        self.scheme = _keras_scheme(scheme, params)
        self.seed = seed
        # Keras's default seed (keras.src.random.seed_generator.make_default_seed).
        self._seed = seed if seed is not None else random.randint(1, 10**9)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        check("Initializer", {"shape": shape}, _TABLE)
        shape = tuple(operator.index(d) for d in shape)
        if dtype is None:
            dtype = keras.config.floatx()
        name = keras.backend.standardize_dtype(dtype)
        if name not in _FLOATS:
            raise fail("Initializer", "dtype", "a floating-point dtype", name)
        min_dim = getattr(self.scheme.entry.target, "min_dim", 0)
        if len(shape) < min_dim:
            expected = f"a shape with at least {min_dim} dimensions for {self.scheme.name}"
            raise fail("Initializer", "shape", expected, shape)
        work = torch.float64 if name == "float64" else torch.float32
        generator = torch.Generator().manual_seed(self._seed)
        weight = self.scheme(torch.empty(_torch_shape(shape), dtype=work), generator=generator)
        array = to_keras_layout(weight).contiguous().numpy()
        return ops.cast(ops.convert_to_tensor(array), name)

    def get_config(self) -> dict[str, Any]:
        return {"scheme": str(self.scheme), "seed": self.seed}

    def __repr__(self) -> str:
        return f"Initializer({str(self.scheme)!r}, seed={self.seed!r})"


# ---------------------------------------------------------------------------
# Term arithmetic on Keras tensors, and specs of terms.


class KerasOps:
    """:class:`~weightlab.regularize.ArrayOps` with ``keras.ops``, for Keras kernels
    ``[*kernel, in, out]``.

    A unit's incoming weights are every axis but the last (a column of a Dense kernel);
    :meth:`total` sums everything; :meth:`wide` takes float16/bfloat16 to float32;
    :meth:`coef` casts an array to the weights' dtype and leaves Python numbers alone.
    Every regularizer of this module is a registered term's arithmetic run with these
    operations (:data:`KERAS`).
    """

    name = "keras"

    def abs(self, x: Any) -> Any:
        return ops.abs(x)

    def sign(self, x: Any) -> Any:
        return ops.sign(x)

    def square(self, x: Any) -> Any:
        return ops.square(x)

    def sqrt(self, x: Any) -> Any:
        return ops.sqrt(x)

    def maximum(self, x: Any, value: Any) -> Any:
        return ops.maximum(x, value)

    def minimum(self, x: Any, value: Any) -> Any:
        return ops.minimum(x, value)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return ops.where(condition, x, y)

    def coef(self, value: Any, like: Any) -> Any:
        return value if isinstance(value, (int, float)) else ops.cast(value, like.dtype)

    def wide(self, x: Any) -> Any:
        x = ops.convert_to_tensor(x)
        if keras.backend.standardize_dtype(x.dtype) in ("float16", "bfloat16"):
            return ops.cast(x, "float32")
        return x

    def total(self, x: Any) -> Any:
        return ops.sum(x)

    def unit_norm(self, x: Any) -> Any:
        axes = tuple(range(len(x.shape) - 1)) or None
        return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))

    def __repr__(self) -> str:
        return "KerasOps()"


KERAS = KerasOps()
"""Term arithmetic on Keras kernels."""


# ---------------------------------------------------------------------------
# Loss-side penalties.


@keras.saving.register_keras_serializable(package="weightlab")
class Penalty(keras.regularizers.Regularizer):  # type: ignore[misc]
    """Any registered penalty term as a Keras regularizer.

    The value on a kernel ``w`` is the term's own arithmetic
    (:meth:`weightlab.regularize.Term.penalty` with :data:`KERAS`): for example
    ``"l2(λ, convention='sum_sq')"`` adds ``λ·Σw²`` (Keras's ``regularizers.L2(λ)``),
    ``"l1(λ, rule='penalty')"`` adds ``λ·Σ|w|``; float16/bfloat16 kernels are summed in
    float32.  :class:`L1`, :class:`L2` and :class:`ElasticNet` are presets.

    Args:
        term: a spec string of one penalty term (``"l2(1e-4)"``; ``weightlab terms``
            lists them) or a :class:`weightlab.regularize.Term`.

    Example:
        >>> penalty = Penalty("l2(0.01, convention=sum_sq)")
        >>> penalty
        Penalty("l2(0.01, convention='sum_sq')")
        >>> round(float(penalty(ops.array([1.0, -2.0]))), 6)  # 0.01·(1 + 4)
        0.05

    Hoerl & Kennard 1970 (ridge); Tibshirani 1996 (lasso); Zou & Hastie 2005 (elastic
    net): each term's docstring cites its own.
    """

    def __init__(self, term: str | Term) -> None:
        (self.term,) = terms_of_kind(term, "penalty", owner="Penalty", param="term", one=True).terms

    def __call__(self, x: Any) -> Any:
        return self.term.penalty([ops.convert_to_tensor(x)], KERAS)

    def get_config(self) -> dict[str, Any]:
        return {"term": str(self.term)}

    def __repr__(self) -> str:
        return f"Penalty({str(self.term)!r})"


@keras.saving.register_keras_serializable(package="weightlab")
class ElasticNet(Penalty):
    """Elastic-net penalty ``λ·(l1_ratio·Σ|w| + (1 − l1_ratio)·c·Σw²)`` as a Keras
    regularizer, with ``c = 1`` for ``"sum_sq"`` and ``c = 1/2`` for ``"half_sum_sq"``:
    :class:`Penalty` of the term ``elastic_net``.

    Equals :func:`weightlab.regularize.elastic_net`.  With ``convention="sum_sq"`` it is
    Keras ``L1L2(l1=λ·l1_ratio, l2=λ·(1 − l1_ratio))``.  Float16/bfloat16 weights are summed
    and penalized in float32.

    Args:
        strength: λ ≥ 0, finite.
        l1_ratio: mix in [0, 1]; 1 is :class:`L1`, 0 is :class:`L2`.
        convention: ``"sum_sq"`` (Keras) or ``"half_sum_sq"`` (torch ``weight_decay``);
            required.

    Example:
        >>> penalty = ElasticNet(0.1, 0.5, convention="half_sum_sq")
        >>> round(float(penalty(ops.array([1.0, -2.0]))), 6)  # 0.1·(0.5·3 + 0.5·0.5·5)
        0.275

    Zou & Hastie 2005, "Regularization and variable selection via the elastic net".
    """

    def __init__(self, strength: float, l1_ratio: float, *, convention: Convention) -> None:
        values = {"strength": strength, "l1_ratio": l1_ratio, "convention": convention}
        check("ElasticNet", values, _TABLE)
        super().__init__(make_term("elastic_net", **values))
        self.strength = float(strength)
        self.l1_ratio = float(l1_ratio)
        self.convention: str = convention

    def get_config(self) -> dict[str, Any]:
        return {
            "strength": self.strength,
            "l1_ratio": self.l1_ratio,
            "convention": self.convention,
        }

    def __repr__(self) -> str:
        return f"ElasticNet({self.strength!r}, {self.l1_ratio!r}, convention={self.convention!r})"


@keras.saving.register_keras_serializable(package="weightlab")
class L1(ElasticNet):
    """L1 (lasso) penalty ``λ·Σ|w|``: :class:`Penalty` of ``l1(λ, rule='penalty')``, the
    same as :class:`ElasticNet` with ``l1_ratio = 1``.

    Equals Keras ``regularizers.L1(λ)`` and :func:`weightlab.regularize.l1`.

    Args:
        strength: λ ≥ 0, finite.

    Example:
        >>> round(float(L1(0.1)(ops.array([1.0, -2.0]))), 6)
        0.3

    Tibshirani 1996, "Regression shrinkage and selection via the lasso".
    """

    def __init__(self, strength: float) -> None:
        check("L1", {"strength": strength}, _TABLE)
        Penalty.__init__(self, make_term("l1", strength=strength, rule="penalty"))
        self.strength = float(strength)
        self.l1_ratio = 1.0
        self.convention = "sum_sq"

    def get_config(self) -> dict[str, Any]:
        return {"strength": self.strength}

    def __repr__(self) -> str:
        return f"L1({self.strength!r})"


@keras.saving.register_keras_serializable(package="weightlab")
class L2(ElasticNet):
    """L2 (ridge) penalty ``λ·c·Σw²``: :class:`Penalty` of ``l2(λ, convention)``, the same
    as :class:`ElasticNet` with ``l1_ratio = 0``.

    ``c = 1`` for ``"sum_sq"``: Keras's own ``regularizers.L2(λ)`` is
    ``L2(λ, convention="sum_sq")`` (torch ``weight_decay=2λ``); ``c = 1/2`` for
    ``"half_sum_sq"`` (torch ``weight_decay=λ``).  Equals :func:`weightlab.regularize.l2`.

    Args:
        strength: λ ≥ 0, finite.
        convention: ``"sum_sq"`` or ``"half_sum_sq"``; required, because frameworks
            disagree by a factor of two.

    Example:
        >>> w = ops.array([[1.0, -2.0], [3.0, 0.5]])
        >>> round(float(L2(0.01, convention="sum_sq")(w)), 6)
        0.1425

    Hoerl & Kennard 1970, "Ridge regression: biased estimation for nonorthogonal problems".
    """

    def __init__(self, strength: float, *, convention: Convention) -> None:
        check("L2", {"strength": strength, "convention": convention}, _TABLE)
        Penalty.__init__(self, make_term("l2", strength=strength, convention=convention))
        self.strength = float(strength)
        self.l1_ratio = 0.0
        self.convention = convention

    def get_config(self) -> dict[str, Any]:
        return {"strength": self.strength, "convention": self.convention}

    def __repr__(self) -> str:
        return f"L2({self.strength!r}, convention={self.convention!r})"


# ---------------------------------------------------------------------------
# Update rules, from the registered terms, and the callback that applies them.


def rule(spec: str | Term) -> KerasRule:
    """Rule terms as one :data:`KerasRule`: a spec string of one registered rule term, or
    several joined by ``+`` (run in the registry's stage order: decay, then L1, then
    max-norm), or a :class:`weightlab.regularize.Term`.

    Each term runs its registered arithmetic (:meth:`weightlab.regularize.Term.rule`) on
    Keras tensors; an inactive term (strength 0) is the identity.  ``"max_norm(c)"``
    rescales each unit's incoming weights, a column of a Dense kernel (every axis but the
    last of a convolution kernel), to ``‖w‖₂ ≤ c``.

    Example:
        >>> cap = rule("max_norm(1)")
        >>> kernel = ops.array([[3.0, 0.3], [4.0, 0.4]])  # two units, norms 5 and 0.5
        >>> ops.convert_to_numpy(cap(kernel, kernel, 0.1))
        array([[0.6, 0.3],
               [0.8, 0.4]], dtype=float32)

    Srivastava et al. 2014, "Dropout: a simple way to prevent neural networks from
    overfitting" (max-norm); each term's docstring cites its own.
    """
    return _rule(*terms_of_kind(spec, "rule", owner="rule", param="spec", one=False).terms)


def decoupled_decay(rate: float, *, lr_scaled: bool = True) -> KerasRule:
    """Decoupled weight decay ``new = proposed − s·rate·prev``, ``s = lr`` if ``lr_scaled``
    else ``1``: the term ``decoupled_decay(rate, lr_scaled)`` as a :data:`KerasRule`.

    After Keras ``SGD`` or ``Adam`` this is the optimizer's own ``weight_decay=rate``
    (which shrinks ``w`` by ``lr·rate·w`` before the step), restricted to the selected
    variables.

    Args:
        rate: decay rate ≥ 0, finite.
        lr_scaled: multiply by the optimizer's learning rate (Keras, torch) or not.

    Example:
        >>> rule = decoupled_decay(0.5)
        >>> ops.convert_to_numpy(rule(ops.array([1.0, -2.0]), ops.array([1.0, -2.0]), 0.1))
        array([ 0.95, -1.9 ], dtype=float32)

    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".
    """
    check("decoupled_decay", {"rate": rate, "lr_scaled": lr_scaled}, _TABLE)
    return _rule(make_term("decoupled_decay", rate=rate, lr_scaled=lr_scaled))


def l1_step(strength: float, rule: L1Rule = "proximal") -> KerasRule:
    """An L1 step of size ``t = lr·λ`` after the optimizer's step: the term
    ``l1(strength, rule)`` as a :data:`KerasRule`.

    - ``"subgradient"``: ``new = proposed − t·sign(prev)``;
    - ``"clip"``: ``z = proposed − t·sign(prev)``, then ``new = 0`` where ``prev·z < 0``
      (the whole step crossed zero), else ``z``;
    - ``"proximal"``: soft-thresholding, ``new = sign(proposed)·max(|proposed| − t, 0)``.

    ``strength = 0`` is the identity for every rule.

    Args:
        strength: λ ≥ 0, finite (the penalty ``λΣ|w|``).
        rule: ``"subgradient"``, ``"clip"`` or ``"proximal"``.

    Example:
        >>> step = l1_step(0.1, "proximal")
        >>> ops.convert_to_numpy(step(ops.array([0.5, 0.005]), ops.array([0.5, 0.005]), 0.1))
        array([0.49, 0.  ], dtype=float32)

    Tibshirani 1996; Langford, Li & Zhang 2009, "Sparse online learning via truncated
    gradient" (clipping at zero); the proximal step is ISTA's.
    """
    check("l1_step", {"strength": strength, "rule": rule}, _TABLE)
    return _rule(make_term("l1", strength=strength, rule=rule))


def _identity(prev: Any, proposed: Any, lr: float) -> Any:
    return proposed


def _rule(*terms: Term) -> KerasRule:
    # Chained in stage order; inactive terms (strength 0) are left out: they change nothing.
    return Regularization(terms).rule(KERAS) or _identity


def is_kernel(variable: Any) -> bool:
    """The default selection of :class:`WeightRules`: a variable with two or more
    dimensions whose name does not end in ``bias``.

    That takes Dense, Conv, recurrent and Embedding kernels and leaves out biases and
    the (1-D) scale and offset of normalization layers, as
    :func:`weightlab.regularize.select_params` does for torch.
    """
    return len(variable.shape) >= 2 and not str(variable.name).endswith("bias")


def _learning_rate(optimizer: Any) -> float:
    # Read before the step: a schedule is evaluated at the step's iteration count.
    return float(ops.convert_to_tensor(optimizer.learning_rate))


@keras.saving.register_keras_serializable(package="weightlab")
class WeightRules(keras.callbacks.Callback):  # type: ignore[misc]
    """Apply update rules to selected variables after each optimizer step of ``fit``.

    On each training batch: remember each selected variable (``prev``) and the
    optimizer's learning rate ``lr`` before the step, then, after the step has produced
    ``proposed``, assign ``rules[-1](prev, … rules[0](prev, proposed, lr) …, lr)`` (the
    rules chained left to right, as :func:`weightlab.regularize.chain`).  This is
    :class:`weightlab.regularize.RegularizedOptimizer` for Keras: an optimizer followed
    by a rule, on a separate selection of weights.  :meth:`from_spec` builds it from
    registered rule terms (``"decoupled_decay(0.01)+max_norm(3)"``).

    Put it first in ``callbacks`` so that later callbacks see the regularized weights.
    The model must take one optimizer step per batch: ``steps_per_execution`` 1 and no
    ``gradient_accumulation_steps``.  Variables are selected once per ``fit``.  It works
    alike on Keras' tensorflow, jax and torch backends (on jax, reading ``self.model``
    makes fit write each step's state into the variables before the rules read them).

    Callbacks are not part of a saved model, but one built from a spec (and the presets
    :class:`L1Step`, :class:`DecoupledDecay`) serializes with
    ``keras.saving.serialize_keras_object`` as ``{"spec": ...}``; one built from your own
    functions or with a custom ``select`` cannot, and says so.

    Args:
        *rules: one or more :data:`KerasRule`, e.g. ``decoupled_decay(1e-2)``,
            ``l1_step(1e-4, "clip")``, ``rule("max_norm(3)")``.
        select: ``variable -> bool`` among the model's trainable variables; default
            :func:`is_kernel` (kernels, not biases).

    Example:
        >>> callback = WeightRules(decoupled_decay(1e-2), l1_step(1e-4, "proximal"))

    Loshchilov & Hutter 2019 (regularization as a step separate from the optimizer).
    """

    def __init__(self, *rules: KerasRule, select: Callable[[Any], bool] | None = None) -> None:
        super().__init__()
        if not rules:
            raise fail("WeightRules", "rules", "at least one rule", Described("none"))
        for index, item in enumerate(rules):
            name = f"rules[{index}]"
            check("WeightRules", {name: item}, {name: _CALLABLE_RULE})
        check("WeightRules", {"select": select}, _TABLE)
        self.rules = rules
        self.select: Callable[[Any], bool] = select if select is not None else is_kernel
        self.spec: str | None = None
        self._variables: list[Any] | None = None
        self._prev: list[Any] = []
        self._lr = 0.0

    @classmethod
    def from_spec(
        cls, spec: str | Term, *, select: Callable[[Any], bool] | None = None
    ) -> WeightRules:
        """The callback for every term of ``spec``, a string of registered rule terms
        joined by ``+``, run in stage order (decay, then L1, then max-norm).

        Args:
            spec: rule terms, e.g. ``"decoupled_decay(0.01)+max_norm(3)"``; a penalty
                (``Penalty``) or a layer (``Dropout``) is refused.
            select: ``variable -> bool``; default :func:`is_kernel`.

        Example:
            >>> WeightRules.from_spec("max_norm(3)+decoupled_decay(0.01)")
            WeightRules.from_spec('decoupled_decay(0.01)+max_norm(3)')
        """
        terms = terms_of_kind(spec, "rule", owner="WeightRules.from_spec", param="spec", one=False)
        check("WeightRules.from_spec", {"select": select}, _TABLE)
        rules = [t.rule(KERAS) for t in terms.rules] or [_identity]
        callback = WeightRules(*rules, select=select)
        callback.spec = str(terms)
        return callback

    @property
    def variables(self) -> list[Any]:
        """The selected variables (after the first training batch of a ``fit``)."""
        return list(self._variables or [])

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        steps = getattr(self.model, "steps_per_execution", 1)
        if steps != 1:
            expected = "a model compiled with steps_per_execution=1"
            raise fail(type(self).__name__, "model", expected, Described(f"{steps}"))
        optimizer = self.model.optimizer
        if getattr(optimizer, "gradient_accumulation_steps", None):
            expected = "a model whose optimizer steps on every batch"
            got = f"gradient_accumulation_steps={optimizer.gradient_accumulation_steps}"
            raise fail(type(self).__name__, "model", expected, Described(got))
        self._variables = None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._variables is None:
            self._variables = [v for v in self.model.trainable_variables if self.select(v)]
        self._prev = [ops.copy(ops.stop_gradient(v)) for v in self._variables]
        self._lr = _learning_rate(self.model.optimizer)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Reading self.model makes JAX write the step's new state into the variables (its
        # fit keeps the state apart from them during an epoch) and read it back next step.
        _ = self.model
        for variable, prev in zip(self._variables or [], self._prev, strict=True):
            new = ops.stop_gradient(variable)
            for step in self.rules:
                new = step(prev, new, self._lr)
            variable.assign(new)
        self._prev = []

    def get_config(self) -> dict[str, Any]:
        """``{"spec": ...}`` for a callback built from registered rule terms with the
        default selection; an error for functions or a custom ``select``."""
        self._check_serializable()
        return {"spec": self.spec}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WeightRules:
        return cls.from_spec(config["spec"])

    def _check_serializable(self) -> None:
        owner = f"{type(self).__name__}.get_config"
        if self.select is not is_kernel:
            expected = "the default selection (is_kernel) to be saved: a function cannot be"
            raise fail(owner, "select", expected, self.select)
        if self.spec is None:
            expected = "rule terms from a spec (WeightRules.from_spec) to be saved"
            raise fail(owner, "rules", expected, Described(f"{len(self.rules)} functions"))

    def __repr__(self) -> str:
        if self.spec is not None:
            return f"WeightRules.from_spec({self.spec!r})"
        return f"{type(self).__name__}({len(self.rules)} rules)"


@keras.saving.register_keras_serializable(package="weightlab")
class L1Step(WeightRules):
    """:class:`WeightRules` with one :func:`l1_step`: an L1 step of size ``lr·λ`` after
    every optimizer step, on the kernels by default.

    Args:
        strength: λ ≥ 0, finite.
        rule: ``"subgradient"``, ``"clip"`` or ``"proximal"`` (default, exact zeros).
        select: ``variable -> bool``; default :func:`is_kernel`.

    Example:
        >>> L1Step(1e-3, "clip")
        L1Step(0.001, rule='clip')

    Langford, Li & Zhang 2009; Tibshirani 1996.
    """

    def __init__(
        self,
        strength: float,
        rule: L1Rule = "proximal",
        *,
        select: Callable[[Any], bool] | None = None,
    ) -> None:
        check("L1Step", {"strength": strength, "rule": rule, "select": select}, _TABLE)
        term = make_term("l1", strength=strength, rule=rule)
        super().__init__(_rule(term), select=select)
        self.strength = strength
        self.rule = rule
        self.spec = str(term)

    def get_config(self) -> dict[str, Any]:
        self._check_serializable()
        return {"strength": self.strength, "rule": self.rule}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> L1Step:
        return cls(**config)

    def __repr__(self) -> str:
        return f"L1Step({self.strength!r}, rule={self.rule!r})"


@keras.saving.register_keras_serializable(package="weightlab")
class DecoupledDecay(WeightRules):
    """:class:`WeightRules` with one :func:`decoupled_decay`: ``w ← w − lr·rate·w_prev``
    after every optimizer step, on the kernels by default.

    After Keras ``SGD``/``Adam`` this equals the optimizer's own ``weight_decay=rate``
    with the biases excluded (``optimizer.exclude_from_weight_decay(var_names=["bias"])``).

    Args:
        rate: decay rate ≥ 0, finite.
        lr_scaled: scale by the learning rate (default, as Keras and torch do) or not.
        select: ``variable -> bool``; default :func:`is_kernel`.

    Example:
        >>> DecoupledDecay(0.01)
        DecoupledDecay(0.01, lr_scaled=True)

    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".
    """

    def __init__(
        self,
        rate: float,
        *,
        lr_scaled: bool = True,
        select: Callable[[Any], bool] | None = None,
    ) -> None:
        values = {"rate": rate, "lr_scaled": lr_scaled, "select": select}
        check("DecoupledDecay", values, _TABLE)
        term = make_term("decoupled_decay", rate=rate, lr_scaled=lr_scaled)
        super().__init__(_rule(term), select=select)
        self.rate = rate
        self.lr_scaled = lr_scaled
        self.spec = str(term)

    def get_config(self) -> dict[str, Any]:
        self._check_serializable()
        return {"rate": self.rate, "lr_scaled": self.lr_scaled}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DecoupledDecay:
        return cls(**config)

    def __repr__(self) -> str:
        return f"DecoupledDecay({self.rate!r}, lr_scaled={self.lr_scaled!r})"


# ---------------------------------------------------------------------------
# Dropout.


@keras.saving.register_keras_serializable(package="weightlab")
class Dropout(keras.layers.Layer):  # type: ignore[misc]
    """Dropout layer with the inverted (Keras, torch) or classic (original paper) rule:
    the registered term ``dropout(rate, mode)``.

    With a keep mask ``m ~ Bernoulli(1 − p)``:

    - ``"inverted"``: training ``x·m/(1 − p)``, inference ``x``;
    - ``"classic"``: training ``x·m``, inference ``x·(1 − p)``.

    Both have the same expected output in training as at inference.  The mask comes from
    a ``keras.random.SeedGenerator(seed)``, so a seeded layer is reproducible.

    Args:
        rate: drop probability ``p`` in [0, 1); 0 is the identity.
        mode: ``"inverted"`` (default, as ``keras.layers.Dropout``) or ``"classic"``.
        seed: int for the layer's seed generator, or None.

    Example:
        >>> layer = Dropout(0.5, mode="classic")
        >>> ops.convert_to_numpy(layer(ops.ones((3,)), training=False))
        array([0.5, 0.5, 0.5], dtype=float32)

    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: a simple
    way to prevent neural networks from overfitting".
    """

    def __init__(
        self,
        rate: float,
        mode: DropoutMode = "inverted",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        check("Dropout", {"rate": rate, "mode": mode, "seed": seed}, _DROPOUT_TABLE)
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.mode: str = mode
        self.seed = seed
        self.term = make_term("dropout", p=self.rate, mode=mode)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not self.term.active:
            return inputs
        keep = None
        if training:
            u = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
            keep = ops.cast(ops.greater_equal(u, self.rate), inputs.dtype)
        return self.term.layer(KERAS, inputs, keep, bool(training))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        return {**config, "rate": self.rate, "mode": self.mode, "seed": self.seed}
