"""Train many runs of one architecture at once, as stacked tensors.

A sweep is mostly small runs of the same network.  Trained one at a time, a small model
spends its step in Python and framework overhead; trained together, K models are one
set of batched matrix products.  Hidden layer ``l`` of all K models is a
``[K, in, out]`` weight and a ``[K, out]`` bias, and the forward pass is

    ``h_l = φ(baddbmm(b_l, h_{l−1}, W_l))``, ``h_0 = x`` of shape ``[K, B, in]``;

the output layer keeps torch's ``[K, out, in]`` layout and computes the logits
transposed, ``[K, out, B] = W·hᵀ + b``: a product with 10 outputs runs several times
faster in that orientation, and the softmax over dimension 1 of ``[K, out, B]`` runs
along contiguous memory.

When the runs share their minibatch order (``train.data_order: shared``) the first layer
of all K models is one ``[B, in] × [in, K·out]`` product.  The loss is the sum of the K
models' own losses (mean data loss plus penalty), so each slice's gradient is exactly the
gradient its sequential run would see; nothing couples the models (no global gradient
clipping, no shared statistics).  The optimizer step (SGD with momentum/Nesterov, Adam,
AdamW, as ``torch.optim`` computes them) runs on the stacks with each model's own
learning rate and weight decay; penalties, decoupled decay, L1 rules and dropout rates
are per model too.

The stack is ordered by learning rate, weight decay and regularization, so the models
that share an optimizer setting, and the members of each regularization term, are a few
contiguous slices: the optimizer is one fused kernel call (``torch._fused_adam_`` and
kin) per slice, and a term's arithmetic runs on its members' slices only.  Results come
back in the configs' order.

Each run's init is drawn exactly as the sequential engine draws it (same module, same
scheme, same generator seeded with the run's seed), then copied into its slice; its data
order continues from that generator, and its dropout masks come from its own generator,
seeded as its sequential run seeds its dropout modules, in the same order.  A stacked
run therefore matches its sequential run up to float rounding.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from weightlab.regularize.dropout import bit_words, fill_bits_, keep_bits, keep_threshold
from weightlab.train.config import RunConfig
from weightlab.train.loop import (
    RunOutput,
    data_order_generator,
    diagnose_step,
    finalize,
    init_batch,
    weight_histograms,
)
from weightlab.train.probes import stacked_probe_metrics
from weightlab.train.trainer import EVAL_CHUNK, SMALL, cosine_factor, metric_row

__all__ = [
    "STACKABLE_ARCHS",
    "bucket_key",
    "optimizer_kernel",
    "stack_problem",
    "train_stacked",
]

STACKABLE_ARCHS = ("mlp", "linear", "logistic")


def stack_problem(config: RunConfig) -> str | None:
    """Why ``config`` cannot train in a stack, or None when it can, exactly as alone.

    Only networks of Linear layers and elementwise activations stack: a CNN or a user's
    module (which may hold BatchNorm running statistics or anything else) trains
    sequentially, and so does a run with a regularization term whose registry entry says
    it cannot (:attr:`weightlab.regularize.TermEntry.stack_problem`), one that trains on
    its own resample, and one that records effective learning rates.
    """
    arch = config.model["arch"]
    if arch not in STACKABLE_ARCHS:
        return f"arch {arch!r} is not one of {', '.join(STACKABLE_ARCHS)}"
    if config.train.get("resample", "none") != "none":
        return "each run trains on its own resample of the training data"
    if config.train.get("effective_lr", False):
        return "effective_lr is recorded by the sequential engine"
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


def _ranges(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted stack positions as runs of consecutive ones: ``[0, 1, 2, 5]`` →
    ``[(0, 3), (5, 6)]``."""
    runs: list[tuple[int, int]] = []
    for k in positions:
        if runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0], k + 1)
        else:
            runs.append((k, k + 1))
    return runs


@dataclass
class _Group:
    """The models that use one term with the same non-numeric parameters (an L1 rule, an
    L2 convention, a dropout mode), as runs of consecutive stack positions.  ``slices``
    holds, for each run ``(a, b)``, the term's parameters for those models: its
    non-numeric ones and each numeric one as a ``[b − a, 1, 1]`` float64 tensor of the
    models' own values."""

    entry: TermEntry
    slices: list[tuple[int, int, dict[str, Any]]]
    reads_prev: bool


def _groups(regs: Sequence[Regularization], kind: str, device: torch.device) -> list[_Group]:
    """Every (term, non-numeric parameters) some model uses actively as ``kind``, in the
    order the sequential engine applies them (registration order; rules by stage)."""
    found: dict[tuple[str, tuple[tuple[str, Any], ...]], list[tuple[int, Term]]] = {}
    for k, reg in enumerate(regs):
        for term in reg.of_kind(kind):
            numeric = {p.name for p in term.entry.params if p.numeric}
            static = tuple((n, v) for n, v in term.params if n not in numeric)
            found.setdefault((term.name, static), []).append((k, term))
    groups = [_group(members, device) for members in found.values()]
    return sorted(groups, key=lambda g: g.entry.stage) if kind == "rule" else groups


