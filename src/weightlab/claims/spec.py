"""Claims as a spec writes them: a metric of a group of runs, compared with a number or
with another group.

.. code-block:: yaml

    claims:
      - {metric: sparsity_zero, of: "l1(1e-2)", above: 0.5}
      - {metric: gap, of: "dropout(0.5)", below: none}
      - {metric: val_acc, of: {init: he_normal}, above: {init: zeros}, by: 0.1}
      - {metric: "steps_to(train_loss <= 0.3)", of: "dropout(0.5)", above: none}
      - {metric: val_acc, of: decoupled_decay, above: l2, reduce: max}
      - {metric: train_loss, of: none, below: "dropout(0.5)", at: 500}

``of`` and a non-numeric ``above``/``below`` select runs: a regularization string
(``"l1(1e-2)"``, ``none``), a term's name alone (``l2``: every run regularized by one
``l2`` term, whatever its strength), an init scheme (``zeros``, ``"normal(std=0.01)"``),
or a mapping of ``init``, ``regularization`` and ``lr``.  Runs are paired by seed; when a
group holds several runs of one seed (a grid), ``reduce`` (``mean``, ``max``, ``min``)
combines them.  ``by`` is the margin the difference must clear, ``at`` an evaluation step
(default: the end of training), ``says`` the claim in words for tables and reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from weightlab._validate import Described, ParameterError, fail, is_real
from weightlab.claims.metrics import MetricCall, parse_metric
from weightlab.init import resolve
from weightlab.regularize import REGISTRY, Regularization, parse_regularization

__all__ = ["Claim", "Selector", "check_claims", "parse_selector"]

_SELECTOR = (
    "a regularization ('l1(1e-2)', 'none'), a term's name ('l2'), an init scheme "
    "('zeros') or a mapping of init, regularization and lr"
)


@dataclass(frozen=True)
class Selector:
    """Which runs a claim is about (every given field must match)."""

    init: str | None = None
    regularization: Regularization | None = None
    term: str | None = None  # a term's name: any strength
    lr: float | None = None

    def matches(self, config: Mapping[str, Any]) -> bool:
        if self.init is not None and str(resolve(str(config["init"]))) != self.init:
            return False
        reg = parse_regularization(str(config["regularization"]))
        if self.regularization is not None and reg != self.regularization:
            return False
        if self.term is not None and [t.name for t in reg.terms] != [self.term]:
            return False
        return self.lr is None or math.isclose(float(config["optimizer"]["lr"]), self.lr)

    def __str__(self) -> str:
        parts = []
        if self.init is not None:
            parts.append(self.init)
        if self.regularization is not None:
            parts.append(str(self.regularization))
        if self.term is not None:
            parts.append(f"{self.term}(any)")
        if self.lr is not None:
            parts.append(f"lr={self.lr:g}")
        return " | ".join(parts) or "every run"


def parse_selector(value: object, field: str = "of") -> Selector:
    """A selector from its spec form (see the module docstring).

    Example:
        >>> str(parse_selector("l1(1e-2)")), str(parse_selector("zeros"))
        ('l1(0.01)', 'zeros')
    """
    if isinstance(value, str):
        return _from_text(value, field)
    if isinstance(value, Mapping):
        unknown = set(value) - {"init", "regularization", "lr"}
        if unknown or not value:
            raise fail("claim", field, _SELECTOR, dict(value))
        init = value.get("init")
        reg = value.get("regularization")
        lr = value.get("lr")
        if lr is not None and not (is_real(lr) and math.isfinite(lr) and lr > 0):
            raise fail("claim", f"{field}.lr", "a positive float", lr)
        base = _from_text(reg, f"{field}.regularization") if reg is not None else Selector()
        return Selector(
            init=_init(init, f"{field}.init") if init is not None else None,
            regularization=base.regularization,
            term=base.term,
            lr=float(lr) if lr is not None else None,
        )
    raise fail("claim", field, _SELECTOR, value, wrong_type=True)


def _from_text(text: object, field: str) -> Selector:
    if not isinstance(text, str):
        raise fail("claim", field, _SELECTOR, text, wrong_type=True)
    if text.strip() in REGISTRY:
        return Selector(term=text.strip())
    try:
        return Selector(regularization=parse_regularization(text))
    except (ParameterError, TypeError):
        pass
    try:
        return Selector(init=str(resolve(text)))
    except (ParameterError, TypeError):
        raise fail("claim", field, _SELECTOR, text) from None


def _init(text: object, field: str) -> str:
    try:
        return str(resolve(text))  # type: ignore[arg-type]
    except (ParameterError, TypeError):
        raise fail("claim", field, "an init scheme such as 'he_normal'", text) from None


Bound = float | str | dict[str, Any]


class Claim(BaseModel):
    """One claim of a spec (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    of: str | dict[str, Any]
    above: Bound | None = None
    below: Bound | None = None
    by: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    at: int | None = Field(default=None, ge=0)
    reduce: Literal["mean", "max", "min"] = "mean"
    says: str | None = Field(default=None, max_length=300)

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        parse_metric(value, "claim", "metric")
        return value

    @field_validator("of")
    @classmethod
    def _of(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        parse_selector(value, "of")
        return value

    @model_validator(mode="after")
    def _one_comparison(self) -> Claim:
        given = [name for name in ("above", "below") if getattr(self, name) is not None]
        if len(given) != 1:
            raise fail("claim", "above", "given, or below given (exactly one of them)", given)
        bound = self.bound
        if isinstance(bound, float) and not math.isfinite(bound):
            raise fail("claim", self.direction, "a finite number or runs to compare with", bound)
        if not isinstance(bound, float):
            parse_selector(bound, self.direction)
        if self.at is not None and self.metric_call.name != "recorded":
            raise fail("claim", "at", "given only for a metric the runs record", self.at)
        return self

    @property
    def direction(self) -> Literal["above", "below"]:
        return "above" if self.above is not None else "below"

    @property
    def bound(self) -> float | str | dict[str, Any]:
        value = self.above if self.above is not None else self.below
        assert value is not None
        return float(value) if is_real(value) else value  # type: ignore[arg-type]

    @property
    def metric_call(self) -> MetricCall:
        return parse_metric(self.metric)

    @property
    def group(self) -> Selector:
        return parse_selector(self.of, "of")

    @property
    def other(self) -> Selector | None:
        """The runs compared with, or None for a threshold."""
        bound = self.bound
        return None if isinstance(bound, float) else parse_selector(bound, self.direction)

    def text(self) -> str:
        """The claim in words: ``says``, or the metric, the groups and the comparison."""
        if self.says:
            return self.says
        bound = self.bound
        target = f"{bound:g}" if isinstance(bound, float) else str(self.other)
        margin = f" by {self.by:g}" if self.by else ""
        when = f" at step {self.at}" if self.at is not None else ""
        reduce = f" ({self.reduce} over the group)" if self.reduce != "mean" else ""
        return f"{self.metric} of {self.group} {self.direction} {target}{margin}{when}{reduce}"


def check_claims(claims: Sequence[Claim], configs: Sequence[Mapping[str, Any]]) -> None:
    """Every selector of every claim matches at least one run of the sweep, and ``at``
    is a step the runs evaluate at; else the error names the claim's field."""
    for i, claim in enumerate(claims):
        selectors = [("of", claim.group)]
        if claim.other is not None:
            selectors.append((claim.direction, claim.other))
        for field, selector in selectors:
            if not any(selector.matches(c) for c in configs):
                raise fail(
                    "spec", f"claims[{i}].{field}", "runs of this sweep", Described(str(selector))
                )
        if claim.at is not None and configs and not _evaluated(claim.at, configs[0]):
            expected = "an evaluation step (0, a multiple of train.eval_every, or train.steps)"
            raise fail("spec", f"claims[{i}].at", expected, claim.at)


def _evaluated(step: int, config: Mapping[str, Any]) -> bool:
    train = config["train"]
    every, steps = int(train["eval_every"]), int(train["steps"])
    return (
        step == 0
        or step == steps
        or (step <= steps and step % every == 0)
        or step in set(train.get("histogram_steps", []))
    )
