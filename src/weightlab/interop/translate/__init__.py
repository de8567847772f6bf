"""Translate a training setting from one framework's conventions into another's.

A setting is written ``framework:Name(args)``, several joined by ``+`` where they combine
(an optimizer and penalties: ``keras:Adam(learning_rate=1e-3) + L2(1e-4)``).  Every
setting is parsed into one canonical meaning, and every target framework renders a
meaning; nothing is written per pair of frameworks.

weightlab's own vocabulary is read from its registries
(:mod:`~weightlab.interop.translate.weightlab_terms`): its variance-scaling initializers,
and every registered regularization term with the term's parameters, written as in a
regularization spec (``weightlab:l2(0.01) + decoupled_decay(0.1)``,
``weightlab:dropout(0.5)``).  A term's meaning is its
:meth:`~weightlab.regularize.Term.canonical`; weightlab settings name no optimizer (its
terms go beside yours), so penalties and rules combine with ``+`` and dropout stands
alone, as in the other frameworks.  ``Canonical(step=True)`` means "no framework has it
built in": a rule term is then one of the ``steps`` below, a penalty term one of the
``penalties``.  An active rule or penalty that declares no meaning (``Canonical()``) is
read the same way, so a term of your own translates without declaring anything.

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
- ``steps``: weightlab rule terms no framework has built in (``max_norm(3)``,
  ``l1(1e-3)`` as a proximal step, ``decoupled_decay(0.1, lr_scaled=False)``), as the
  registry writes them.  Every target writes them with weightlab's adapter for that
  framework, one ``weightlab_rules(spec)`` setting: torch's and MLX's
  ``RegularizedOptimizer``, Keras' ``WeightRules.from_spec`` callback; a term's own
  framework code (its registry entry's ``native``) is listed as an alternative.  In
  torch a decoupled decay on the kernels joins the steps' rule; one that touches biases
  too is its own ``RegularizedOptimizer``, which the steps' wraps (the decay runs first).
- ``penalties``: weightlab penalty terms no framework has built in (a group lasso
  ``λ·Σ_units ‖w_u‖₂`` registered in your code), added to the loss over the kernels
  by weightlab's adapter, one ``weightlab_penalty(spec)`` setting: torch's
  ``loss = loss + weightlab.regularize.parse_regularization(spec).penalty(weights)``
  with ``weights = [p for _, p in select_params(model)]``, Keras'
  ``kernel_regularizer=weightlab.keras.Penalty(spec)``, MLX's
  ``loss = loss + weightlab.mlx.penalty(spec)(model)``.
- the optimizer: SGD with momentum ``μ`` (``v ← μv + g``, ``w ← w − lr·v``) or Adam
  (Kingma & Ba 2015) with its ε placement: torch and MLX with ``bias_correction=True``
  add ε to ``√v̂``; Keras adds ``ε̂`` to ``√v`` (``lr·m̂/(√v̂ + ε̂/√(1 − β₂ᵗ))``); MLX by
  default applies no bias correction at all (``lr·m/(√v + ε)``).

Each amount says which weights it touches: kernels (weights with two or more
dimensions) and biases; weightlab's terms touch kernels only.

:class:`InitMeaning` (initializers, layer defaults): ``Var(W) = scale/n``, ``n`` the fan
chosen by ``mode``, drawn from a normal, a uniform ``U(±√(3·scale/n))`` or Keras' truncated
normal (``σ′ = √(scale/n)/0.8796``, cut at ``±2σ′``, final std ``√(scale/n)``).  Glorot &
Bengio 2010 (``fan_avg``), He et al. 2015 (``scale = 2``, ``fan_in``), LeCun et al. 1998
(``scale = 1``, ``fan_in``).

:class:`DropoutMeaning`: inverted dropout, ``y = x·m/(1 − p)`` with ``m ~ Bernoulli(1 − p)``
in training and ``y = x`` in evaluation, in all three frameworks; or classic dropout
(Srivastava et al. 2014), ``y = x·m`` in training and ``y = x·(1 − p)`` in evaluation,
which each framework writes with weightlab's Dropout layer (``weightlab_dropout``).

Example:
    >>> t = translate("keras:L2(0.01)", to="torch:sgd")
    >>> t.target_setting
    "torch:SGD(lr=lr, weight_decay=0.02, on='kernels')"
"""

from weightlab.interop.translate.backends import KERAS_BACKENDS
from weightlab.interop.translate.components import COMPONENTS, Call, Component
from weightlab.interop.translate.meanings import (
    EPS_TOLERANCE,
    EXACT_TOLERANCE,
    FLOAT32_POWER_TOLERANCE,
    FRAMEWORKS,
    LR,
    OPTIMIZER_FAMILIES,
    TRUNC_STD,
    Amount,
    DropoutMeaning,
    InitMeaning,
    Meaning,
    UpdateMeaning,
)
from weightlab.interop.translate.parse import meaning_of, parse_setting
from weightlab.interop.translate.shared_terms import decouples
from weightlab.interop.translate.translation import Translation, translate
from weightlab.interop.translate.vocabulary import supported

__all__ = [
    "COMPONENTS",
    "EPS_TOLERANCE",
    "EXACT_TOLERANCE",
    "FLOAT32_POWER_TOLERANCE",
    "FRAMEWORKS",
    "KERAS_BACKENDS",
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