def _group(members: list[tuple[int, Term]], device: torch.device) -> _Group:
    entry = members[0][1].entry
    numeric_names = [p.name for p in entry.params if p.numeric]
    static = {n: v for n, v in members[0][1].params if n not in numeric_names}
    by_position = dict(members)
    slices = []
    for a, b in _ranges([k for k, _ in members]):
        # Float64 like the Python floats the sequential engine computes with; each
        # product is rounded to the weights' dtype once, where it is used (ArrayOps.coef).
        numeric = {
            name: torch.tensor(
                [float(by_position[k].kwargs()[name]) for k in range(a, b)],
                dtype=torch.float64,
                device=device,
            ).reshape(-1, 1, 1)
            for name in numeric_names
        }
        slices.append((a, b, {**static, **numeric}))
    return _Group(entry, slices, any(term.reads_prev for _, term in members))


@dataclass
class _Settings:
    """The K models' optimizer settings and their regularization, grouped (all in stack
    order)."""

    lr: list[float]
    weight_decay: list[float]
    regs: list[Regularization]
    penalties: list[_Group]
    rules: list[_Group]
    layers: list[_Group]
    drop_gens: list[torch.Generator | None]  # each model's own dropout generator
    drop_p_values: list[float]  # each model's dropout probability (0 without dropout)

    @property
    def needs_prev(self) -> bool:
        """Whether a rule reads the weights from before the optimizer's step."""
        return any(g.reads_prev for g in self.rules)


def _hyper(config: RunConfig) -> tuple[float, float]:
    return float(config.optimizer["lr"]), float(config.optimizer.get("weight_decay", 0.0))


def _stack_order(configs: Sequence[RunConfig]) -> list[int]:
    """The configs' indices in stack order: by learning rate, weight decay and
    regularization, so that each optimizer setting and each term's members are a few
    contiguous slices (stable, so equal runs keep their order)."""
    keys = [(*_hyper(c), str(parse_regularization(c.regularization))) for c in configs]
    return sorted(range(len(configs)), key=lambda i: keys[i])


def _settings(configs: Sequence[RunConfig], device: torch.device) -> _Settings:
    regs = [parse_regularization(c.regularization) for c in configs]
    hyper = [_hyper(c) for c in configs]
    drop = [reg.dropout[0] for reg in regs]
    gens = [
        torch.Generator(device).manual_seed(int(c.seed) + 1) if p > 0 else None
        for c, p in zip(configs, drop, strict=True)
    ]
    return _Settings(
        lr=[lr for lr, _ in hyper],
        weight_decay=[wd for _, wd in hyper],
        regs=regs,
        penalties=_groups(regs, "penalty", device),
        rules=_groups(regs, "rule", device),
        layers=_groups(regs, "layer", device),
        drop_gens=gens,
        drop_p_values=drop,
    )


# ---------------------------------------------------------------------------
# The stacked network.


@dataclass
class _Stack:
    """K MLPs' parameters: hidden ``weights[l]`` are [K, in, out] (each model's torch
    weight, transposed, so every product is a plain batched product), the output
    layer's is [K, out, in] (torch's layout), ``biases[l]`` are [K, out]."""

    weights: list[Tensor]
    biases: list[Tensor]
    names: list[list[str]]  # each model's weight names in its module ("0.weight", ...)
    activation: str

    def params(self) -> list[Tensor]:
        return [*self.weights, *self.biases]

    def views(self) -> list[Tensor]:
        """Every weight as a [K, in, out] tensor (the output layer's a transposed view):
        the layout the registry's stacked arithmetic reads and writes."""
        return [*self.weights[:-1], self.weights[-1].transpose(1, 2)]


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

    def weight(i: int) -> Tensor:
        ws = [ls[i].weight.detach() for ls in layers]
        stacked = torch.stack(ws if i == depth - 1 else [w.T for w in ws])
        return stacked.contiguous().to(device).requires_grad_()

    weights = [weight(i) for i in range(depth)]
    biases = [
        torch.stack([ls[i].bias.detach() for ls in layers]).to(device).requires_grad_()
        for i in range(depth)
    ]
    return _Stack(weights, biases, weight_names, activation)


def _unstack(stack: _Stack, k: int, template: nn.Module) -> nn.Module:
    """Model ``k`` as a module (for diagnostics and feature selection)."""
    with torch.no_grad():
        for layer, w, b in zip(_linears(template), stack.views(), stack.biases, strict=True):
            layer.weight.copy_(w[k].T)
            layer.bias.copy_(b[k])
    return template


