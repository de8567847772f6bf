"""What a claim can measure: a registry of metrics read from a stored run (or a group of
runs), by name.

- Every metric a run records (``val_acc``, ``gap``, ``sparsity_zero``, ``penalty``,
  ``selection_recall``, ``norm/0.weight``, ``mc_agreement``, ...) at the end of training
  or at an evaluation step (``at``).
- Derived per run: ``steps_to(train_loss <= 0.3)`` (the first evaluation step where a
  metric reaches a target; a run that never does counts as ``steps + 1``, a lower bound),
  ``time_to(...)`` (the same in seconds), ``seconds``, ``diverged`` (1 or 0), and at
  initialization ``init_signal`` (Var(z) of the output layer over that of the first,
  from the diagnostics at step 0) and ``init_saturated`` (the largest fraction of
  saturated tanh/sigmoid units of a hidden layer at step 0).
- Of a whole group, across its seeds: ``spread(coef)`` (the standard deviation across
  seeds of each recorded ``coef/i``, averaged over i).

:func:`parse_metric` validates a name; :func:`run_value` and :func:`group_value` read it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from weightlab._validate import fail

__all__ = [
    "METRICS",
    "MetricCall",
    "RunView",
    "group_value",
    "parse_metric",
    "run_value",
]


@dataclass(frozen=True)
class RunView:
    """What a claim reads of one stored run."""

    config: Mapping[str, Any]
    status: str
    final: Mapping[str, Any]
    metrics: Mapping[str, Sequence[tuple[int, float]]]
    diagnostics: Mapping[int, Mapping[str, Any]]
    seconds: float | None

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def steps(self) -> int:
        return int(self.config["train"]["steps"])


@dataclass(frozen=True)
class MetricCall:
    """A parsed metric name: ``name`` in :data:`METRICS` and its argument (a recorded
    metric's name, a target, a prefix)."""

    name: str
    arg: Any = None
    text: str = ""

    @property
    def group(self) -> bool:
        """A statistic of a whole group (across seeds), not of one run."""
        return METRICS[self.name].group is not None


@dataclass(frozen=True)
class Metric:
    """A registered metric: how to read it from one run (``per_run(run, arg, step)``) or
    from a group of runs (``group(values)`` over per-seed arrays), and what it means."""

    name: str
    summary: str
    per_run: Callable[[RunView, Any, int | None], float] | None = None
    group: Callable[[Sequence[np.ndarray]], float] | None = None
    collect: Callable[[RunView, Any], np.ndarray] | None = None


def _recorded(run: RunView, name: str, step: int | None) -> float:
    if step is None:
        value = run.final.get(name)
        return float(value) if value is not None else math.nan
    for s, v in run.metrics.get(name, ()):
        if s == step:
            return float(v)
    return math.nan


def _steps_to(run: RunView, target: tuple[str, str, float], step: int | None) -> float:
    name, op, value = target
    for s, v in run.metrics.get(name, ()):
        if (v <= value) if op == "<=" else (v >= value):
            return float(s)
    return float(run.steps + 1)


def _time_to(run: RunView, target: tuple[str, str, float], step: int | None) -> float:
    steps = _steps_to(run, target, step)
    done = float(run.final.get("steps_done", run.steps)) or 1.0
    return steps * (run.seconds or math.nan) / done


def _init_layers(run: RunView) -> list[Mapping[str, Any]]:
    return list(run.diagnostics.get(0, {}).get("layers", []))


def _init_signal(run: RunView, arg: Any, step: int | None) -> float:
    layers = _init_layers(run)
    if len(layers) < 2 or not layers[0]["pre_var"]:
        return math.nan
    return float(layers[-1]["pre_var"]) / float(layers[0]["pre_var"])


def _init_saturated(run: RunView, arg: Any, step: int | None) -> float:
    found = [float(x["saturated_fraction"]) for x in _init_layers(run)[:-1]]
    found = [f for f in found if f == f]
    return max(found) if found else math.nan


def _coefficients(run: RunView, prefix: str) -> np.ndarray:
    keys = sorted(
        (k for k in run.final if k.startswith(f"{prefix}/")), key=lambda k: int(k.split("/")[1])
    )
    return np.array([float(run.final[k]) for k in keys])


def _spread(groups: Sequence[np.ndarray]) -> float:
    """Mean over coefficients of their standard deviation across seeds (rows)."""
    matrix = groups[0]
    return float(np.mean(np.std(matrix, axis=0, ddof=1))) if len(matrix) > 1 else math.nan


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("recorded", "a metric the run records, at the end or at step `at`", _recorded),
        Metric(
            "steps_to",
            "the first evaluation step where a metric reaches a target (steps + 1 if never)",
            _steps_to,
        ),
        Metric("time_to", "steps_to in seconds (the run's seconds per step)", _time_to),
        Metric(
            "seconds",
            "the run's training time in seconds",
            lambda run, arg, step: float(run.seconds or math.nan),
        ),
        Metric(
            "diverged",
            "1 if the run's loss became NaN or infinite, else 0",
            lambda run, arg, step: float(run.status == "diverged"),
        ),
        Metric("init_signal", "Var(z) of the output layer over the first at init", _init_signal),
        Metric(
            "init_saturated",
            "the largest fraction of saturated hidden units at init",
            _init_saturated,
        ),
        Metric(
            "spread",
            "across the group's seeds, the std of each recorded coef/i, averaged over i",
            group=_spread,
            collect=_coefficients,
        ),
    )
}

