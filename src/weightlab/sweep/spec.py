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
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from weightlab._validate import ParameterError, fail
from weightlab.activations import ACTIVATION_MODULES
from weightlab.init import resolve
from weightlab.regularize import parse_regularization
from weightlab.train.config import RunConfig

__all__ = ["SweepSpec", "expand", "load_spec"]

REGRESSION_DATASETS = ("diabetes", "multicollinear")


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
        return self


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _where(error: dict[str, Any]) -> str:
    parts = [str(p) for p in error["loc"] if not str(p).startswith("function-after")]
    return ".".join(parts) or "spec"


def load_spec(source: str | Path | dict[str, Any]) -> SweepSpec:
    """Read and validate a spec from a YAML file or a dict.

    Raises:
        ValueError: naming the bad field's path, what is allowed and what was given.
    """
    if isinstance(source, dict):
        data: Any = source
    else:
        path = Path(source)
        if not path.is_file():
            raise fail("run", "spec", "an existing YAML file", str(path))
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise fail(
                "run", "spec", f"valid YAML ({str(error).splitlines()[0]})", str(path)
            ) from None
    if not isinstance(data, dict):
        raise fail(
            "run", "spec", "a YAML mapping with name, dataset, model, ...", type(data).__name__
        )
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as error:
        raise ParameterError(_message(error.errors()[0])) from None


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