class _Masks:
    """The dropout keep masks of one training step, each model's from its own generator
    in the order its sequential run draws them (layer by layer, ``b ≥ keep_threshold(p)``
    for 16-bit ``b`` from :func:`~weightlab.regularize.dropout.keep_bits`, as
    :func:`~weightlab.regularize.dropout.keep_mask`), for the models with dropout only.
    The masks are 0 and 1 in float32, not booleans: on the CPU torch compares into a
    float tensor and multiplies by one about four times as fast.

    On the CPU a generator's draw of ``n + m`` numbers is its draw of ``n`` then of
    ``m``, so all of a model's masks for a step come from one call; elsewhere (CUDA's
    counter-based generators advance by rounded offsets per call) each layer's mask is
    drawn when the forward pass reaches it."""

    def __init__(self, settings: _Settings, widths: Sequence[int], device: torch.device) -> None:
        self.rows = [k for k, g in enumerate(settings.drop_gens) if g is not None]
        self.gens = [g for g in settings.drop_gens if g is not None]
        self.first = self.rows[0] if self.rows else 0  # members of a layer group are rows
        thresholds = [keep_threshold(settings.drop_p_values[k]) for k in self.rows]
        self.threshold = torch.tensor(thresholds, dtype=torch.int16, device=device)
        self.widths = list(widths)
        self.device = device
        self.at_once = device.type == "cpu"
        self.batch = 0
        self.keep: list[Tensor | None] = []

    def draw(self, batch: int) -> None:
        """Start a step of ``batch`` examples."""
        self.batch = batch
        self.keep = [None] * len(self.widths)
        if not self.rows or not self.at_once:
            return
        # Each layer's draw as keep_bits makes it: whole 64-bit words.
        words = [bit_words(batch * w) for w in self.widths]
        bits = torch.empty(len(self.rows), sum(words), dtype=torch.int64, device=self.device)
        for row, gen in zip(bits, self.gens, strict=True):
            fill_bits_(row, gen)
        offsets = [0, *itertools.accumulate(4 * n for n in words)]
        bits16 = bits.view(torch.int16)
        keep = torch.empty(bits16.shape, device=self.device)
        torch.ge(bits16, self.threshold.unsqueeze(1), out=keep)
        self.keep = [
            keep[:, start : start + batch * w].view(len(self.rows), batch, w)
            for start, w in zip(offsets, self.widths, strict=False)
        ]

    def layer(self, index: int, a: int, b: int) -> Tensor:
        """The keep masks after hidden layer ``index`` of the models at stack positions
        ``a`` to ``b − 1`` (all of which use dropout), [b − a, batch, width]."""
        keep = self.keep[index]
        if keep is None:
            count = self.batch * self.widths[index]
            bits = torch.stack([keep_bits(count, g, self.device) for g in self.gens])
            keep = torch.empty(bits.shape, device=self.device)
            torch.ge(bits, self.threshold.unsqueeze(1), out=keep)
            keep = keep.view(len(self.rows), self.batch, self.widths[index])
            self.keep[index] = keep
        start = self.rows.index(a)
        return keep[start : start + b - a]


def _first_layer(x: Tensor, w: Tensor, b: Tensor, act: Callable[[Tensor], Tensor]) -> Tensor:
    """Layer 1 of all K models with its activation: ``x`` is [B, in] (shared order and
    evaluation: one big product ``[B, in] × [in, K·out]``, its result read as a
    [K, B, out] view) or [K, B, in] (each model's own batch: a batched product)."""
    if x.dim() == 2:
        k, inp, out = w.shape
        flat = torch.addmm(b.reshape(-1), x, w.permute(1, 0, 2).reshape(inp, k * out))
        return act(flat.view(x.shape[0], k, out)).transpose(0, 1)
    return act(torch.baddbmm(b.unsqueeze(1), x, w))


class _OutputLayer(torch.autograd.Function):
    """The output layer's logits transposed, ``[K, out, B] = W·hᵀ + b`` for ``W``
    [K, out, in] and ``h`` [K, B, in] (or shared [B, in]), with gradients in the
    layouts the next steps read fastest (``∂h`` contiguous [K, B, in])."""

    @staticmethod
    def forward(ctx: Any, h: Tensor, w: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(h, w)
        if h.dim() == 2:
            k, out, inp = w.shape
            flat = torch.addmm(b.reshape(-1, 1), w.reshape(k * out, inp), h.T)
            return flat.view(k, out, h.shape[0])
        return torch.baddbmm(b.unsqueeze(2), w, h.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor, Tensor]:
        h, w = ctx.saved_tensors
        grad_h = torch.bmm(grad.transpose(1, 2), w) if ctx.needs_input_grad[0] else None
        if h.dim() == 2:
            grad_w = torch.mm(grad.reshape(-1, grad.shape[2]), h).view_as(w)
        else:
            grad_w = torch.bmm(grad, h)
        return grad_h, grad_w, grad.sum(dim=2)


# Activations computed in place on the products (autograd allows it: their gradients
# read their outputs, and a product's gradient does not read its output).
_IN_PLACE: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "sigmoid": torch.sigmoid_,
}


