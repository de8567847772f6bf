"""Train many runs of one architecture at once, as stacked tensors.

A sweep is mostly small runs of the same network.  Trained one at a time, a small model
spends its step in Python and framework overhead; trained together, K models are one
set of batched matrix products.  Layer ``l`` of all K models is a ``[K, out, in]``
weight and a ``[K, out]`` bias, and the forward pass is

    ``h_l = φ(baddbmm(b_l, h_{l−1}, W_lᵀ))``, ``h_0 = x`` of shape ``[K, B, in]``.

When the runs share their minibatch order (``train.data_order: shared``) the first layer
of all K models is one ``[B, in] × [in, K·out]`` product.  The loss is the sum of the K
models' own losses (mean data loss plus penalty), so each slice's gradient is exactly the
gradient its sequential run would see; nothing couples the models (no global gradient
clipping, no shared statistics).  The optimizer step (SGD with momentum/Nesterov, Adam,
AdamW, as ``torch.optim`` computes them) runs on the stacks with per-model learning rates
and weight decays held as ``[K]`` tensors; penalties, decoupled decay, L1 rules and dropout
rates are per model too.

Each run's init is drawn exactly as the sequential engine draws it (same module, same
scheme, same generator seeded with the run's seed), then copied into its slice; its data
order continues from that generator.  Without dropout a stacked run therefore matches its
sequential run up to float rounding; with dropout the masks come from one generator for
the bucket, so the two agree in distribution only.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from weightlab.activations import ACTIVATION_FNS
from weightlab.data import Dataset
from weightlab.init import init_module, resolve
from weightlab.models import build_model
from weightlab.regularize import (
    STACKED,
    Regularization,
    Term,
    TermEntry,
    parse_regularization,
    select_params,
)
from weightlab.regularize.dropout import keep_mask
from weightlab.train.config import RunConfig
from weightlab.train.loop import (
    RunOutput,
    data_order_generator,
    diagnose_step,
    finalize,
    init_batch,
    weight_histograms,
)
from weightlab.train.trainer import EVAL_CHUNK, SMALL, cosine_factor, metric_row

__all__ = ["STACKABLE_ARCHS", "bucket_key", "stack_problem", "train_stacked"]

STACKABLE_ARCHS = ("mlp", "linear", "logistic")


def stack_problem(config: RunConfig) -> str | None:
    """Why ``config`` cannot train in a stack, or None when it can, exactly as alone.

    Only networks of Linear layers and elementwise activations stack: a CNN or a user's
    module (which may hold BatchNorm running statistics or anything else) trains
    sequentially, and so does a run with a regularization term whose registry entry says
    it cannot (:attr:`weightlab.regularize.TermEntry.stack_problem`).
    """
    arch = config.model["arch"]
    if arch not in STACKABLE_ARCHS:
        return f"arch {arch!r} is not one of {', '.join(STACKABLE_ARCHS)}"
    if config.train.get("resample", "none") != "none":
        return "each run trains on its own resample of the training data"
    return parse_regularization(config.regularization).stack_problem()


def bucket_key(config: RunConfig) -> str | None:
    """Runs with the same key can train together: same dataset, architecture, training
    settings (steps, batch size, schedule, evaluation, data order) and optimizer type and
    hyper-parameters other than the learning rate and weight decay.  None when the run
    cannot be stacked at all (:func:`stack_problem` says why)."""
    if stack_problem(config) is not None:
        return None
    optimizer = {k: v for k, v in config.optimizer.items() if k not in ("lr", "weight_decay")}
    shared = {
        "dataset": config.dataset,
        "model": config.model,
        "optimizer": optimizer,
        "train": config.train,
    }
    return json.dumps(shared, sort_keys=True)


# ---------------------------------------------------------------------------
# What differs between the K models: the registry's terms, grouped.


@dataclass
class _Group:
    """The models that use one term with the same non-numeric parameters (an L1 rule, an
    L2 convention, a dropout mode).  Numeric parameters are ``[K, 1, 1]`` float64 tensors,
    each model's own value (non-members hold the group's first value, so the arithmetic
    stays finite; their results are not used)."""

    entry: TermEntry
    static: dict[str, Any]
    numeric: dict[str, Tensor]
    members: Tensor | None  # [K] bool; None when every model is a member
    reads_prev: bool

    def params(self) -> dict[str, Any]:
        return {**self.static, **self.numeric}

    def pick(self, new: Tensor, old: Tensor) -> Tensor:
        """``new`` for the members, ``old`` for the others."""
        if self.members is None:
            return new
        return torch.where(_per_model(self.members, new).bool(), new, old)


def _groups(regs: Sequence[Regularization], kind: str, device: torch.device) -> list[_Group]:
    """Every (term, non-numeric parameters) some model uses actively as ``kind``, in the
    order the sequential engine applies them (registration order; rules by stage)."""
    found: dict[tuple[str, tuple[tuple[str, Any], ...]], list[tuple[int, Term]]] = {}
    for k, reg in enumerate(regs):
        for term in reg.of_kind(kind):
            numeric = {p.name for p in term.entry.params if p.numeric}
            static = tuple((n, v) for n, v in term.params if n not in numeric)
            found.setdefault((term.name, static), []).append((k, term))
    groups = [_group(members, len(regs), device) for members in found.values()]
    return sorted(groups, key=lambda g: g.entry.stage) if kind == "rule" else groups


def _group(members: list[tuple[int, Term]], k: int, device: torch.device) -> _Group:
    first = members[0][1]
    entry = first.entry
    numeric_names = [p.name for p in entry.params if p.numeric]
    values = {name: [float(first.kwargs()[name])] * k for name in numeric_names}
    for index, term in members:
        for name in numeric_names:
            values[name][index] = float(term.kwargs()[name])
    # Float64 like the Python floats the sequential engine computes with; each product is
    # rounded to the weights' dtype once, where it is used (ArrayOps.coef).
    numeric = {
        name: torch.tensor(v, dtype=torch.float64, device=device).reshape(k, 1, 1)
        for name, v in values.items()
    }
    mask = torch.zeros(k, dtype=torch.bool)
    mask[[index for index, _ in members]] = True
    return _Group(
        entry,
        {n: v for n, v in first.params if n not in numeric_names},
        numeric,
        None if bool(mask.all()) else mask.to(device),
        any(term.reads_prev for _, term in members),
    )


@dataclass
class _Settings:
    """The K models' optimizer settings ([K] tensors) and their regularization, grouped."""

    lr: Tensor
    weight_decay: Tensor
    regs: list[Regularization]
    penalties: list[_Group]
    rules: list[_Group]
    layers: list[_Group]
    drop_gens: list[torch.Generator | None]  # each model's own dropout generator
    drop_p: Tensor  # [K, 1, 1]: each model's dropout probability (0 without dropout)

    @property
    def needs_prev(self) -> bool:
        """Whether a rule reads the weights from before the optimizer's step."""
        return any(g.reads_prev for g in self.rules)


