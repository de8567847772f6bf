"""The same tiny model trained in torch, Keras and MLX: weight trajectories to compare.

Each trainer starts from the same weights, takes the same batches in the same order, and
records every weight after every step.  The setting is written as the translator reads it
(``"keras:Adam(learning_rate=0.01) + L2(1e-4)"``), and each framework builds its own real
objects from it (``keras.optimizers.Adam``, ``keras.regularizers.L2`` on the layers,
``torch.optim.AdamW``, ``mlx.optimizers.SGD``, ...), so two trajectories agree exactly when
the two settings mean the same update.

weightlab's own settings (``"weightlab:l2(1e-3) + max_norm(3)"``) train in torch through
the regularization registry: penalties from :meth:`Regularization.penalty` in the loss,
rules by :meth:`Regularization.rule` in :class:`~weightlab.regularize.RegularizedOptimizer`,
both on the kernels :func:`~weightlab.regularize.select_params` picks.  A framework's
``weightlab_rules(spec)`` step trains with weightlab's adapter for it: torch's
``RegularizedOptimizer``, Keras' ``WeightRules.from_spec`` (called around each
``train_on_batch`` as ``fit`` calls a callback), MLX's ``RegularizedOptimizer`` with the
spec; its ``weightlab_penalty(spec)`` loss term too: the registry's penalty on torch's
kernels, ``weightlab.keras.Penalty`` as each layer's kernel regularizer (added to the
setting's L1/L2 where it has them), ``weightlab.mlx.penalty`` on the MLX model.  A torch
decay step and torch steps each wrap the optimizer in a ``RegularizedOptimizer``, the
steps' outside the decay's.

The model: ``Linear → tanh → Linear → ...`` with weights in torch's layout (``"0.weight"``
``[out, in]``, ``"0.bias"`` ``[out]``, ``"1.weight"``, ...), and a mean-squared-error or
cross-entropy loss averaged over the batch.

Keras trains on the backend it runs on in this process (:func:`current_keras_backend`: torch
unless ``KERAS_BACKEND`` or an earlier ``import keras`` chose another).  Keras picks its
backend once per process, so ``trajectory(..., keras_backend="tensorflow")`` in a process
whose Keras runs on another backend trains in a child process with ``KERAS_BACKEND`` set
(``python -m weightlab.interop.trajectory``) and returns its weights.

Example:
    >>> problem = make_problem((3, 2), steps=2)
    >>> path = trajectory("torch:SGD(lr=0.1, weight_decay=0.02)", problem)
    >>> len(path), sorted(path[0])
    (3, ['0.bias', '0.weight'])
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from weightlab._optional import MissingExtraError, pip_command, require
from weightlab._validate import (
    OPTIONAL,
    POSITIVE,
    Constraint,
    Interval,
    OneOf,
    Satisfies,
    check,
    fail,
)
from weightlab.init.schemes import REGISTRY
from weightlab.interop.translate import (
    KERAS_BACKENDS,
    LR,
    TRUNC_STD,
    Call,
    decouples,
    parse_setting,
)
from weightlab.regularize import (
    TORCH,
    Dropout,
    Regularization,
    RegularizedOptimizer,
    decoupled_decay,
    l1,
    l2,
    make_term,
    param_groups,
    parse_regularization,
    select_params,
)

__all__ = [
    "DEFAULT_KERAS_BACKEND",
    "KERAS_BACKENDS",
    "LOSSES",
    "Batch",
    "Problem",
    "Weights",
    "apply_dropout",
    "check_keras_backend",
    "current_keras_backend",
    "draw_init",
    "make_problem",
    "max_difference",
    "prepare_keras",
    "trajectory",
]

Weights = dict[str, np.ndarray]
Batch = tuple[np.ndarray, np.ndarray]
LOSSES: tuple[str, ...] = ("mse", "cross_entropy")

DEFAULT_KERAS_BACKEND = "torch"
"""weightlab's choice where nothing else chose one: torch is its own dependency."""
_BACKEND_INSTALL = {
    "tensorflow": "pip install tensorflow",
    "jax": "pip install jax",
    "torch": "pip install torch",
}


def _importable(package: str) -> bool:
    if package in sys.modules:
        return sys.modules[package] is not None  # None: deliberately hidden
    return importlib.util.find_spec(package) is not None