def _forward(stack: _Stack, x: Tensor, settings: _Settings, masks: _Masks | None) -> Tensor:
    """Logits [K, outputs, B] for inputs ``x`` ([B, in] shared or [K, B, in]); with
    ``masks`` in training (dropout on), without in evaluation."""
    fused = _scales_after_relu(stack, settings)
    act = (
        _identity if fused else _IN_PLACE.get(stack.activation) or ACTIVATION_FNS[stack.activation]
    )
    h = x
    for i in range(len(stack.weights) - 1):
        w, b = stack.weights[i], stack.biases[i]
        h = _first_layer(h, w, b, act) if i == 0 else act(torch.baddbmm(b.unsqueeze(1), h, w))
        if fused:
            h = _ReluScaled.apply(h, _scalings(i, settings, masks))  # type: ignore[no-untyped-call]
        else:
            h = _layers(h, i, settings, masks)
    out: Tensor = _OutputLayer.apply(h, stack.weights[-1], stack.biases[-1])  # type: ignore[no-untyped-call]
    return out


def _identity(x: Tensor) -> Tensor:
    return x


def _scales_after_relu(stack: _Stack, settings: _Settings) -> bool:
    """Whether the layer terms (dropout) can be applied in place after ReLU: some model
    has one and every one scales its input (``TermEntry.scales``)."""
    layers = settings.layers
    return stack.activation == "relu" and bool(layers) and all(g.entry.scales for g in layers)


_Scaling = Callable[[Tensor], None]


def _scalings(index: int, settings: _Settings, masks: _Masks | None) -> _Scaling:
    """The layer terms after hidden activation ``index``, as one function that applies
    each to its members' slices of a [K, B, width] tensor in place (the registry's
    arithmetic, the members' own parameters and masks)."""
    parts = [
        (group.entry, a, b, params, masks.layer(index, a, b) if masks is not None else None)
        for group in settings.layers
        for a, b, params in group.slices
    ]

    def scale(x: Tensor) -> None:
        for entry, a, b, params, keep in parts:
            part = x[a:b]
            new = entry.layer(STACKED, part, keep, masks is not None, **params)  # type: ignore[misc]
            if new is not part:
                part.copy_(new)

    return scale