def _settings(configs: Sequence[RunConfig], device: torch.device) -> _Settings:
    regs = [parse_regularization(c.regularization) for c in configs]
    hyper = [
        (float(c.optimizer["lr"]), float(c.optimizer.get("weight_decay", 0.0))) for c in configs
    ]
    cols = torch.tensor(hyper, dtype=torch.float64, device=device).T
    drop = [reg.dropout[0] for reg in regs]
    gens = [
        torch.Generator(device).manual_seed(int(c.seed) + 1) if p > 0 else None
        for c, p in zip(configs, drop, strict=True)
    ]
    return _Settings(
        lr=cols[0],
        weight_decay=cols[1],
        regs=regs,
        penalties=_groups(regs, "penalty", device),
        rules=_groups(regs, "rule", device),
        layers=_groups(regs, "layer", device),
        drop_gens=gens,
        drop_p=torch.tensor(drop, dtype=torch.float32, device=device).reshape(-1, 1, 1),
    )


def _per_model(values: Tensor, like: Tensor) -> Tensor:
    """``values`` [K] (or [K, 1, 1]) shaped to broadcast against ``like`` [K, ...]."""
    return values.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


# ---------------------------------------------------------------------------
# The stacked network.


@dataclass
class _Stack:
    """K MLPs' parameters: ``weights[l]`` is [K, in, out] (each model's torch weight,
    transposed, so every product is a plain batched product), ``biases[l]`` is [K, out]."""

    weights: list[Tensor]
    biases: list[Tensor]
    names: list[list[str]]  # each model's weight names in its module ("0.weight", ...)
    activation: str

    def params(self) -> list[Tensor]:
        return [*self.weights, *self.biases]


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _build_one(config: RunConfig, data: Dataset, reg: Regularization) -> nn.Module:
    p, mode = reg.dropout
    return build_model(config.model, data.input_shape, data.n_outputs, dropout=p, dropout_mode=mode)