def check_keras_backend(backend: object, owner: str, param: str = "keras_backend") -> str:
    """``backend`` if it is a Keras backend weightlab trains on and its package is
    installed; otherwise one clear error, before anything imports Keras.

    Raises:
        ValueError: not one of :data:`KERAS_BACKENDS`.
        weightlab._optional.MissingExtraError: the backend's package is not installed
            (the message says what to install).

    Example:
        >>> check_keras_backend("torch", "figure")
        'torch'
        >>> check_keras_backend("theano", "figure")
        Traceback (most recent call last):
        ...
        weightlab._validate.ParameterError: The 'keras_backend' parameter of figure must be \
one of 'tensorflow', 'jax', 'torch'. Got 'theano'.
    """
    check(owner, {param: backend}, {param: OneOf(KERAS_BACKENDS)})
    name = str(backend)
    if not _importable(name):
        raise MissingExtraError(
            f"Keras' {name} backend needs the package {name!r}, which is not installed. "
            f"Install it with: {_BACKEND_INSTALL[name]}"
        )
    return name


def prepare_keras(backend: str | None, owner: str) -> str:
    """Check, before any training, that Keras can train on ``backend`` (None: this
    process's, :func:`current_keras_backend`); return the backend it will train on.

    Keras is imported here only where it will train in this process; for another
    backend (a child process trains) only its installation is checked.

    Raises:
        ValueError: an unknown backend, or a ``KERAS_BACKEND`` weightlab cannot train on.
        weightlab._optional.MissingExtraError: Keras or the backend's package is missing.
    """
    if backend is not None:
        check_keras_backend(backend, owner)
    if backend is None or backend == current_keras_backend():
        _keras_module()
        return current_keras_backend()
    if not _importable("keras"):
        raise MissingExtraError(
            "Keras trajectories need the optional package 'keras', which is not installed. "
            f"Install it with: {pip_command('keras')}"
        )
    return backend


def current_keras_backend() -> str:
    """The backend Keras runs on in this process: Keras' own once it is imported, else
    ``KERAS_BACKEND``, else torch (weightlab's default, which importing
    :mod:`weightlab.keras` sets).

    Example:
        >>> current_keras_backend() in KERAS_BACKENDS
        True
    """
    module = sys.modules.get("keras")
    backend = getattr(module, "backend", None)
    if backend is not None and hasattr(backend, "backend"):
        return str(backend.backend())
    return os.environ.get("KERAS_BACKEND") or DEFAULT_KERAS_BACKEND


@dataclass(frozen=True)
class Problem:
    """Initial weights, batches in their fixed order, and the loss.

    Attributes:
        init: ``"{i}.weight"`` ``[out, in]`` and ``"{i}.bias"`` ``[out]`` for each layer,
            float32.
        batches: ``(x [batch, in], y)`` pairs; ``y`` is ``[batch, out]`` floats for
            ``"mse"`` and ``[batch]`` class indices for ``"cross_entropy"``.
        loss: ``"mse"`` or ``"cross_entropy"``, both averaged over the batch.
    """

    init: Mapping[str, np.ndarray]
    batches: tuple[Batch, ...]
    loss: str = "mse"

    @property
    def layers(self) -> int:
        return len(self.init) // 2


_PROBLEM_TABLE = {
    "sizes": Satisfies(
        lambda v: (
            isinstance(v, (tuple, list))
            and len(v) >= 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in v)
        ),
        "a sequence of at least two positive ints (input, hidden..., output)",
    ),
    "steps": Interval(1, math.inf, "left", integer=True),
    "batch_size": Interval(1, math.inf, "left", integer=True),
    "loss": OneOf(LOSSES),
    "seed": Interval(0, math.inf, "left", integer=True),
}