class _ReluScaled(torch.autograd.Function):
    """``relu(z)`` with the layer terms that scale (dropout: ``x·m/(1 − p)``) applied in
    place on their members' slices, so the stack is never split and concatenated.

    The gradient is the same: a scaling's gradient is the scaling of the gradient, and
    ReLU's gradient passes where the output is positive, which the scaled output still
    says exactly (a dropped unit is 0 either way, a kept one keeps its sign)."""

    @staticmethod
    def forward(ctx: Any, z: Tensor, scale: _Scaling) -> Tensor:
        # In place on the product, as the unfused path does: its gradient does not read it.
        out = torch.relu_(z)
        scale(out)
        ctx.mark_dirty(z)
        ctx.save_for_backward(out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (out,) = ctx.saved_tensors
        grad_z = torch.ops.aten.threshold_backward(grad, out, 0)
        ctx.scale(grad_z)
        return grad_z, None


def _layers(h: Tensor, index: int, settings: _Settings, masks: _Masks | None) -> Tensor:
    """The layer terms (dropout) after hidden activation ``index``, each on its members'
    slices of the stack with their own parameters and masks; the other models' slices
    are passed through untouched."""
    k = h.shape[0]
    for group in settings.layers:
        # One split into the members' slices and the rest, one concatenation back: the
        # gradient flows back through one concatenation (slicing a tensor once per part
        # would spread each part's gradient to a zero tensor of the whole stack).
        bounds = sorted({0, k, *(x for a, b, _ in group.slices for x in (a, b))})
        parts = list(torch.split(h, [b - a for a, b in itertools.pairwise(bounds)]))
        changed = False
        for a, b, params in group.slices:
            keep = masks.layer(index, a, b) if masks is not None else None
            i = bounds.index(a)
            new = group.entry.layer(STACKED, parts[i], keep, masks is not None, **params)  # type: ignore[misc]
            changed = changed or new is not parts[i]  # e.g. inverted dropout at evaluation
            parts[i] = new
        if changed:
            h = torch.cat(parts) if len(parts) > 1 else parts[0]
    return h


def _per_model_loss(logits: Tensor, y: Tensor, task: str, shared: bool) -> Tensor:
    """Each model's mean loss, [K], of logits [K, outputs, B]; ``y`` is [B, ...] when
    ``shared`` (every model's targets) or [K, B, ...]."""
    k = logits.shape[0]
    if shared:
        y = y.expand(k, *y.shape)
    if task == "classification":
        return F.cross_entropy(logits, y, reduction="none").mean(dim=1)
    out = logits.transpose(1, 2).reshape(y.shape)
    return (out - y).square().reshape(k, -1).mean(dim=1)


def _penalty(
    views: Sequence[Tensor], settings: _Settings, leaves: _PenaltyLeaves | None = None
) -> Tensor | None:
    """Each model's loss terms over its weights, [K], added in the order the sequential
    engine adds them; with ``leaves``, each term's members' weights are read through
    them (so that the gradient lands there)."""
    k = views[0].shape[0]
    total: Tensor | None = None
    for g, group in enumerate(settings.penalties):
        for s, (a, b, params) in enumerate(group.slices):
            weights = [w[a:b] for w in views] if leaves is None else leaves.of(g, s)
            value = group.entry.penalty(STACKED, weights, **params)  # type: ignore[misc]
            value = value.reshape(-1)
            if (a, b) != (0, k):
                value = F.pad(value, (a, k - b))
            total = value if total is None else total + value
    return total


class _PenaltyLeaves:
    """The members' slices of the weights as leaves of their own (views sharing the
    stacks' memory), one set per penalty slice.  Their gradients are the penalties'
    gradients, added to the stacks' gradients after the backward pass: computed through
    slices of the stacks, each would first be spread to a zero tensor of the whole stack
    (two more passes over every weight, per slice)."""

    def __init__(self, stack: _Stack, settings: _Settings) -> None:
        self.stack = stack
        views = stack.views()
        self.slices = [
            (a, b, [w.detach()[a:b].requires_grad_() for w in views])
            for group in settings.penalties
            for a, b, _ in group.slices
        ]
        starts = [0]
        for group in settings.penalties:
            starts.append(starts[-1] + len(group.slices))
        self.starts = starts

    def of(self, group: int, part: int) -> list[Tensor]:
        return self.slices[self.starts[group] + part][2]

    def clear(self) -> None:
        for _, _, leaves in self.slices:
            for leaf in leaves:
                leaf.grad = None

    def add_gradients(self) -> None:
        """Add each leaf's gradient to its stack's gradient."""
        weights = self.stack.weights
        with torch.no_grad():
            grads = [w.grad for w in weights]
            last = grads[-1]
            targets = [*grads[:-1], last.transpose(1, 2) if last is not None else None]
            for a, b, leaves in self.slices:
                for grad, leaf in zip(targets, leaves, strict=True):
                    if grad is not None and leaf.grad is not None:
                        grad[a:b].add_(leaf.grad)


# ---------------------------------------------------------------------------
# The optimizer step on stacks (torch.optim's arithmetic, per-model lr and decay).


_FUSED_KERNELS = {"sgd": "_fused_sgd_", "adam": "_fused_adam_", "adamw": "_fused_adamw_"}


def optimizer_kernel(name: str, device: str | torch.device = "cpu") -> str:
    """How the stacked engine steps optimizer ``name`` on ``device``: ``"fused"`` (one
    ``torch._fused_*`` kernel call per slice of models with one learning rate and weight
    decay: every parameter read and written once) or ``"eager"`` (torch.optim's
    arithmetic as separate tensor operations with ``[K]`` learning rates), where this
    torch has no fused kernel for the device."""
    kernel = getattr(torch, _FUSED_KERNELS.get(name, ""), None)
    if kernel is None:
        return "eager"
    try:
        p = torch.zeros(2, device=device)
        if name == "sgd":
            kernel(
                [p], [p.clone()], [], weight_decay=0.0, momentum=0.0, lr=0.1,
                dampening=0.0, nesterov=False, maximize=False, is_first_step=True,
            )  # fmt: skip
        else:
            kernel(
                [p], [p.clone()], [p.clone()], [p.clone()], [], [torch.zeros((), device=device)],
                lr=0.1, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False,
                maximize=False,
            )  # fmt: skip
    except (RuntimeError, NotImplementedError):
        return "eager"
    return "fused"


class _Optimizer:
    """``spec['name']`` (sgd, adam, adamw) on every stacked parameter, as
    :mod:`torch.optim` computes it: SGD ``g ← ∇ + λw``, momentum ``m ← μm + g`` (first
    step ``m = g``), Nesterov ``g + μm``; Adam (Kingma & Ba 2015) with bias correction and
    coupled ``λw``; AdamW ``w ← w(1 − lr·λ)`` first (Loshchilov & Hutter 2019).

    With torch's fused kernels (:func:`optimizer_kernel`) each slice of models that
    share a learning rate and weight decay is one kernel call over its parameters;
    otherwise the same arithmetic runs as tensor operations with per-model rates."""

    def __init__(
        self, params: Sequence[Tensor], spec: Mapping[str, Any], settings: _Settings
    ) -> None:
        self.params = list(params)
        self.spec = spec
        self.name = str(spec["name"])
        self.kernel = optimizer_kernel(self.name, self.params[0].device)
        hyper = list(zip(settings.lr, settings.weight_decay, strict=True))
        self.slices = [
            (a, b, *hyper[a])
            for a, b in _runs(hyper)  # runs of equal (lr, weight decay)
        ]
        device = self.params[0].device
        self.lr = torch.tensor(settings.lr, dtype=torch.float64, device=device)
        self.wd = torch.tensor(settings.weight_decay, dtype=torch.float64, device=device)
        self.decay = any(wd != 0 for wd in settings.weight_decay)
        self.step_count = 0
        momentum = float(spec.get("momentum", 0.0))
        n_buffers = 2 if self.name != "sgd" else (1 if momentum != 0.0 else 0)
        self.buffers = [[torch.zeros_like(p) for _ in range(n_buffers)] for p in self.params]
        self.step_tensor = torch.zeros((), device=device)  # the fused kernels read it

    def step(self, factor: float) -> None:
        """One step, every learning rate times the schedule's ``factor``."""
        self.step_count += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        with torch.no_grad():
            if self.kernel == "fused":
                self._fused(grads, factor)
            else:
                lr = self.lr * factor
                for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                    if self.name == "sgd":
                        self._sgd(p, g, i, lr)
                    else:
                        self._adam(p, g, i, lr)

    def _fused(self, grads: Sequence[Tensor], factor: float) -> None:
        spec = self.spec
        self.step_tensor.fill_(self.step_count)
        steps = [self.step_tensor] * len(self.params)
        for a, b, lr, wd in self.slices:
            params = [p.detach()[a:b] for p in self.params]
            g = [grad[a:b] for grad in grads]
            bufs = [[buf[a:b] for buf in row] for row in self.buffers]
            # The learning rate in Python floats, as torch's scheduler computes it.
            rate = lr * factor
            if self.name == "sgd":
                torch._fused_sgd_(
                    params,
                    g,
                    [row[0] for row in bufs if row],
                    weight_decay=wd,
                    momentum=float(spec.get("momentum", 0.0)),
                    lr=rate,
                    dampening=0.0,
                    nesterov=bool(spec.get("nesterov", False)),
                    maximize=False,
                    is_first_step=self.step_count == 1,
                )
                continue
            kernel = torch._fused_adamw_ if self.name == "adamw" else torch._fused_adam_
            kernel(
                params,
                g,
                [row[0] for row in bufs],
                [row[1] for row in bufs],
                [],
                steps,
                lr=rate,
                beta1=float(spec["betas"][0]),
                beta2=float(spec["betas"][1]),
                weight_decay=wd,
                eps=float(spec.get("eps", 1e-8)),
                amsgrad=False,
                maximize=False,
            )

    def _sgd(self, p: Tensor, g: Tensor, i: int, lr: Tensor) -> None:
        if self.decay:
            g = torch.addcmul(g, _per_model(self.wd, p), p)  # g + λw, as torch's add(alpha=λ)
        momentum = float(self.spec.get("momentum", 0.0))
        if momentum != 0.0:
            buf = self.buffers[i][0]
            if self.step_count == 1:
                buf.copy_(g)
            else:
                buf.mul_(momentum).add_(g)
            g = g + momentum * buf if self.spec.get("nesterov", False) else buf
        p.sub_(_per_model(lr, p) * g)

    def _adam(self, p: Tensor, g: Tensor, i: int, lr: Tensor) -> None:
        b1, b2 = float(self.spec["betas"][0]), float(self.spec["betas"][1])
        if self.decay:
            if self.name == "adamw":
                p.mul_(_per_model(1.0 - lr * self.wd, p))
            else:
                g = torch.addcmul(g, _per_model(self.wd, p), p)
        m, v = self.buffers[i]
        m.lerp_(g, 1.0 - b1)
        v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
        bias1 = 1.0 - b1**self.step_count
        bias2_sqrt = math.sqrt(1.0 - b2**self.step_count)
        denom = v.sqrt().div_(bias2_sqrt).add_(float(self.spec.get("eps", 1e-8)))
        p.addcdiv_(m * _per_model(-lr / bias1, p), denom)


def _runs(values: Sequence[Any]) -> list[tuple[int, int]]:
    """``[(a, b), ...]``: the runs of equal consecutive ``values``."""
    runs: list[tuple[int, int]] = []
    for k, value in enumerate(values):
        if runs and values[runs[-1][0]] == value:
            runs[-1] = (runs[-1][0], k + 1)
        else:
            runs.append((k, k + 1))
    return runs


def _per_model(values: Tensor, like: Tensor) -> Tensor:
    """``values`` [K] (or [K, 1, 1]) shaped to broadcast against ``like`` [K, ...]."""
    return values.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def _apply_rules(
    views: Sequence[Tensor], prev: Sequence[Tensor] | None, rate: Tensor, settings: _Settings
) -> None:
    """Each model's update rules on its weights, in stage order (as
    :meth:`weightlab.regularize.Regularization.rule` chains them), on each rule's
    members' slices; ``rate`` [K, 1, 1] is each model's learning rate."""
    with torch.no_grad():
        for i, w in enumerate(views):
            for group in settings.rules:
                for a, b, params in group.slices:
                    proposed = w[a:b]
                    # ``before`` is read only by rules that read the previous weights.
                    before = proposed if prev is None else prev[i][a:b]
                    new = group.entry.rule(STACKED, before, proposed, rate[a:b], **params)  # type: ignore[misc]
                    proposed.copy_(new)


# ---------------------------------------------------------------------------
# Evaluation and the recorded metrics.


EVAL_VALUES = 1 << 21
"""About how many values one activation of the whole stack holds at evaluation on the
CPU: 8 MB, so that a chunk's activations stay in the caches (evaluating 32 models in
chunks of 512 examples runs about 2.5× faster than in chunks of 4096)."""


def _eval_chunk(stack: _Stack) -> int:
    k = stack.weights[0].shape[0]
    widest = max(w.shape[2] for w in stack.weights[:-1]) if len(stack.weights) > 1 else 1
    return max(64, min(EVAL_CHUNK, EVAL_VALUES // (k * widest)))


@torch.no_grad()
def _evaluate(
    stack: _Stack, settings: _Settings, x: Tensor, y: Tensor, task: str, limit: int | None
) -> tuple[Tensor, Tensor]:
    """Each model's mean loss and accuracy (or MSE) over a split (its first ``limit``
    examples when given), [K] each: one batched pass over the stack per chunk of
    examples."""
    if limit is not None:
        x, y = x[:limit], y[:limit]
    k = stack.weights[0].shape[0]
    total = torch.zeros(k, dtype=torch.float64, device=x.device)
    score = torch.zeros(k, dtype=torch.float64, device=x.device)
    chunk = _eval_chunk(stack) if x.device.type == "cpu" else EVAL_CHUNK
    for start in range(0, len(x), chunk):
        xx, yy = x[start : start + chunk], y[start : start + chunk]
        out = _forward(stack, xx.reshape(len(xx), -1), settings, None)
        n = len(yy)
        loss = _per_model_loss(out, yy, task, shared=True).double() * n
        total += loss
        if task == "classification":
            # max's indices: argmax's (the first maximum), a few times faster here.
            score += (out.max(dim=1).indices == yy).double().sum(dim=1)
        else:
            score += loss
    return total / len(x), score / len(x)


@torch.no_grad()
def _weight_stats(views: Sequence[Tensor]) -> dict[str, Tensor]:
    """Per-model norms, exact-zero fractions and overall sparsity of the weights, [K]."""
    stats: dict[str, Tensor] = {}
    k = views[0].shape[0]
    zeros = torch.zeros(k, dtype=torch.float64, device=views[0].device)
    small = torch.zeros_like(zeros)
    count = 0
    for layer, w in enumerate(views):
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


PHASES = ("init", "train", "eval", "diagnostics", "probes")
"""The phases of a training whose seconds :attr:`RunOutput.timings` holds."""


def train_stacked(
    configs: Sequence[RunConfig],
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    on_step: Callable[[int, Mapping[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    eval_limit: int | None = None,
) -> list[RunOutput]:
    """Train every run of one bucket (see :func:`bucket_key`) together; one
    :class:`RunOutput` per config, in order, with the same metrics, histograms and
    diagnostics :func:`weightlab.train.train_run` records.

    ``on_step(step, {"val_loss": mean over live models})`` follows each evaluation;
    ``should_stop()`` is asked before every step and stops with ``KeyboardInterrupt``.
    ``eval_limit`` evaluates on the first ``eval_limit`` examples of each split at the
    evaluations between the first and the last (which always use the whole splits):
    those metrics become estimates over the subset (an accuracy's standard error is
    about ``√(a(1 − a)/eval_limit)``), the start, the end, the final metrics and the
    probes are unchanged.  None (the default) evaluates on the whole splits, as the
    sequential engine does.
    """
    _check_bucket(configs)
    start_time = time.perf_counter()
    device = torch.device(device)
    order = _stack_order(configs)
    ordered = [configs[i] for i in order]
    settings = _settings(ordered, device)
    models, order_gens = _init_models(ordered, data, settings)
    stack = _stack(models, str(ordered[0].model.get("activation", "linear")), device)
    run = _StackedRun(ordered, data, device, stack, settings, models, eval_limit)
    run.timings["init"] += time.perf_counter() - start_time
    run.train(order_gens, on_step, should_stop)
    seconds = (time.perf_counter() - start_time) / len(configs)
    timings = {name: value / len(configs) for name, value in run.timings.items()}
    outputs: list[RunOutput] = [RunOutput(status="done")] * len(configs)
    for position, index in enumerate(order):
        out = run.outputs[position]
        out.seconds = seconds
        out.timings = dict(timings)
        outputs[index] = out
    return outputs


class _StackedRun:
    """The state of one stacked training: data, parameters, per-model records (all in
    stack order)."""

    def __init__(
        self,
        configs: Sequence[RunConfig],
        data: Dataset,
        device: torch.device,
        stack: _Stack,
        settings: _Settings,
        models: list[nn.Module],
        eval_limit: int | None,
    ) -> None:
        self.configs, self.data, self.device = configs, data, device
        self.stack, self.settings, self.models = stack, settings, models
        self.eval_limit = eval_limit
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
        self.all_alive = True
        self.dead_models: dict[int, nn.Module] = {}
        self.steps_done = [self.steps] * self.k
        self.timings = dict.fromkeys(PHASES, 0.0)

    def factor(self, step: int) -> float:
        """The schedule's factor on every learning rate after ``step`` steps."""
        return cosine_factor(self.steps)(step) if self.schedule == "cosine" else 1.0

    def record(self, step: int) -> None:
        start = time.perf_counter()
        task = self.data.task
        limit = self.eval_limit if step not in (0, self.steps) else None
        train = _evaluate(self.stack, self.settings, self.x_train, self.y_train, task, limit)
        val = _evaluate(self.stack, self.settings, self.x_val, self.y_val, task, limit)
        views = self.stack.views()
        with torch.no_grad():
            penalty = _penalty(views, self.settings)
        columns = {
            "train_loss": train[0],
            "train_score": train[1],
            "val_loss": val[0],
            "val_score": val[1],
            "penalty": penalty if penalty is not None else torch.zeros(self.k),
            **_weight_stats(views),
        }
        values = {name: value.double().cpu().tolist() for name, value in columns.items()}
        live = self.alive.cpu().tolist()
        factor = self.factor(step)
        rows = {}
        for k in range(self.k):
            if not live[k]:
                continue
            rows[k] = metric_row(
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
        self.timings["eval"] += time.perf_counter() - start
        start = time.perf_counter()
        for k, row in rows.items():
            self._keep(k, step, row, views)
        self.timings["diagnostics"] += time.perf_counter() - start

    def _keep(self, k: int, step: int, row: dict[str, float], views: Sequence[Tensor]) -> None:
        out = self.outputs[k]
        out.metrics += [(step, name, value) for name, value in row.items()]
        self.last[k] = row
        if step in self.hist_steps:
            named = [(n, w[k]) for n, w in zip(self.stack.names[k], views, strict=True)]
            out.histograms += weight_histograms(step, named)
        if step in (0, self.steps) and self.diagnose:
            model = _unstack(self.stack, k, self.models[k]).to(self.device)
            summary, hists = diagnose_step(model, self.x_val[:256], step, self.configs[k].seed)
            out.diagnostics.append((step, summary))
            out.histograms += hists

    def batch_data(self, orders: Tensor, cursor: int) -> tuple[Tensor, Tensor]:
        # index_select reads a few times faster than advanced indexing on the CPU.
        idx = orders[:, cursor : cursor + self.batch].to(self.device)
        if self.shared:
            return self.x_train.index_select(0, idx[0]), self.y_train.index_select(0, idx[0])
        flat = idx.reshape(-1)
        x = self.x_train.index_select(0, flat).view(*idx.shape, -1)
        return x, self.y_train.index_select(0, flat).view(*idx.shape, *self.y_train.shape[1:])

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
        views = self.stack.views()
        optimizer = _Optimizer(params, self.configs[0].optimizer, self.settings)
        widths = [w.shape[2] for w in self.stack.weights[:-1]]
        masks = _Masks(self.settings, widths, self.device) if self.settings.layers else None
        leaves = _PenaltyLeaves(self.stack, self.settings) if self.settings.penalties else None
        rates = torch.tensor(self.settings.lr, dtype=torch.float64, device=self.device)
        rates = rates.reshape(-1, 1, 1)
        task = self.data.task
        clock = time.perf_counter()
        for step in range(1, self.steps + 1):
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt
            if cursor + self.batch > n:
                orders, cursor = shuffle(), 0
            xb, yb = self.batch_data(orders, cursor)
            cursor += self.batch
            if masks is not None:
                masks.draw(len(yb) if self.shared else yb.shape[1])
            for p in params:
                p.grad = None
            logits = _forward(self.stack, xb, self.settings, masks)
            losses = _per_model_loss(logits, yb, task, self.shared)
            if leaves is not None:
                leaves.clear()
            penalty = _penalty(views, self.settings, leaves)
            total = losses + penalty if penalty is not None else losses
            if not self._check_finite(total, step):
                break
            if not self.all_alive:
                total = torch.where(self.alive, total, 0.0)
            total.sum().backward()  # type: ignore[no-untyped-call]
            if leaves is not None:
                leaves.add_gradients()
            prev = [w.detach().clone() for w in views] if self.settings.needs_prev else None
            factor = self.factor(step - 1)
            optimizer.step(factor)
            if self.settings.rules:
                _apply_rules(views, prev, rates * factor, self.settings)
            if step % self.eval_every == 0 or step == self.steps or step in self.hist_steps:
                self.timings["train"] += time.perf_counter() - clock
                self.record(step)
                self._report(step, on_step)
                clock = time.perf_counter()
        self.timings["train"] += time.perf_counter() - clock
        start = time.perf_counter()
        self._finish()
        self.timings["probes"] += time.perf_counter() - start

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
            self.all_alive = False
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
        modules = [
            self.dead_models.get(k) or _unstack(self.stack, k, self.models[k])
            for k in range(self.k)
        ]
        probes = (
            stacked_probe_metrics(modules, self.data, [c.seed for c in self.configs])
            if self.diagnose
            else [None] * self.k
        )
        for k, out in enumerate(self.outputs):
            finalize(
                out,
                self.last[k],
                self.data,
                modules[k],
                self.steps_done[k],
                self.configs[k],
                probes=probes[k],
            )