def _init_models(
    configs: Sequence[RunConfig], data: Dataset, settings: _Settings
) -> tuple[list[nn.Module], list[torch.Generator]]:
    """Each run's module initialized exactly as :func:`train_run` does, and the generator
    its data order continues from."""
    models, order_gens = [], []
    batch = init_batch(data)
    for config, reg in zip(configs, settings.regs, strict=True):
        gen = torch.Generator().manual_seed(config.seed)
        model = _build_one(config, data, reg)
        init_module(model, resolve(config.init), generator=gen, data=batch)
        models.append(model)
        order_gens.append(data_order_generator(config, gen))
    return models, order_gens


def _stack(models: Sequence[nn.Module], activation: str, device: torch.device) -> _Stack:
    layers = [_linears(m) for m in models]
    # Dropout modules shift the layer indices, so each model has its own names.
    weight_names = [[name for name, _ in select_params(m)] for m in models]
    depth = len(layers[0])
    weights = [
        torch.stack([ls[i].weight.detach().T for ls in layers])
        .contiguous()
        .to(device)
        .requires_grad_()
        for i in range(depth)
    ]
    biases = [
        torch.stack([ls[i].bias.detach() for ls in layers]).to(device).requires_grad_()
        for i in range(depth)
    ]
    return _Stack(weights, biases, weight_names, activation)


def _unstack(stack: _Stack, k: int, template: nn.Module) -> nn.Module:
    """Model ``k`` as a module (for diagnostics and feature selection)."""
    with torch.no_grad():
        for layer, w, b in zip(_linears(template), stack.weights, stack.biases, strict=True):
            layer.weight.copy_(w[k].T)
            layer.bias.copy_(b[k])
    return template