def make_problem(
    sizes: Sequence[int] = (4, 3),
    *,
    steps: int = 20,
    batch_size: int = 8,
    loss: str = "mse",
    seed: int = 0,
) -> Problem:
    """A small random problem: LeCun-scaled weights, nonzero biases (so that decaying or
    sparing them shows), Gaussian inputs and targets from a random teacher.

    Args:
        sizes: layer widths ``(in, hidden..., out)``; ``(4, 3)`` is one Linear layer.
        steps: number of batches (training steps).
        batch_size: rows per batch.
        loss: ``"mse"`` or ``"cross_entropy"``.
        seed: seed of the NumPy generator that draws everything.

    Example:
        >>> p = make_problem((4, 5, 3), steps=3, loss="cross_entropy")
        >>> p.init["1.weight"].shape, p.batches[0][1].dtype
        ((3, 5), dtype('int64'))
    """
    values = {"sizes": sizes, "steps": steps, "batch_size": batch_size, "loss": loss}
    check("make_problem", {**values, "seed": seed}, _PROBLEM_TABLE)
    rng = np.random.default_rng(seed)
    init: Weights = {}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        init[f"{i}.weight"] = (rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)).astype(
            np.float32
        )
        init[f"{i}.bias"] = (0.5 * rng.standard_normal(n_out)).astype(np.float32)
    teacher = rng.standard_normal((sizes[0], sizes[-1]))
    batches = []
    for _ in range(steps):
        x = rng.standard_normal((batch_size, sizes[0]))
        scores = np.tanh(x @ teacher) + 0.1 * rng.standard_normal((batch_size, sizes[-1]))
        y = scores.argmax(axis=1) if loss == "cross_entropy" else scores.astype(np.float32)
        batches.append((x.astype(np.float32), y))
    return Problem(init, tuple(batches), loss)


def trajectory(
    setting: str, problem: Problem, *, lr: float = 0.1, keras_backend: str | None = None
) -> list[Weights]:
    """Train ``problem`` with ``setting`` in its framework; weights before and after each
    step (``len(problem.batches) + 1`` entries, torch layout).

    Args:
        setting: optimizer, penalties and steps as :func:`weightlab.interop.translate.
            parse_setting` reads them, e.g. ``"mlx:AdamW(learning_rate=0.01)"`` or
            ``"weightlab:l2(1e-3) + max_norm(3)"``.  Without an optimizer the framework's
            plain SGD is used (torch's for weightlab).
        problem: start, batches and loss (:func:`make_problem`).
        lr: the learning rate where the setting gives none (or writes ``lr=lr``).
        keras_backend: for a Keras setting, the backend to train on (one of
            :data:`KERAS_BACKENDS`); None: this process's (:func:`current_keras_backend`).  A
            backend other than this process's trains in a child process.

    Raises:
        ValueError: a setting that is not an optimizer or penalty, a bad ``lr`` or an
            unknown backend.
        weightlab._optional.MissingExtraError: Keras, MLX or the backend's package is not
            installed.
    """
    check("trajectory", {"lr": lr, "keras_backend": keras_backend}, _TRAJECTORY_TABLE)
    calls = parse_setting(setting, "trajectory", "setting")
    if any(c.component.kind in ("init", "dropout") for c in calls):
        expected = "an optimizer, penalty or decay setting (not an initializer or dropout)"
        raise fail("trajectory", "setting", expected, setting)
    if calls[0].framework == "keras" and keras_backend is not None:
        check_keras_backend(keras_backend, "trajectory")
        if keras_backend != current_keras_backend():
            return _child_trajectory(setting, problem, lr, keras_backend)
    return _TRAINERS[calls[0].framework](calls, problem, lr)


_TRAJECTORY_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "lr": POSITIVE,
    "keras_backend": (OneOf(KERAS_BACKENDS), OPTIONAL),
}


def _child_trajectory(setting: str, problem: Problem, lr: float, backend: str) -> list[Weights]:
    """:func:`trajectory` in a new process whose Keras runs on ``backend``."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up log lines
    with tempfile.TemporaryDirectory(prefix="weightlab-keras-") as folder:
        job, result = os.path.join(folder, "job.pkl"), os.path.join(folder, "result.pkl")
        with open(job, "wb") as file:
            pickle.dump((setting, problem, lr), file)
        done = subprocess.run(
            [sys.executable, "-m", "weightlab.interop.trajectory", job, result],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not os.path.exists(result):
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise RuntimeError(f"Training on Keras' {backend} backend failed: {last}")
        with open(result, "rb") as file:
            status, value = pickle.load(file)  # written by _child_main below, not user data
    if status == "error":
        raise value
    return cast(list[Weights], value)


def _child_main(job: str, result: str) -> None:
    """Run one pickled :func:`trajectory` job and pickle its weights or its error."""
    with open(job, "rb") as file:
        setting, problem, lr = pickle.load(file)
    try:
        outcome: tuple[str, object] = ("ok", trajectory(setting, problem, lr=lr))
    except (ValueError, TypeError, ImportError) as error:
        outcome = ("error", error)
    with open(result, "wb") as file:
        pickle.dump(outcome, file)


def max_difference(
    a: Sequence[Mapping[str, np.ndarray]], b: Sequence[Mapping[str, np.ndarray]]
) -> float:
    """Largest absolute difference between two trajectories over all steps and weights."""
    if len(a) != len(b):
        raise fail("max_difference", "b", f"a trajectory of {len(a)} steps", len(b))
    return max(
        float(np.max(np.abs(np.asarray(x[k], np.float64) - np.asarray(y[k], np.float64))))
        for x, y in zip(a, b, strict=True)
        for k in x
    )


# ---------------------------------------------------------------------------
# Shared helpers.


def _args(call: Call, lr: float) -> dict[str, Any]:
    """The call's arguments with ``lr=lr`` replaced and translator-only ones dropped."""
    return {k: (lr if v == LR else v) for k, v in call.args if k != "on"}


