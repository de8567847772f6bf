"""Experiment specs: a YAML file (or dict) validated with pydantic and expanded to runs.

List-valued ``init``, ``regularization``, ``seeds`` and ``optimizer.lr`` expand to a
grid.  Unknown keys, bad values and impossible combinations are rejected before
anything trains, with the path of the bad field in the message::

    name: init-vs-reg
    dataset: {name: mnist1d}
    model: {arch: mlp, hidden: [100, 100], activation: relu}
    init: [zeros, normal(std=0.01), xavier_normal, he_normal]
    regularization: [none, l1(1e-4), l2(1e-3), dropout(0.3), decoupled_decay(1e-2)]
    optimizer: {name: adam, lr: 1e-2}
    train: {steps: 6000, batch_size: 100, eval_every: 250}
    seeds: [0, 1, 2]
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from weightlab._validate import ParameterError, error_summary, fail
from weightlab.activations import ACTIVATION_MODULES
from weightlab.claims.spec import Claim, check_claims
from weightlab.init import resolve
from weightlab.models.budget import (
    Estimate,
    cnn_network,
    mlp_network,
    shortfall,
    training_estimate,
)
from weightlab.regularize import parse_regularization
from weightlab.train.config import RunConfig

__all__ = ["SweepSpec", "expand", "load_spec", "memory_estimate", "runs_at_once"]

REGRESSION_DATASETS = ("diabetes", "multicollinear")
STACKED_AT_ONCE = 64  # the runner's MAX_CHUNK: runs one stacked chunk trains together


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(BaseModel):
    """``name`` plus the dataset's own parameters (checked against the dataset)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelSpec(_Strict):
    arch: Literal["mlp", "cnn", "linear", "logistic", "module"] = "mlp"
    hidden: list[int] = Field(default_factory=lambda: [100, 100])
    activation: str = "relu"
    channels: list[int] = Field(default_factory=lambda: [16, 16])
    kernel_size: int = Field(default=3, ge=1, le=63)
    path: str | None = None

    @field_validator("hidden", "channels")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("must be a non-empty list of positive ints")
        return value

    @field_validator("activation")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ACTIVATION_MODULES:
            raise ValueError(f"must be one of {', '.join(ACTIVATION_MODULES)}")
        return value

    @model_validator(mode="after")
    def _module_path(self) -> ModelSpec:
        if (self.arch == "module") != (self.path is not None):
            raise ValueError("arch 'module' needs path: package.module:factory, and only it")
        return self


