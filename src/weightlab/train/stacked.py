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
from weightlab.regularize import select_params
from weightlab.regularize.penalties import SQUARE_FACTOR
from weightlab.train.config import RunConfig
from weightlab.train.loop import (
    EVAL_CHUNK,
    SMALL,
    RunOutput,
    cosine_factor,
    data_order_generator,
    diagnose_step,
    finalize,
    weight_histograms,
)
from weightlab.train.regularization import Regularization, parse_regularization

__all__ = ["STACKABLE_ARCHS", "bucket_key", "stack_problem", "train_stacked"]

STACKABLE_ARCHS = ("mlp", "linear", "logistic")


def stack_problem(config: RunConfig) -> str | None:
    """Why ``config`` cannot train in a stack, or None when it can.

    Only networks of Linear layers and elementwise activations stack: a CNN, a user's
    module (which may hold BatchNorm running statistics or anything else) train
    sequentially.
    """
    arch = config.model["arch"]
    if arch not in STACKABLE_ARCHS:
        return f"arch {arch!r} is not one of {', '.join(STACKABLE_ARCHS)}"
    return None


def bucket_key(config: RunConfig) -> str | None:
    """Runs with the same key can train together: same dataset, architecture, training
    settings (steps, batch size, schedule, evaluation, data order) and optimizer type and
    hyper-parameters other than the learning rate and weight decay.  None when the run
    cannot be stacked at all."""
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
# Per-model settings as [K] tensors.


@dataclass
class _Settings:
    """What differs between the K models, as [K] tensors on the training device."""

    lr: Tensor
    weight_decay: Tensor
    strength: Tensor  # λ of the loss penalty λ·(r·Σ|w| + q·Σw²)
    abs_coef: Tensor  # r
    sq_coef: Tensor  # q
    decay: Tensor  # decoupled decay rate
    decay_lr_scaled: Tensor  # bool
    l1_step: Tensor  # L1 step strength (update-side rules)
    l1_rule: Tensor  # 0 none, 1 subgradient, 2 clip, 3 proximal
    drop_p: Tensor
    drop_classic: Tensor  # bool
    regs: list[Regularization] = field(default_factory=list)
    rule_codes: tuple[int, ...] = ()  # the L1 rules some model uses
    drop_train_scale: Tensor | None = None  # 1/(1−p) inverted, 1 classic
    drop_eval_scale: Tensor | None = None  # 1 inverted, 1−p classic

    def __post_init__(self) -> None:
        self.rule_codes = tuple(sorted(set(self.l1_rule.tolist()) - {0}))
        one = torch.ones_like(self.drop_p)
        self.drop_train_scale = torch.where(self.drop_classic, one, 1.0 / (1.0 - self.drop_p))
        self.drop_eval_scale = torch.where(self.drop_classic, 1.0 - self.drop_p, one)

    @property
    def needs_prev(self) -> bool:
        """Whether a rule reads the weights from before the optimizer's step (decay,
        subgradient and clip do; soft-thresholding does not)."""
        return bool((self.decay != 0).any()) or any(c in (1, 2) for c in self.rule_codes)

    @property
    def any_penalty(self) -> bool:
        return bool((self.strength != 0).any())

    @property
    def any_rule(self) -> bool:
        return bool((self.decay != 0).any() or (self.l1_rule != 0).any())

    @property
    def any_dropout(self) -> bool:
        return bool((self.drop_p > 0).any())


_RULE_CODES = {"subgradient": 1, "clip": 2, "proximal": 3}


def _loss_coefficients(reg: Regularization) -> tuple[float, float, float]:
    """``(λ, r, q)`` with the run's loss penalty ``λ·(r·Σ|w| + q·Σw²)``, factored as
    :func:`weightlab.regularize.elastic_net` computes it (so gradients round alike).
    :func:`weightlab.train.parse_regularization` allows one loss penalty per run."""
    for name, ratio in (("l1", 1.0), ("l2", 0.0), ("elastic_net", None)):
        p = reg.params(name)
        if p is None or (name == "l1" and p["rule"] != "penalty"):
            continue
        r = float(p["l1_ratio"]) if ratio is None else ratio
        c = SQUARE_FACTOR[str(p.get("convention", "half_sum_sq"))]
        return float(p["strength"]), r, (1.0 - r) * c
    return 0.0, 0.0, 0.0