# The metrics a run records (``weightlab.train``): at every evaluation and at the end;
# ``<layer>`` is a parameter's name such as ``0.weight``.  The end adds the rest.
RECORDED_EVERY_EVALUATION = (
    "train_loss", "val_loss", "train_acc", "val_acc", "train_mse", "val_mse", "gap",
    "penalty", "sparsity_zero", "sparsity_small", "lr", "norm/<layer>", "zeros/<layer>",
    "update_ratio/<layer>",
)  # fmt: skip
RECORDED_AT_THE_END = (
    "steps_done", "diverged_step", "min_distinct_units_fraction", "selection_precision",
    "selection_recall", "selected_features", "ablation_drop", "unit_correlation", "mc_acc",
    "mc_acc_gain", "mc_agreement", "mc_uncertainty", "mc_uncertainty_ratio",
    "adam_step_median", "adam_decay_spread", "coef/<i>",
)  # fmt: skip
RECORDED = RECORDED_EVERY_EVALUATION + RECORDED_AT_THE_END


def is_recorded(name: str) -> bool:
    """Whether runs record a metric called ``name`` (one of :data:`RECORDED`, with any
    layer name or index after a ``/``).

    Example:
        >>> is_recorded("val_acc"), is_recorded("norm/2.weight"), is_recorded("val_accuracy")
        (True, True, False)
    """
    head, slash, _ = name.partition("/")
    return any(name == known or (slash and known.startswith(head + "/<")) for known in RECORDED)


def _check_recorded(name: str, text: str, owner: str, param: str) -> None:
    if not is_recorded(name):
        close = difflib.get_close_matches(name, RECORDED, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        expected = "a metric the runs record, one of " + ", ".join(RECORDED) + hint
        raise fail(owner, param, expected, text)


_CALL = re.compile(r"^(\w+)\((.*)\)$")
_TARGET = re.compile(r"^\s*([\w/.]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")
_RECORDED = re.compile(r"^[a-z][\w]*(/[\w.*-]+)?$")
_EXPECTED = (
    "a recorded metric such as 'val_acc' or 'norm/0.weight', or one of "
    "'steps_to(train_loss <= 0.3)', 'time_to(...)', 'seconds', 'diverged', 'init_signal', "
    "'init_saturated', 'spread(coef)'"
)


def parse_metric(text: object, owner: str = "claim", param: str = "metric") -> MetricCall:
    """Validate a metric name of a claim.

    Example:
        >>> parse_metric("steps_to(train_loss <= 0.3)").arg
        ('train_loss', '<=', 0.3)
    """
    if not isinstance(text, str):
        raise fail(owner, param, _EXPECTED, text, wrong_type=True)
    stripped = text.strip()
    call = _CALL.match(stripped)
    if call is not None:
        name, inner = call.group(1), call.group(2)
        if name in ("steps_to", "time_to"):
            target = _TARGET.match(inner)
            if target is None:
                raise fail(
                    owner, param, f"{name}(metric <= value) or {name}(metric >= value)", text
                )
            _check_recorded(target.group(1), text, owner, param)
            return MetricCall(
                name, (target.group(1), target.group(2), float(target.group(3))), text
            )
        if name == "spread" and re.fullmatch(r"\w+", inner.strip()):
            return MetricCall(name, inner.strip(), text)
        raise fail(owner, param, _EXPECTED, text)
    if stripped in METRICS and METRICS[stripped].per_run is not None and stripped != "recorded":
        return MetricCall(stripped, None, text)
    if _RECORDED.match(stripped):
        _check_recorded(stripped, text, owner, param)
        return MetricCall("recorded", stripped, text)
    raise fail(owner, param, _EXPECTED, text)


def run_value(call: MetricCall, run: RunView, step: int | None = None) -> float:
    """The metric of one run (at ``step`` for recorded metrics)."""
    per_run = METRICS[call.name].per_run
    assert per_run is not None
    return per_run(run, call.arg, step)


def group_value(call: MetricCall, runs: Sequence[RunView]) -> np.ndarray:
    """The per-run data a group metric is computed from, one row per run."""
    collect = METRICS[call.name].collect
    assert collect is not None
    return np.stack([collect(run, call.arg) for run in runs])