class OptimizerSpec(_Strict):
    name: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float | list[float] = 1e-3
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = Field(default=0.0, ge=0.0)

    @field_validator("lr")
    @classmethod
    def _positive_lr(cls, value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if not values or any(not 0 < v < float("inf") for v in values):
            raise ValueError("must be a positive finite float or a non-empty list of them")
        return value

    @model_validator(mode="after")
    def _nesterov(self) -> OptimizerSpec:
        if self.nesterov and (self.name != "sgd" or self.momentum == 0):
            raise ValueError("nesterov needs name 'sgd' and momentum > 0")
        return self


class TrainSpec(_Strict):
    steps: int = Field(default=1000, ge=1, le=10_000_000)
    batch_size: int = Field(default=100, ge=1)
    eval_every: int = Field(default=100, ge=1)
    schedule: Literal["constant", "cosine"] = "constant"
    histogram_steps: list[int] = Field(default_factory=list)
    diagnose: bool = True
    # "per_model": each run shuffles with its own seed; "shared": every run of the sweep
    # sees the same minibatches (drawn with order_seed), so a stacked engine can run the
    # first layer of all its models as one matrix product.
    data_order: Literal["per_model", "shared"] = "per_model"
    order_seed: int = Field(default=0, ge=0, le=2**63 - 1)
    # "bootstrap": each run trains on a resample (with replacement) of the training split
    # drawn with its seed, so that seeds vary the data too (coefficient spread stories).
    resample: Literal["none", "bootstrap"] = "none"
    # Record effective learning rates (weightlab.train.effective): each layer's relative
    # update size at every evaluation and Adam's per-weight step sizes.
    effective_lr: bool = False

    @model_validator(mode="after")
    def _within(self) -> TrainSpec:
        if self.eval_every > self.steps:
            raise ValueError(f"eval_every ({self.eval_every}) must be at most steps ({self.steps})")
        bad = [s for s in self.histogram_steps if not 0 <= s <= self.steps]
        if bad:
            raise ValueError(f"histogram_steps must lie in [0, steps]; got {bad}")
        return self


class SweepSpec(_Strict):
    """A whole experiment: one dataset and model, grids of settings, and seeds."""

    name: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    dataset: DatasetSpec
    model: ModelSpec = Field(default_factory=ModelSpec)
    init: str | list[str] = "he_normal"
    regularization: str | list[str] = "none"
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    seeds: int | list[int] = 0
    claims: list[Claim] = Field(default_factory=list)

    @field_validator("init")
    @classmethod
    def _schemes(cls, value: str | list[str]) -> str | list[str]:
        for spec in _as_list(value):
            resolve(spec)
        return value

    @field_validator("regularization")
    @classmethod
    def _regularizers(cls, value: str | list[str]) -> str | list[str]:
        for spec in _as_list(value):
            parse_regularization(spec)
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: int | list[int]) -> int | list[int]:
        values = _as_list(value)
        if not values or any(s < 0 for s in values) or len(set(values)) != len(values):
            raise ValueError("must be distinct non-negative ints")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> SweepSpec:
        regs = [parse_regularization(r) for r in _as_list(self.regularization)]
        if self.model.arch in ("linear", "logistic") and any(r.dropout[0] > 0 for r in regs):
            raise ValueError("dropout needs hidden layers; model.arch is " + self.model.arch)
        if self.model.arch == "module" and any(r.dropout[0] > 0 for r in regs):
            raise ValueError("dropout is added to built-in architectures only, not arch 'module'")
        if (
            self.optimizer.name == "adamw"
            and self.optimizer.weight_decay > 0
            and any(r.canonical().decoupled > 0 for r in regs)
        ):
            raise ValueError("adamw with weight_decay > 0 and decoupled_decay would decay twice")
        if self.model.arch == "logistic" and self.dataset.name in REGRESSION_DATASETS:
            raise ValueError(
                f"logistic needs a classification dataset; {self.dataset.name} is regression"
            )
        if self.claims:
            check_claims(self.claims, [c.to_dict() for c in expand(self)])
        return self


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _where(error: dict[str, Any]) -> str:
    parts = [p for p in error["loc"] if not str(p).startswith("function-after")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "spec"


def load_spec(source: str | Path | dict[str, Any]) -> SweepSpec:
    """Read and validate a spec from a YAML file or a dict.

    Raises:
        ValueError: naming the bad field's path, what is allowed and what was given.
    """
    if isinstance(source, dict):
        data: Any = source
    else:
        data = _read(Path(source))
    if not isinstance(data, dict):
        raise fail(
            "run", "spec", "a YAML mapping with name, dataset, model, ...", type(data).__name__
        )
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as error:
        raise ParameterError(_message(error.errors()[0])) from None
    _check_memory(spec)
    return spec


def _read(path: Path) -> Any:
    """The YAML document in ``path``; unreadable, undecodable or malformed files are
    refused in the one error format."""
    if not path.is_file():
        raise fail("run", "spec", "an existing YAML file", str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or error_summary(error)
        raise fail("run", "spec", f"a readable YAML file ({reason})", str(path)) from None
    except UnicodeDecodeError as error:
        reason = f"byte {error.start} is not UTF-8"
        raise fail("run", "spec", f"a UTF-8 text file ({reason})", str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        raise fail("run", "spec", f"valid YAML ({reason})", str(path)) from None
    except RecursionError:  # deeply nested flow collections
        raise fail("run", "spec", "YAML nested less deeply", str(path)) from None


def runs_at_once(spec: SweepSpec) -> int:
    """How many of the spec's runs one stacked chunk may train together: all of them,
    up to the runner's chunk limit (``weightlab.sweep.runner.MAX_CHUNK``)."""
    grid = [spec.optimizer.lr, spec.init, spec.regularization, spec.seeds]
    return min(STACKED_AT_ONCE, math.prod(len(_as_list(v)) for v in grid))


def memory_estimate(spec: SweepSpec, runs: int | None = None) -> Estimate | None:
    """What training ``runs`` of the spec's models at once holds (default
    :func:`runs_at_once`), counted without the dataset's own sizes (inputs and outputs
    as one unit, the batch as large as the dataset states), so it never overstates;
    None for a model given by import path."""
    model = spec.model
    if model.arch in ("linear", "logistic", "module"):
        return None
    if model.arch == "mlp":
        network = mlp_network(1, model.hidden, 1)
    else:
        network = cnn_network(1, model.channels, 1, model.kernel_size, [1])
    return training_estimate(
        network,
        batch=min(spec.train.batch_size, _examples(spec.dataset)),
        optimizer=spec.optimizer.name,
        momentum=spec.optimizer.momentum,
        models=runs_at_once(spec) if runs is None else runs,
    )


def _examples(dataset: DatasetSpec) -> int:
    """The training examples the spec states for its dataset (0 when it does not say):
    a minibatch never holds more."""
    for key in ("n_samples", "n_train"):
        value = dataset.params().get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, value)
    return 0


def _check_memory(spec: SweepSpec) -> None:
    estimate = memory_estimate(spec)
    missing = None if estimate is None else shortfall(estimate)
    if missing is not None:
        field = "hidden" if spec.model.arch == "mlp" else "channels"
        got = getattr(spec.model, field)
        raise ParameterError(f"The spec field 'model.{field}' must be {missing}. Got {got!r}.")


def _message(error: Any) -> str:
    """One line naming the field's path, what is allowed and what was given."""
    where = _where(error)
    got = error.get("input")
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(_fields(error["loc"][:-1]))
        return f"The spec field '{where}' is not a known field (allowed: {allowed})."
    if error["type"] == "missing":
        return f"The spec field '{where}' is required."
    text = str(error["msg"]).removeprefix("Value error, ").rstrip(".")
    if text.startswith("The '") and not error["loc"]:  # names its own field
        return f"{text}."
    if text.startswith("The '"):  # a weightlab error raised by a validator
        return f"The spec field '{where}': {text}."
    if not error["loc"]:  # a rule across fields
        return f"The spec combines settings that cannot work: {text}."
    for word in ("Input ", "String ", "List ", "Value "):
        text = text.removeprefix(word)
    return f"The spec field '{where}' {text}. Got {got!r}."


def _fields(loc: tuple[Any, ...]) -> list[str]:
    model: Any = SweepSpec
    for part in loc:
        if isinstance(part, int):  # an item of a list field: its item type
            model = next((a for a in get_args(model) if hasattr(a, "model_fields")), None)
            continue
        field = model.model_fields.get(str(part)) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = field.annotation
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def expand(spec: SweepSpec) -> list[RunConfig]:
    """Every run of the grid, in a stable order: lr × init × regularization × seed."""
    model = spec.model.model_dump()
    optimizer = spec.optimizer.model_dump()
    train = spec.train.model_dump()
    for key in ("resample", "effective_lr"):  # defaults leave the runs' identities as they were
        if train[key] == TrainSpec.model_fields[key].default:
            del train[key]
    dataset = {"name": spec.dataset.name, **spec.dataset.params()}
    runs = []
    grid = itertools.product(
        _as_list(spec.optimizer.lr),
        _as_list(spec.init),
        _as_list(spec.regularization),
        _as_list(spec.seeds),
    )
    for lr, init, reg, seed in grid:
        runs.append(
            RunConfig(
                dataset=dataset,
                model=model,
                init=str(resolve(init)),
                regularization=str(parse_regularization(reg)),
                optimizer={**optimizer, "lr": float(lr), "betas": list(optimizer["betas"])},
                train=train,
                seed=int(seed),
            )
        )
    return runs