def _settings(configs: Sequence[RunConfig], device: torch.device) -> _Settings:
    rows: list[list[float]] = []
    regs = []
    for config in configs:
        reg = parse_regularization(config.regularization)
        regs.append(reg)
        strength, r, q = _loss_coefficients(reg)
        decay = reg.params("decoupled_decay") or {"rate": 0.0, "lr_scaled": True}
        l1 = reg.params("l1")
        step = l1 is not None and l1["rule"] != "penalty" and float(l1["strength"]) > 0
        p, mode = reg.dropout
        rows.append(
            [
                float(config.optimizer["lr"]),
                float(config.optimizer["weight_decay"]),
                strength,
                r,
                q,
                float(decay["rate"]),
                float(bool(decay["lr_scaled"])),
                float(l1["strength"]) if step and l1 is not None else 0.0,
                float(_RULE_CODES[str(l1["rule"])]) if step and l1 is not None else 0.0,
                p,
                float(mode == "classic"),
            ]
        )
    # Float64 like the Python floats torch.optim computes its step sizes with; each
    # product is rounded to the weights' dtype once, where it is used.
    cols = torch.tensor(rows, dtype=torch.float64, device=device).T
    return _Settings(
        lr=cols[0],
        weight_decay=cols[1],
        strength=cols[2].float(),
        abs_coef=cols[3].float(),
        sq_coef=cols[4].float(),
        decay=cols[5],
        decay_lr_scaled=cols[6] > 0,
        l1_step=cols[7],
        l1_rule=cols[8].round().long(),
        drop_p=cols[9].float(),
        drop_classic=cols[10] > 0,
        regs=regs,
    )


def _per_model(values: Tensor, like: Tensor) -> Tensor:
    """``values`` [K] shaped to broadcast against ``like`` [K, ...]."""
    return values.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


# ---------------------------------------------------------------------------
# The stacked network.


@dataclass
class _Stack:
    """K MLPs' parameters: ``weights[l]`` is [K, in, out] (each model's torch weight,
    transposed, so every product is a plain batched product), ``biases[l]`` is [K, out]."""

    weights: list[Tensor]
    biases: list[Tensor]
    names: list[str]  # each weight's name in the sequential module ("0.weight", ...)
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
    for config, reg in zip(configs, settings.regs, strict=True):
        gen = torch.Generator().manual_seed(config.seed)
        model = _build_one(config, data, reg)
        scheme = resolve(config.init)
        init_data = data.x_train[: min(len(data.x_train), 512)] if scheme.data_dependent else None
        init_module(model, scheme, generator=gen, data=init_data)
        models.append(model)
        order_gens.append(data_order_generator(config, gen))
    return models, order_gens


def _stack(models: Sequence[nn.Module], activation: str, device: torch.device) -> _Stack:
    layers = [_linears(m) for m in models]
    weight_names = [name for name, _ in select_params(models[0])]
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
    generator: torch.Generator | None,
) -> Tensor:
    """Logits [K, B, outputs] for inputs ``x`` ([B, in] shared or [K, B, in])."""
    act = ACTIVATION_FNS[stack.activation]
    last = len(stack.weights) - 1
    h = _first_layer(x, stack.weights[0], stack.biases[0])
    for i in range(1, last + 1):
        h = _dropout(act(h), settings, training, generator)
        h = torch.baddbmm(stack.biases[i].unsqueeze(1), h, stack.weights[i])
    return h


def _dropout(
    h: Tensor, settings: _Settings, training: bool, generator: torch.Generator | None
) -> Tensor:
    """Per-model dropout rate p_k.  Inverted: ×mask/(1−p) in training, identity in
    evaluation.  Classic: ×mask in training, ×(1−p) in evaluation (Srivastava et al.
    2014)."""
    if not settings.any_dropout:
        return h
    assert settings.drop_train_scale is not None and settings.drop_eval_scale is not None
    if not training:
        if not bool(settings.drop_classic.any()):
            return h
        return h * _per_model(settings.drop_eval_scale, h)
    p = _per_model(settings.drop_p, h)
    keep = torch.rand(h.shape, generator=generator, device=h.device, dtype=h.dtype) >= p
    return h * keep * _per_model(settings.drop_train_scale, h)


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
    """Each model's loss penalty ``λ_k·Σ_layers(r_k·Σ|w| + q_k·Σw²)``, [K]."""
    if not settings.any_penalty:
        return None
    # A term no model uses is skipped (its coefficient is 0 for every model).
    use_abs, use_sq = bool(settings.abs_coef.any()), bool(settings.sq_coef.any())
    total: Tensor | None = None
    for w in stack.weights:
        flat = w.reshape(w.shape[0], -1)
        parts = []
        if use_abs:
            parts.append(settings.abs_coef * flat.abs().sum(1))
        if use_sq:
            parts.append(settings.sq_coef * flat.square().sum(1))
        term = parts[0] + parts[1] if len(parts) == 2 else parts[0]
        total = term if total is None else total + term
    assert total is not None
    return settings.strength * total


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
    """Decoupled decay, then each model's L1 rule, on the weights (as
    :meth:`weightlab.train.Regularization.rule` chains them)."""
    with torch.no_grad():
        scale = torch.where(settings.decay_lr_scaled, lr * settings.decay, settings.decay)
        threshold = lr * settings.l1_step
        decayed = bool((settings.decay != 0).any())
        for i, w in enumerate(stack.weights):
            before = w if prev is None else prev[i]  # no rule here reads it when None
            proposed = w - _per_model(scale, w) * before if decayed else w
            w.copy_(_l1_rules(before, proposed, _per_model(threshold, w), settings))