def _first_layer(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Layer 1 of all K models: ``x`` is [B, in] (shared order: one big product) or
    [K, B, in] (each model's own batch: a batched product)."""
    if x.dim() == 2:
        k, inp, out = w.shape
        h = (x @ w.permute(1, 0, 2).reshape(inp, k * out)).reshape(x.shape[0], k, out)
        h = h.transpose(0, 1)
        return h + b.unsqueeze(1)
    return torch.baddbmm(b.unsqueeze(1), x, w)


def _forward(
    stack: _Stack,
    x: Tensor,
    settings: _Settings,
    training: bool,
) -> Tensor:
    """Logits [K, B, outputs] for inputs ``x`` ([B, in] shared or [K, B, in])."""
    act = ACTIVATION_FNS[stack.activation]
    last = len(stack.weights) - 1
    h = _first_layer(x, stack.weights[0], stack.biases[0])
    for i in range(1, last + 1):
        h = _layers(act(h), settings, training)
        h = torch.baddbmm(stack.biases[i].unsqueeze(1), h, stack.weights[i])
    return h


def _layers(h: Tensor, settings: _Settings, training: bool) -> Tensor:
    """The layer terms (dropout) after a hidden activation, each model with its own
    parameters and, in training, its own mask drawn from its own generator exactly as
    its sequential run draws it (:func:`weightlab.regularize.dropout.keep_mask`)."""
    if not settings.layers:
        return h
    keep = None
    if training:
        keep = torch.ones_like(h, dtype=torch.bool)
        for k, gen in enumerate(settings.drop_gens):
            if gen is not None:
                keep[k] = keep_mask(h[k], settings.drop_p[k], gen)
    for group in settings.layers:
        new = group.entry.layer(STACKED, h, keep, training, **group.params())  # type: ignore[misc]
        h = group.pick(new, h)
    return h


def _per_model_loss(logits: Tensor, y: Tensor, task: str) -> Tensor:
    """Each model's mean loss, [K]; ``y`` is [B] (shared) or [K, B]."""
    k, b = logits.shape[:2]
    if y.dim() == (1 if task == "classification" else logits.dim() - 2) or y.shape[0] != k:
        y = y.expand(k, *y.shape)
    if task == "classification":
        flat = F.cross_entropy(logits.reshape(k * b, -1), y.reshape(-1), reduction="none")
        return flat.reshape(k, b).mean(dim=1)
    out = logits.reshape(y.shape)
    return (out - y).square().reshape(k, -1).mean(dim=1)


def _penalty(stack: _Stack, settings: _Settings) -> Tensor | None:
    """Each model's loss terms over its weights, [K], added in the order the sequential
    engine adds them."""
    total: Tensor | None = None
    for group in settings.penalties:
        value = group.entry.penalty(STACKED, stack.weights, **group.params())  # type: ignore[misc]
        value = value.reshape(-1)
        if group.members is not None:
            value = torch.where(group.members, value, 0.0)
        total = value if total is None else total + value
    return total


# ---------------------------------------------------------------------------
# The optimizer step on stacks (torch.optim's arithmetic, per-model lr and decay).


@dataclass
class _OptState:
    decay: bool  # any model with the optimizer's own weight decay
    step: int = 0
    buffers: dict[int, list[Tensor]] = field(default_factory=dict)


def _optimizer_step(
    params: Sequence[Tensor],
    spec: Mapping[str, Any],
    lr: Tensor,
    settings: _Settings,
    state: _OptState,
) -> None:
    """One step of ``spec['name']`` (sgd, adam, adamw) on every stacked parameter, as
    :mod:`torch.optim` computes it: SGD ``g ← ∇ + λw``, momentum ``m ← μm + g`` (first
    step ``m = g``), Nesterov ``g + μm``; Adam (Kingma & Ba 2015) with bias correction and
    coupled ``λw``; AdamW ``w ← w(1 − lr·λ)`` first (Loshchilov & Hutter 2019)."""
    state.step += 1
    name = spec["name"]
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            if name == "sgd":
                _sgd(p, g, i, lr, settings.weight_decay, spec, state)
            else:
                _adam(p, g, i, lr, settings.weight_decay, spec, state, decoupled=name == "adamw")


def _sgd(
    p: Tensor, g: Tensor, i: int, lr: Tensor, wd: Tensor, spec: Mapping[str, Any], s: _OptState
) -> None:
    if s.decay:
        g = torch.addcmul(g, _per_model(wd, p), p)  # g + λw, rounded as torch's add(alpha=λ)
    momentum = float(spec["momentum"])
    if momentum != 0.0:
        if i not in s.buffers:
            s.buffers[i] = [g.clone()]
        else:
            s.buffers[i][0].mul_(momentum).add_(g)
        buf = s.buffers[i][0]
        g = g + momentum * buf if spec["nesterov"] else buf
    p.sub_(_per_model(lr, p) * g)


def _adam(
    p: Tensor,
    g: Tensor,
    i: int,
    lr: Tensor,
    wd: Tensor,
    spec: Mapping[str, Any],
    s: _OptState,
    *,
    decoupled: bool,
) -> None:
    b1, b2 = float(spec["betas"][0]), float(spec["betas"][1])
    if s.decay:
        if decoupled:
            p.mul_(_per_model(1.0 - lr * wd, p))
        else:
            g = torch.addcmul(g, _per_model(wd, p), p)
    if i not in s.buffers:
        s.buffers[i] = [torch.zeros_like(p), torch.zeros_like(p)]
    m, v = s.buffers[i]
    m.lerp_(g, 1.0 - b1)
    v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
    bias1 = 1.0 - b1**s.step
    bias2_sqrt = math.sqrt(1.0 - b2**s.step)
    denom = v.sqrt().div_(bias2_sqrt).add_(float(spec.get("eps", 1e-8)))
    p.addcdiv_(m * _per_model(-lr / bias1, p), denom)


def _apply_rules(
    stack: _Stack, prev: Sequence[Tensor] | None, lr: Tensor, settings: _Settings
) -> None:
    """Each model's update rules on its weights, in stage order (as
    :meth:`weightlab.regularize.Regularization.rule` chains them)."""
    rate = lr.reshape(-1, 1, 1)
    with torch.no_grad():
        for i, w in enumerate(stack.weights):
            before = w if prev is None else prev[i]  # no rule here reads it when None
            proposed = w
            for group in settings.rules:
                new = group.entry.rule(STACKED, before, proposed, rate, **group.params())  # type: ignore[misc]
                proposed = group.pick(new, proposed)
            w.copy_(proposed)


# ---------------------------------------------------------------------------
# Evaluation and the recorded metrics.


@torch.no_grad()
def _evaluate(
    stack: _Stack, settings: _Settings, x: Tensor, y: Tensor, task: str
) -> tuple[Tensor, Tensor]:
    """Each model's mean loss and accuracy (or MSE) over a split, [K] each."""
    k = stack.weights[0].shape[0]
    total = torch.zeros(k, dtype=torch.float64, device=x.device)
    score = torch.zeros(k, dtype=torch.float64, device=x.device)
    for start in range(0, len(x), EVAL_CHUNK):
        xx, yy = x[start : start + EVAL_CHUNK], y[start : start + EVAL_CHUNK]
        out = _forward(stack, xx.reshape(len(xx), -1), settings, False)
        n = len(yy)
        total += _per_model_loss(out, yy, task).double() * n
        if task == "classification":
            score += (out.argmax(dim=2) == yy).double().sum(dim=1)
        else:
            score += _per_model_loss(out, yy, task).double() * n
    return total / len(x), score / len(x)


@torch.no_grad()
def _weight_stats(stack: _Stack) -> dict[str, Tensor]:
    """Per-model norms, exact-zero fractions and overall sparsity of the weights, [K]."""
    stats: dict[str, Tensor] = {}
    k = stack.weights[0].shape[0]
    zeros = torch.zeros(k, dtype=torch.float64, device=stack.weights[0].device)
    small = torch.zeros_like(zeros)
    count = 0
    for layer, w in enumerate(stack.weights):
        flat = w.reshape(w.shape[0], -1)
        is_zero = (flat == 0).double()
        stats[f"norm/{layer}"] = flat.norm(dim=1)
        stats[f"zeros/{layer}"] = is_zero.mean(dim=1)
        zeros = zeros + is_zero.sum(dim=1)
        small = small + (flat.abs() < SMALL).double().sum(dim=1)
        count += flat.shape[1]
    stats["sparsity_zero"] = zeros / count
    stats["sparsity_small"] = small / count
    return stats


# ---------------------------------------------------------------------------
# The engine.


def _check_bucket(configs: Sequence[RunConfig]) -> None:
    keys = {bucket_key(c) for c in configs}
    if None in keys or len(keys) != 1:
        problems = [p for p in (stack_problem(c) for c in configs) if p is not None]
        reason = (
            problems[0]
            if problems
            else "the runs differ in more than their init, regularization, learning rate, "
            "weight decay and seed"
        )
        raise ValueError(f"these runs cannot train as one stack: {reason}")


def train_stacked(
    configs: Sequence[RunConfig],
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    on_step: Callable[[int, Mapping[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[RunOutput]:
    """Train every run of one bucket (see :func:`bucket_key`) together; one
    :class:`RunOutput` per config, in order, with the same metrics, histograms and
    diagnostics :func:`weightlab.train.train_run` records.

    ``on_step(step, {"val_loss": mean over live models})`` follows each evaluation;
    ``should_stop()`` is asked before every step and stops with ``KeyboardInterrupt``.
    """
    _check_bucket(configs)
    start_time = time.perf_counter()
    device = torch.device(device)
    first = configs[0]
    settings = _settings(configs, device)
    models, order_gens = _init_models(configs, data, settings)
    stack = _stack(models, str(first.model.get("activation", "linear")), device)
    run = _StackedRun(configs, data, device, stack, settings, models)
    run.train(order_gens, on_step, should_stop)
    seconds = (time.perf_counter() - start_time) / len(configs)
    for out in run.outputs:
        out.seconds = seconds
    return run.outputs


class _StackedRun:
    """The state of one stacked training: data, parameters, per-model records."""

    def __init__(
        self,
        configs: Sequence[RunConfig],
        data: Dataset,
        device: torch.device,
        stack: _Stack,
        settings: _Settings,
        models: list[nn.Module],
    ) -> None:
        self.configs, self.data, self.device = configs, data, device
        self.stack, self.settings, self.models = stack, settings, models
        self.k = len(configs)
        train = configs[0].train
        self.steps = int(train["steps"])
        self.batch = int(train["batch_size"])
        self.eval_every = int(train["eval_every"])
        self.hist_steps = {0, self.steps, *(int(s) for s in train["histogram_steps"])}
        self.diagnose = bool(train["diagnose"])
        self.shared = train.get("data_order", "per_model") == "shared"
        self.schedule = str(train["schedule"])
        self.x_train = data.x_train.to(device).reshape(len(data.x_train), -1)
        self.y_train = data.y_train.to(device)
        self.x_val = data.x_val.to(device)
        self.y_val = data.y_val.to(device)
        self.outputs = [RunOutput(status="done") for _ in configs]
        self.last: list[dict[str, float]] = [{} for _ in configs]
        self.alive = torch.ones(self.k, dtype=torch.bool, device=device)
        self.dead_models: dict[int, nn.Module] = {}
        self.steps_done = [self.steps] * self.k

    def lr_at(self, step: int) -> Tensor:
        """Each model's learning rate after ``step`` scheduler steps."""
        factor = cosine_factor(self.steps)(step) if self.schedule == "cosine" else 1.0
        return self.settings.lr * factor

    def record(self, step: int) -> None:
        task = self.data.task
        train = _evaluate(self.stack, self.settings, self.x_train, self.y_train, task)
        val = _evaluate(self.stack, self.settings, self.x_val, self.y_val, task)
        with torch.no_grad():
            penalty = _penalty(self.stack, self.settings)
        columns = {
            "train_loss": train[0],
            "train_score": train[1],
            "val_loss": val[0],
            "val_score": val[1],
            "penalty": penalty if penalty is not None else torch.zeros(self.k),
            **_weight_stats(self.stack),
        }
        values = {name: value.double().cpu().tolist() for name, value in columns.items()}
        live = self.alive.cpu().tolist()
        factor = cosine_factor(self.steps)(step) if self.schedule == "cosine" else 1.0
        for k in range(self.k):
            if not live[k]:
                continue
            row = metric_row(
                task,
                (values["train_loss"][k], values["train_score"][k]),
                (values["val_loss"][k], values["val_score"][k]),
                values["penalty"][k],
                (values["sparsity_zero"][k], values["sparsity_small"][k]),
                # The learning rate in Python floats, as torch's scheduler computes it.
                float(self.configs[k].optimizer["lr"]) * factor,
                {
                    name: (values[f"norm/{layer}"][k], values[f"zeros/{layer}"][k])
                    for layer, name in enumerate(self.stack.names[k])
                },
            )
            self._keep(k, step, row)

    def _keep(self, k: int, step: int, row: dict[str, float]) -> None:
        out = self.outputs[k]
        out.metrics += [(step, name, value) for name, value in row.items()]
        self.last[k] = row
        named = [(n, w[k]) for n, w in zip(self.stack.names[k], self.stack.weights, strict=True)]
        if step in self.hist_steps:
            out.histograms += weight_histograms(step, named)
        if step in (0, self.steps) and self.diagnose:
            model = _unstack(self.stack, k, self.models[k]).to(self.device)
            summary, hists = diagnose_step(model, self.x_val[:256], step, self.configs[k].seed)
            out.diagnostics.append((step, summary))
            out.histograms += hists

    def batch_data(self, orders: Tensor, cursor: int) -> tuple[Tensor, Tensor]:
        if self.shared:
            idx = orders[0, cursor : cursor + self.batch].to(self.device)
            return self.x_train[idx], self.y_train[idx]
        idx = orders[:, cursor : cursor + self.batch].to(self.device)
        return self.x_train[idx], self.y_train[idx]

    def train(
        self,
        order_gens: list[torch.Generator],
        on_step: Callable[[int, Mapping[str, float]], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        n = len(self.x_train)

        def shuffle() -> Tensor:
            if self.shared:
                return torch.randperm(n, generator=order_gens[0]).unsqueeze(0)
            return torch.stack([torch.randperm(n, generator=g) for g in order_gens])

        self.record(0)
        self._report(0, on_step)
        orders, cursor = shuffle(), 0
        params = self.stack.params()
        state = _OptState(decay=bool((self.settings.weight_decay != 0).any()))
        for step in range(1, self.steps + 1):
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt
            if cursor + self.batch > n:
                orders, cursor = shuffle(), 0
            xb, yb = self.batch_data(orders, cursor)
            cursor += self.batch
            for p in params:
                p.grad = None
            logits = _forward(self.stack, xb, self.settings, True)
            losses = _per_model_loss(logits, yb, self.data.task)
            penalty = _penalty(self.stack, self.settings)
            total = losses + penalty if penalty is not None else losses
            if not self._check_finite(total, step):
                break
            torch.where(self.alive, total, 0.0).sum().backward()  # type: ignore[no-untyped-call]
            lr = self.lr_at(step - 1)
            keep = self.settings.needs_prev
            prev = [w.detach().clone() for w in self.stack.weights] if keep else None
            _optimizer_step(params, self.configs[0].optimizer, lr, self.settings, state)
            if self.settings.rules:
                _apply_rules(self.stack, prev, lr, self.settings)
            if step % self.eval_every == 0 or step == self.steps or step in self.hist_steps:
                self.record(step)
                self._report(step, on_step)
        self._finish()

    def _check_finite(self, total: Tensor, step: int) -> bool:
        """Mark models whose loss became NaN or inf as diverged at ``step`` (their results
        are what the sequential engine keeps: the last evaluation).  False when every
        model has diverged."""
        bad = self.alive & ~torch.isfinite(total.detach())
        if bool(bad.any()):
            for k in torch.nonzero(bad).flatten().tolist():
                self.outputs[k].status = "diverged"
                self.outputs[k].diverged_step = step
                self.steps_done[k] = step
                self.dead_models[k] = _unstack(self.stack, k, self.models[k])
            self.alive &= ~bad
        return bool(self.alive.any())

    def _report(
        self, step: int, on_step: Callable[[int, Mapping[str, float]], None] | None
    ) -> None:
        if on_step is None:
            return
        live = [
            row["val_loss"] for row, ok in zip(self.last, self.alive.tolist(), strict=True) if ok
        ]
        on_step(step, {"val_loss": sum(live) / len(live) if live else float("nan")})

    def _finish(self) -> None:
        for k, out in enumerate(self.outputs):
            model = self.dead_models.get(k) or _unstack(self.stack, k, self.models[k])
            finalize(out, self.last[k], self.data, model, self.steps_done[k], self.configs[k])