def _optimizer(calls: Sequence[Call]) -> Call | None:
    return next((c for c in calls if c.component.kind == "optimizer"), None)


def _weightlab_terms(calls: Sequence[Call]) -> Regularization:
    """The terms weightlab's own code trains: a weightlab setting's, and the specs of a
    framework's ``weightlab_rules`` steps and ``weightlab_penalty`` loss terms."""
    parts = [str(make_term(c.name, **dict(c.args))) for c in calls if c.framework == "weightlab"]
    parts += [c.arg("spec") for c in calls if c.name in ("weightlab_rules", "weightlab_penalty")]
    return parse_regularization("+".join(parts)) if parts else Regularization()


def _uncorrection(opt: Call | None, lr: float, step: int) -> tuple[float, float]:
    """``c = (1 − β₁ᵗ)/√(1 − β₂ᵗ)`` and ``√(1 − β₂ᵗ)`` for Adam at ``step``."""
    assert opt is not None
    args = _args(opt, lr)
    b1, b2 = args["betas"] if "betas" in args else (args["beta_1"], args["beta_2"])
    root = math.sqrt(1.0 - b2**step)
    return (1.0 - b1**step) / root, root


# ---------------------------------------------------------------------------
# torch


class _TorchNet(nn.Module):
    def __init__(self, init: Mapping[str, np.ndarray], layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(layers):
            w = torch.from_numpy(np.array(init[f"{i}.weight"], np.float32))
            layer = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                layer.weight.copy_(w)
                layer.bias.copy_(torch.from_numpy(np.array(init[f"{i}.bias"], np.float32)))
            self.layers.append(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return x


def _torch_weights(model: _TorchNet) -> Weights:
    return {
        name.removeprefix("layers."): p.detach().numpy().copy()
        for name, p in model.named_parameters()
    }


def _torch_selected(model: nn.Module, on: str) -> list[torch.Tensor]:
    return [p for _, p in select_params(model, biases=on == "all")]


def _torch_optimizer(calls: Sequence[Call], model: nn.Module, lr: float) -> Any:
    """The setting's optimizer (plain SGD without one), wrapped by its decay steps."""
    opt_call = _optimizer(calls)
    if opt_call is None:
        optimizer: Any = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        args = _args(opt_call, lr)
        params: Any = model.parameters()
        if opt_call.arg("on") == "kernels":
            params = param_groups(model, args.pop("weight_decay"))
        optimizer = getattr(torch.optim, opt_call.name)(params, **args)
    for call in calls:
        if call.name == "decoupled_decay" and call.framework != "weightlab":
            chosen = _torch_selected(model, call.arg("on"))
            optimizer = RegularizedOptimizer(optimizer, decoupled_decay(call.arg("rate")), chosen)
    rule = _weightlab_terms(calls).rule()
    if rule is not None:
        optimizer = RegularizedOptimizer(optimizer, rule, _torch_selected(model, "kernels"))
    return optimizer


def _torch_penalties(calls: Sequence[Call], model: nn.Module) -> list[Callable[[], torch.Tensor]]:
    penalties: list[Callable[[], torch.Tensor]] = []
    terms = _weightlab_terms(calls)
    if terms.penalties:
        kernels = _torch_selected(model, "kernels")
        penalties.append(lambda: cast(torch.Tensor, terms.penalty(kernels)))
    for call in calls:
        if call.name in ("penalty_l1", "penalty_l2"):
            chosen, s = _torch_selected(model, call.arg("on")), call.arg("strength")
            if call.name == "penalty_l1":
                penalties.append(functools.partial(l1, chosen, s))
            else:
                penalties.append(functools.partial(l2, chosen, s, convention="sum_sq"))
    return penalties


def _torch(calls: Sequence[Call], problem: Problem, lr: float) -> list[Weights]:
    model = _TorchNet(problem.init, problem.layers)
    optimizer = _torch_optimizer(calls, model, lr)
    penalties = _torch_penalties(calls, model)
    opt_call = _optimizer(calls)
    uncorrected = any(c.name == "no_bias_correction" for c in calls)
    groups = optimizer.param_groups if uncorrected else []
    base = [(g["lr"], g["eps"], g["weight_decay"]) for g in groups]
    loss_fn = _torch_loss(problem.loss)
    path = [_torch_weights(model)]
    for step, (x, y) in enumerate(problem.batches, start=1):
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(np.asarray(y)))
        for penalty in penalties:
            loss = loss + penalty()
        loss.backward()  # type: ignore[no-untyped-call]
        if uncorrected:
            # MLX's uncorrected Adam: lr·c, eps/√(1 − β₂ᵗ), and a decoupled decay / c.
            c, root = _uncorrection(opt_call, lr, step)
            decoupled = opt_call is not None and decouples(opt_call)
            for group, (g_lr, g_eps, g_wd) in zip(optimizer.param_groups, base, strict=True):
                wd = g_wd / c if decoupled else g_wd
                group.update(lr=g_lr * c, eps=g_eps / root, weight_decay=wd)
        optimizer.step()
        path.append(_torch_weights(model))
    return path


def _torch_loss(loss: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if loss == "cross_entropy":
        return torch.nn.functional.cross_entropy
    return torch.nn.functional.mse_loss


# ---------------------------------------------------------------------------
# Keras


def _keras_module() -> ModuleType:
    if "keras" not in sys.modules:
        # weightlab runs on torch, so Keras does too unless the user chose a backend.
        os.environ.setdefault("KERAS_BACKEND", DEFAULT_KERAS_BACKEND)
        check_keras_backend(os.environ["KERAS_BACKEND"], "trajectory", "KERAS_BACKEND")
    return require("keras", "keras", "Keras trajectories")


def _keras_numpy(keras: ModuleType, x: Any) -> np.ndarray:
    """A Keras tensor or variable as a NumPy copy (torch tensors directly: Keras' own
    conversion warns under NumPy 2 on the torch backend)."""
    value = getattr(x, "value", x)
    if isinstance(value, torch.Tensor):
        return np.array(value.detach().cpu().numpy())
    return np.array(keras.ops.convert_to_numpy(x))


def _keras_regularizer(keras: ModuleType, l1: float, l2: float) -> Any:
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return keras.regularizers.L1(l1)
    if l2:
        return keras.regularizers.L2(l2)
    return None


def _keras_regularizers(keras: ModuleType, calls: Sequence[Call]) -> tuple[Any, Any]:
    """Kernel and bias regularizers: the setting's L1/L2 strengths summed per target, and
    on kernels weightlab's ``Penalty`` for each term of its ``weightlab_penalty`` rows."""
    strength = {(target, key): 0.0 for target in ("kernel", "bias") for key in ("l1", "l2")}
    for call in calls:
        if call.component.kind == "regularizer" and call.name != "weightlab_penalty":
            for key in ("l1", "l2"):
                value = dict(call.args).get(key, 0.0)
                strength["kernel", key] += value
                if call.arg("on") == "all":
                    strength["bias", key] += value
    kernel = _keras_regularizer(keras, strength["kernel", "l1"], strength["kernel", "l2"])
    specs = [c.arg("spec") for c in calls if c.name == "weightlab_penalty"]
    if specs:
        from weightlab.interop.keras import Penalty

        penalties = [Penalty(t) for t in parse_regularization("+".join(specs)).terms]
        kernel = _added([kernel, *penalties] if kernel is not None else penalties)
    return kernel, _keras_regularizer(keras, strength["bias", "l1"], strength["bias", "l2"])


def _added(regularizers: Sequence[Any]) -> Any:
    """One regularizer that adds several (a layer takes one per weight)."""
    if len(regularizers) == 1:
        return regularizers[0]

    def added(w: Any) -> Any:
        total = regularizers[0](w)
        for regularizer in regularizers[1:]:
            total = total + regularizer(w)
        return total

    return added


def _keras_optimizer(keras: ModuleType, opt_call: Call | None, lr: float) -> Any:
    if opt_call is None:
        return keras.optimizers.SGD(learning_rate=lr)
    optimizer = getattr(keras.optimizers, opt_call.name)(**_args(opt_call, lr))
    if opt_call.arg("weight_decay") and opt_call.arg("on") == "kernels":
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


def _keras(calls: Sequence[Call], problem: Problem, lr: float) -> list[Weights]:
    keras = _keras_module()
    kernel_reg, bias_reg = _keras_regularizers(keras, calls)
    n_in = problem.init["0.weight"].shape[1]
    layers = []
    for i in range(problem.layers):
        w = np.array(problem.init[f"{i}.weight"], np.float32)
        activation = "tanh" if i < problem.layers - 1 else None
        layers.append(
            keras.layers.Dense(
                w.shape[0],
                activation=activation,
                kernel_regularizer=kernel_reg,
                bias_regularizer=bias_reg,
            )
        )
    model = keras.Sequential([keras.Input((n_in,)), *layers])
    for i, layer in enumerate(layers):
        layer.kernel.assign(np.array(problem.init[f"{i}.weight"], np.float32).T)
        layer.bias.assign(np.array(problem.init[f"{i}.bias"], np.float32))
    opt_call = _optimizer(calls)
    optimizer = _keras_optimizer(keras, opt_call, lr)
    base_lr = lr if opt_call is None else _args(opt_call, lr)["learning_rate"]
    base_wd = optimizer.weight_decay
    loss: Any = "mse"
    if problem.loss == "cross_entropy":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    uncorrected = any(c.name == "no_bias_correction" for c in calls)
    # Each backend's default, as fit runs it: a tf.function (TensorFlow), jax.jit (JAX),
    # eager (torch).  The per-step weight_decay below is a Python number, which a traced
    # step keeps at the value it was traced with, so that recipe runs eagerly.
    eager = uncorrected and bool(base_wd)
    model.compile(optimizer=optimizer, loss=loss, jit_compile="auto", run_eagerly=eager)
    callback = _keras_rules(model, calls)

    def weights() -> Weights:
        out: Weights = {}
        for i, layer in enumerate(layers):
            out[f"{i}.weight"] = _keras_numpy(keras, layer.kernel).T.copy()
            out[f"{i}.bias"] = _keras_numpy(keras, layer.bias)
        return out

    path = [weights()]
    for step, (x, y) in enumerate(problem.batches, start=1):
        if uncorrected:
            # MLX's uncorrected Adam: Keras' ε̂ already sits on √v; scale lr, unscale decay.
            c, _ = _uncorrection(opt_call, lr, step)
            optimizer.learning_rate = base_lr * c
            if base_wd:
                optimizer.weight_decay = base_wd / c
        if callback is not None:
            callback.on_train_batch_begin(step - 1)
        model.train_on_batch(x, y)
        if callback is not None:
            callback.on_train_batch_end(step - 1)
        path.append(weights())
    return path


def _keras_rules(model: Any, calls: Sequence[Call]) -> Any:
    """weightlab's ``WeightRules.from_spec`` callback for the setting's steps, started as
    ``fit`` starts it (None without steps)."""
    specs = [c.arg("spec") for c in calls if c.name == "weightlab_rules"]
    if not specs:
        return None
    from weightlab.interop.keras import WeightRules

    callback = WeightRules.from_spec("+".join(specs))
    callback.set_model(model)
    callback.on_train_begin()
    return callback


# ---------------------------------------------------------------------------
# MLX


def _mlx(calls: Sequence[Call], problem: Problem, lr: float) -> list[Weights]:
    mx = require("mlx.core", "mlx", "MLX trajectories")
    mnn = require("mlx.nn", "mlx", "MLX trajectories")
    optim = require("mlx.optimizers", "mlx", "MLX trajectories")
    linears = []
    for i in range(problem.layers):
        w = np.array(problem.init[f"{i}.weight"], np.float32)
        layer = mnn.Linear(w.shape[1], w.shape[0])
        layer.weight = mx.array(w)
        layer.bias = mx.array(np.array(problem.init[f"{i}.bias"], np.float32))
        linears.append(layer)
    parts: list[Any] = []
    for i, layer in enumerate(linears):
        parts.append(layer)
        if i < len(linears) - 1:
            parts.append(mnn.Tanh())
    model = mnn.Sequential(*parts)
    opt_call = _optimizer(calls)
    if opt_call is None:
        optimizer = optim.SGD(learning_rate=lr)
    else:
        optimizer = getattr(optim, opt_call.name)(**_args(opt_call, lr))
    specs = [c.arg("spec") for c in calls if c.name == "weightlab_rules"]
    if specs:
        from weightlab.interop.mlx import RegularizedOptimizer as MLXRegularizedOptimizer

        optimizer = MLXRegularizedOptimizer(optimizer, "+".join(specs))
    own_penalties = _mlx_penalties(calls)
    penalties = [
        (mx.abs if c.name == "penalty_l1" else mx.square, c.arg("strength"), c.arg("on"))
        for c in calls
        if c.name in ("penalty_l1", "penalty_l2")
    ]
    decays = [(c.arg("rate"), c.arg("on")) for c in calls if c.name == "decoupled_decay"]

    def loss_fn(x: Any, y: Any) -> Any:
        out = model(x)
        if problem.loss == "cross_entropy":
            loss = mnn.losses.cross_entropy(out, y, reduction="mean")
        else:
            loss = mnn.losses.mse_loss(out, y, reduction="mean")
        for op, s, on in penalties:
            for layer in linears:
                loss = loss + s * mx.sum(op(layer.weight))
                if on == "all":
                    loss = loss + s * mx.sum(op(layer.bias))
        for fn in own_penalties:
            loss = loss + fn(model)
        return loss

    value_and_grad = mnn.value_and_grad(model, loss_fn)

    def weights() -> Weights:
        out: Weights = {}
        for i, layer in enumerate(linears):
            out[f"{i}.weight"] = np.array(layer.weight)
            out[f"{i}.bias"] = np.array(layer.bias)
        return out

    path = [weights()]
    for x, y in problem.batches:
        _, grads = value_and_grad(mx.array(x), mx.array(y))
        for rate, on in decays:
            shrink = 1 - optimizer.learning_rate * rate
            for layer in linears:
                layer.weight = layer.weight * shrink
                if on == "all":
                    layer.bias = layer.bias * shrink
        optimizer.update(model, grads)
        mx.eval(model.parameters(), optimizer.state)
        path.append(weights())
    return path


def _mlx_penalties(calls: Sequence[Call]) -> list[Callable[[Any], Any]]:
    """weightlab's ``penalty`` for each term of the setting's ``weightlab_penalty`` rows
    (each takes the model and sums over its weights)."""
    specs = [c.arg("spec") for c in calls if c.name == "weightlab_penalty"]
    if not specs:
        return []
    from weightlab.interop.mlx import penalty

    return [penalty(t) for t in parse_regularization("+".join(specs)).terms]


_TRAINERS: dict[str, Callable[[Sequence[Call], Problem, float], list[Weights]]] = {
    "torch": _torch,
    "keras": _keras,
    "mlx": _mlx,
    "weightlab": _torch,  # weightlab is torch with the registry's terms
}


# ---------------------------------------------------------------------------
# Dropout.


def apply_dropout(setting: str, x: np.ndarray, *, training: bool, seed: int = 0) -> np.ndarray:
    """A dropout setting's layer, built by its own framework, applied to ``x``.

    ``Dropout`` is the framework's layer and ``weightlab_dropout`` weightlab's adapter
    layer for the framework (``weightlab.regularize.Dropout``, ``weightlab.keras.Dropout``,
    ``weightlab.mlx.Dropout``); a weightlab term runs its registered layer arithmetic
    (:meth:`weightlab.regularize.Term.layer`).  ``seed`` seeds the mask (torch through a
    generator or a forked RNG, Keras and weightlab's MLX layer through their seeds);
    ``mlx.nn.Dropout`` takes no key and draws from MLX's global generator.

    Example:
        >>> out = apply_dropout("weightlab:dropout(0.5, mode=classic)", np.ones(4), training=False)
        >>> out.tolist()
        [0.5, 0.5, 0.5, 0.5]
    """
    (call,) = parse_setting(setting, "apply_dropout", "setting")
    if call.component.kind != "dropout":
        raise fail("apply_dropout", "setting", "a dropout setting", setting)
    args = dict(call.args)
    x = np.asarray(x, np.float32)
    if call.framework in ("torch", "weightlab"):
        return _torch_dropout(call, torch.from_numpy(x), training, seed)
    if call.framework == "keras":
        keras = _keras_module()
        if call.name == "Dropout":
            layer = keras.layers.Dropout(args["rate"], seed=seed)
        else:
            from weightlab.interop.keras import Dropout as KerasDropout

            layer = KerasDropout(args["rate"], args["mode"], seed=seed)
        return _keras_numpy(keras, layer(keras.ops.convert_to_tensor(x), training=training))
    mx = require("mlx.core", "mlx", "MLX dropout")
    if call.name == "Dropout":
        layer = require("mlx.nn", "mlx", "MLX dropout").Dropout(args["p"])
    else:
        from weightlab.interop.mlx import Dropout as MLXDropout

        layer = MLXDropout(args["p"], args["mode"], seed=seed)
    layer.train(training)
    return np.array(layer(mx.array(x)))


def _torch_dropout(call: Call, x: torch.Tensor, training: bool, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    args = dict(call.args)
    if call.framework == "weightlab":
        term = make_term(call.name, **args)
        p, _ = term.entry.canonical(args).dropout or (0.0, "inverted")
        keep = (torch.rand(x.shape, generator=gen) >= p).to(x.dtype) if training else None
        out = term.layer(TORCH, x, keep, training)
    elif call.name == "Dropout":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = nn.Dropout(args["p"]).train(training)(x)
    else:
        out = Dropout(args["p"], args["mode"], gen).train(training)(x)
    return np.array(out.detach().numpy())


# ---------------------------------------------------------------------------
# Initializers.


def draw_init(setting: str, shape: tuple[int, int], *, seed: int = 0) -> np.ndarray:
    """One draw of an initializer setting by its own framework, in torch's ``[out, in]``
    layout (Keras draws ``[in, out]`` and the result is transposed).

    Layer defaults (``torch:Linear()``, ``keras:Dense()``, ``mlx:Linear()``) build the
    layer and return its weight.  ``seed`` seeds torch (through a generator, or a forked
    RNG for ``Linear``) and Keras initializers; MLX initializers take no key and draw
    from MLX's global generator, and ``keras:Dense()`` from Keras' global seed state.

    Example:
        >>> float(draw_init("torch:xavier_normal_()", (300, 200)).std()) > 0.05
        True
    """
    calls = parse_setting(setting, "draw_init", "setting")
    call = calls[0]
    if call.component.kind != "init":
        raise fail("draw_init", "setting", "an initializer setting", setting)
    out_f, in_f = shape
    args = dict(call.args)
    if call.framework in ("torch", "weightlab"):
        gen = torch.Generator().manual_seed(seed)
        if call.name == "Linear":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return np.array(nn.Linear(in_f, out_f).weight.detach().numpy())
        if call.framework == "weightlab":
            tensor = REGISTRY[call.name].fn(torch.empty(shape), **args, generator=gen)
        else:
            tensor = getattr(torch.nn.init, call.name)(torch.empty(shape), **args, generator=gen)
        return np.array(tensor.detach().numpy())
    if call.framework == "keras":
        keras = _keras_module()
        if call.name == "Dense":
            layer = keras.layers.Dense(out_f)
            layer.build((None, in_f))
            return np.array(_keras_numpy(keras, layer.kernel).T)
        init = getattr(keras.initializers, call.name)(**args, seed=seed)
        return np.array(_keras_numpy(keras, init((in_f, out_f))).T)
    mx = require("mlx.core", "mlx", "MLX initializers")
    mnn = require("mlx.nn", "mlx", "MLX initializers")
    if call.name == "Linear":
        return np.array(mnn.Linear(in_f, out_f).weight)
    if call.name == "variance_scaling":
        return _mlx_variance_scaling(mx, shape, args)
    return np.array(getattr(mnn.init, call.name)()(mx.zeros(shape), **args))


def _mlx_variance_scaling(
    mx: ModuleType, shape: tuple[int, int], args: Mapping[str, Any]
) -> np.ndarray:
    fan_out, fan_in = shape
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[args["mode"]]
    std = math.sqrt(args["scale"] / n)
    if args["distribution"] == "truncated_normal":
        return np.array(std / TRUNC_STD * mx.random.truncated_normal(-2.0, 2.0, shape))
    if args["distribution"] == "uniform":
        bound = math.sqrt(3.0) * std
        return np.array(mx.random.uniform(-bound, bound, shape))
    return np.array(std * mx.random.normal(shape))


if __name__ == "__main__":  # the child process of trajectory(..., keras_backend=...)
    _child_main(*sys.argv[1:3])