def _l1_rules(prev: Tensor, proposed: Tensor, t: Tensor, settings: _Settings) -> Tensor:
    """Each model's L1 rule with threshold ``t = lr·λ`` (see
    :func:`weightlab.regularize.l1_step`): subgradient, clip at a crossing, proximal."""
    out = proposed
    for code in settings.rule_codes:  # only the rules some model uses
        new = _RULE_STEPS[code](prev, proposed, t)
        uses = settings.l1_rule == code
        out = new if bool(uses.all()) else torch.where(_per_model(uses, out).bool(), new, out)
    return out


def _subgradient(prev: Tensor, proposed: Tensor, t: Tensor) -> Tensor:
    return proposed - t * prev.sign()


def _clip(prev: Tensor, proposed: Tensor, t: Tensor) -> Tensor:
    z = _subgradient(prev, proposed, t)
    return z.masked_fill(prev * z < 0, 0.0)


def _proximal(prev: Tensor, proposed: Tensor, t: Tensor) -> Tensor:
    return proposed.sign() * (proposed.abs() - t).clamp_min(0.0)


_RULE_STEPS = {1: _subgradient, 2: _clip, 3: _proximal}


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
        out = _forward(stack, xx.reshape(len(xx), -1), settings, False, None)
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
    for name, w in zip(stack.names, stack.weights, strict=True):
        flat = w.reshape(w.shape[0], -1)
        is_zero = (flat == 0).double()
        stats[f"norm/{name}"] = flat.norm(dim=1)
        stats[f"zeros/{name}"] = is_zero.mean(dim=1)
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
        reason = problems[0] if problems else "the runs differ in more than lr, decay, init, "
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
        self.drop_gen = torch.Generator(device).manual_seed(int(configs[0].seed) + 1)

    def lr_at(self, step: int) -> Tensor:
        """Each model's learning rate after ``step`` scheduler steps."""
        factor = cosine_factor(self.steps)(step) if self.schedule == "cosine" else 1.0
        return self.settings.lr * factor

    def record(self, step: int) -> None:
        task = self.data.task
        train_loss, train_score = _evaluate(
            self.stack, self.settings, self.x_train, self.y_train, task
        )
        val_loss, val_score = _evaluate(self.stack, self.settings, self.x_val, self.y_val, task)
        with torch.no_grad():
            penalty = _penalty(self.stack, self.settings)
        score = "acc" if task == "classification" else "mse"
        columns = {
            "train_loss": train_loss,
            "val_loss": val_loss,
            f"train_{score}": train_score,
            f"val_{score}": val_score,
            "gap": val_loss - train_loss,
            "penalty": penalty if penalty is not None else torch.zeros(self.k),
            **_weight_stats(self.stack),
        }
        order = [*list(columns)[:6], "sparsity_zero", "sparsity_small"]
        values = {name: columns[name].double().cpu().tolist() for name in columns}
        live = self.alive.cpu().tolist()
        factor = cosine_factor(self.steps)(step) if self.schedule == "cosine" else 1.0
        for k in range(self.k):
            if not live[k]:
                continue
            row = {name: float(values[name][k]) for name in order}
            # The learning rate in Python floats, as torch's scheduler computes it.
            row["lr"] = float(self.configs[k].optimizer["lr"]) * factor
            for name in self.stack.names:
                row[f"norm/{name}"] = float(values[f"norm/{name}"][k])
                row[f"zeros/{name}"] = float(values[f"zeros/{name}"][k])
            self._keep(k, step, row)

    def _keep(self, k: int, step: int, row: dict[str, float]) -> None:
        out = self.outputs[k]
        out.metrics += [(step, name, value) for name, value in row.items()]
        self.last[k] = row
        named = [(n, w[k]) for n, w in zip(self.stack.names, self.stack.weights, strict=True)]
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
            logits = _forward(self.stack, xb, self.settings, True, self.drop_gen)
            losses = _per_model_loss(logits, yb, self.data.task)
            penalty = _penalty(self.stack, self.settings)
            total = losses + penalty if penalty is not None else losses
            if not self._check_finite(total, step):
                break
            torch.where(self.alive, total, 0.0).sum().backward()  # type: ignore[no-untyped-call]
            lr = self.lr_at(step - 1)
            keep = self.settings.any_rule and self.settings.needs_prev
            prev = [w.detach().clone() for w in self.stack.weights] if keep else None
            _optimizer_step(params, self.configs[0].optimizer, lr, self.settings, state)
            if self.settings.any_rule:
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
            finalize(out, self.last[k], self.data, model, self.steps_done[k])
