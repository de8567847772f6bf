"""Which parameters get regularized: the nanoGPT rule, plus glob patterns.

Default: decay every trainable tensor with two or more dimensions (Linear, Conv and
Embedding weights), not biases (whatever their shape) and not normalization layers, whose
scale parameters set activation sizes rather than fit the data.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from weightlab._validate import STRENGTH, Described, Instance, Satisfies, check, fail

__all__ = ["NORM_MODULES", "param_groups", "select_params"]

# The private bases cover every BatchNorm/SyncBatchNorm/InstanceNorm variant, lazy included.
NORM_MODULES: tuple[type[nn.Module], ...] = (
    _BatchNorm,
    _InstanceNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)

_PATTERNS = Satisfies(
    lambda v: isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v),
    "a list or tuple of glob pattern strings",
)
_TABLE = {
    "model": Instance((nn.Module,), "a torch.nn.Module"),
    "weight_decay": STRENGTH,
    "biases": Instance((bool,), "a bool"),
    "norms": Instance((bool,), "a bool"),
    "include": _PATTERNS,
    "exclude": _PATTERNS,
}


def select_params(
    model: nn.Module,
    *,
    biases: bool = False,
    norms: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[tuple[str, nn.Parameter]]:
    """Trainable parameters to regularize, as ``(name, parameter)`` pairs in model order.

    ``selected = (weights ∪ biases? ∪ norms? ∪ match(include)) − match(exclude)`` where
    *weights* are tensors with ``dim ≥ 2`` outside normalization layers (:data:`NORM_MODULES`)
    and not named ``*bias``, *biases* are parameters named ``*bias`` outside them (of any
    shape, e.g. a ``[1, C, 1, 1]`` bias), *norms* all their parameters.

    Args:
        model: any module; tied parameters appear once, frozen ones never.
        biases: also select biases.
        norms: also select normalization-layer parameters.
        include: ``fnmatch`` patterns on full names (``"fc1.*"``, ``"*.bias"``) to add.
        exclude: patterns to remove; exclusion wins over everything.

    Raises:
        ValueError: a pattern matches no trainable parameter (a typo guard).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1))
        >>> [name for name, _ in select_params(net)]
        ['0.weight', '2.weight']
        >>> [name for name, _ in select_params(net, include=["2.bias"], exclude=["0.*"])]
        ['2.weight', '2.bias']

    The rule follows nanoGPT (Karpathy) and Loshchilov & Hutter 2019.
    """
    values = {"model": model, "biases": biases, "norms": norms}
    check("select_params", {**values, "include": include, "exclude": exclude}, _TABLE)
    return _select("select_params", model, biases, norms, include, exclude)


def param_groups(
    model: nn.Module,
    weight_decay: float,
    *,
    biases: bool = False,
    norms: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Two torch optimizer groups: selected parameters decayed, the rest not.

    ``[{"params": selected, "weight_decay": weight_decay},
    {"params": rest, "weight_decay": 0.0}]`` with ``selected`` from :func:`select_params`
    (same keyword arguments) and ``rest`` the other trainable parameters.

    Args:
        model: any module.
        weight_decay: decay for the selected group, ≥ 0, finite.
        biases, norms, include, exclude: as in :func:`select_params`.

    Example:
        >>> import torch
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
        >>> opt = torch.optim.AdamW(param_groups(net, 0.1), lr=1e-3)
        >>> [len(g["params"]) for g in opt.param_groups]
        [1, 3]

    nanoGPT's ``configure_optimizers``; Loshchilov & Hutter 2019.
    """
    values = {"model": model, "weight_decay": weight_decay, "biases": biases, "norms": norms}
    check("param_groups", {**values, "include": include, "exclude": exclude}, _TABLE)
    chosen = _select("param_groups", model, biases, norms, include, exclude)
    ids = {id(p) for _, p in chosen}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    return [
        {"params": [p for _, p in chosen], "weight_decay": weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]


def _select(
    owner: str,
    model: nn.Module,
    biases: bool,
    norms: bool,
    include: Sequence[str],
    exclude: Sequence[str],
) -> list[tuple[str, nn.Parameter]]:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    names = [n for n, _ in named]
    _check_patterns(owner, "include", include, names)
    _check_patterns(owner, "exclude", exclude, names)
    wanted = {"weight"} | ({"bias"} if biases else set()) | ({"norm"} if norms else set())
    return [
        (name, p)
        for name, p in named
        if (_kind(model, name, p) in wanted or _matches(name, include))
        and not _matches(name, exclude)
    ]


def _kind(model: nn.Module, name: str, p: nn.Parameter) -> str:
    """``"norm"``, ``"bias"`` (named ``*bias``, any shape), ``"weight"`` (dim ≥ 2) or
    ``"other"`` (e.g. PReLU slopes)."""
    path, _, leaf = name.rpartition(".")
    if isinstance(model.get_submodule(path), NORM_MODULES):
        return "norm"
    if leaf.endswith("bias"):  # before the shape: a [1, C, 1, 1] bias is still a bias
        return "bias"
    return "weight" if p.dim() >= 2 else "other"


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _check_patterns(owner: str, arg: str, patterns: Sequence[str], names: list[str]) -> None:
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            shown = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
            expected = f"glob patterns matching trainable parameter names ({shown})"
            raise fail(owner, arg, expected, Described(f"{pattern!r}, which matches none"))
