"""Judging a claim from stored runs: the effect, its 95% interval, and a verdict.

For a claim ``metric of A above B`` each seed run in both groups gives a difference
``d_s = m(A, s) − m(B, s)`` (several runs of one group and seed are combined by the
claim's ``reduce``); a threshold claim uses ``d_s = m(A, s) − threshold``.  The effect is
the mean of ``d``, with Student's t interval (paired t for two groups).  Statistics of a
whole group (``spread(coef)``) get a bootstrap interval over seeds instead.  With margin
``by``:

- *holds*: the interval lies beyond the margin in the claimed direction
  (``above``: low > by; ``below``: high < −by);
- *fails*: it lies on the other side (``above``: high < by; ``below``: low > −by);
- *inconclusive*: the interval contains the margin, or there are fewer than two seeds to
  tell (the interval is then unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from weightlab.claims.metrics import METRICS, MetricCall, RunView, group_value, run_value
from weightlab.claims.spec import Claim, Selector
from weightlab.claims.stats import Interval, bootstrap_interval, t_interval

__all__ = ["Verdict", "evaluate", "evaluate_all"]

VerdictKind = Literal["holds", "fails", "inconclusive"]
BOOTSTRAP_SEEDS = 20
"""Fewest seeds for a verdict from a bootstrap interval: its coverage of a spread is
about 77% of the nominal 95% at 10 seeds and 92% at 30 (normal data, measured)."""
_REDUCE: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": lambda v: float(np.mean(v)),
    "max": lambda v: float(np.max(v)),
    "min": lambda v: float(np.min(v)),
}


@dataclass(frozen=True)
class Verdict:
    """How one claim came out."""

    claim: Claim
    verdict: VerdictKind
    effect: float  # mean difference from the bound (negative: below it)
    low: float
    high: float
    n: int  # seeds
    test: str
    detail: str

    @property
    def text(self) -> str:
        return self.claim.text()

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.text,
            "spec": self.claim.model_dump(exclude_none=True),
            "verdict": self.verdict,
            "effect": self.effect,
            "interval": [self.low, self.high],
            "level": 0.95,
            "n": self.n,
            "test": self.test,
            "detail": self.detail,
        }


def evaluate_all(claims: Sequence[Claim], runs: Sequence[RunView]) -> list[Verdict]:
    """Every claim judged on ``runs`` (a sweep's finished runs)."""
    return [evaluate(claim, runs) for claim in claims]


def evaluate(claim: Claim, runs: Sequence[RunView]) -> Verdict:
    """One claim judged on ``runs`` (see the module docstring)."""
    call = claim.metric_call
    mine = _select(runs, claim.group)
    other = claim.other
    theirs = _select(runs, other) if other is not None else []
    if call.group:
        interval, detail = _group_interval(claim, mine, theirs)
    else:
        interval, detail = _run_interval(claim, mine, theirs)
    return _verdict(claim, interval, detail)


def _select(runs: Sequence[RunView], selector: Selector) -> list[RunView]:
    return [r for r in runs if selector.matches(r.config)]


def _per_seed(claim: Claim, runs: Sequence[RunView]) -> dict[int, float]:
    call = claim.metric_call
    by_seed: dict[int, list[float]] = {}
    for run in runs:
        value = run_value(call, run, claim.at)
        by_seed.setdefault(run.seed, [])
        if not math.isnan(value):  # a run without the metric: its seed may have others
            by_seed[run.seed].append(value)
    reduce = _REDUCE[claim.reduce]
    return {seed: reduce(v) if v else math.nan for seed, v in sorted(by_seed.items())}


def _run_interval(
    claim: Claim, mine: Sequence[RunView], theirs: Sequence[RunView]
) -> tuple[Interval, str]:
    a = _per_seed(claim, mine)
    bound = claim.bound
    if isinstance(bound, float):
        values = [v - bound for v in a.values()]
        detail = f"mean {_fmt(_mean(list(a.values())))} against {bound:g}"
        missing = sum(1 for v in values if math.isnan(v))
        return _t(values, "one-sample t"), _missing(detail, missing)
    b = _per_seed(claim, theirs)
    seeds = sorted(set(a) & set(b))
    values = [a[s] - b[s] for s in seeds]
    mean_a = _mean([a[s] for s in seeds])
    mean_b = _mean([b[s] for s in seeds])
    detail = f"mean {_fmt(mean_a)} against {_fmt(mean_b)}, paired by seed"
    missing = sum(1 for v in values if math.isnan(v))
    return _t(values, "paired t"), _missing(detail, missing)


def _t(values: Sequence[float], test: str) -> Interval:
    finite = [v for v in values if not math.isnan(v)]
    interval = t_interval(finite)
    return Interval(
        interval.estimate, interval.low, interval.high, interval.n, f"{test}, n={len(finite)}"
    )


def _group_interval(
    claim: Claim, mine: Sequence[RunView], theirs: Sequence[RunView]
) -> tuple[Interval, str]:
    call = claim.metric_call
    statistic = METRICS[call.name].group
    assert statistic is not None
    rows_a = _rows(call, mine)
    bound = claim.bound
    if isinstance(bound, float):
        seeds = sorted(rows_a)
        data = [np.stack([rows_a[s] for s in seeds])] if seeds else [np.zeros((0, 0))]
        interval = bootstrap_interval(data, lambda g: statistic(g) - bound)
        detail = f"{call.text} {_fmt(interval.estimate + bound)} against {bound:g}"
        return _relabel(interval, f"BCa bootstrap over seeds, n={len(seeds)}"), detail
    rows_b = _rows(call, theirs)
    seeds = sorted(set(rows_a) & set(rows_b))
    pair = [np.stack([rows_a[s] for s in seeds]), np.stack([rows_b[s] for s in seeds])]
    interval = bootstrap_interval(pair, lambda g: statistic([g[0]]) - statistic([g[1]]))
    detail = (
        f"{call.text} {_fmt(statistic([pair[0]]))} against {_fmt(statistic([pair[1]]))}, "
        "seeds resampled together"
    )
    return _relabel(interval, f"paired BCa bootstrap over seeds, n={len(seeds)}"), detail


def _rows(call: MetricCall, runs: Sequence[RunView]) -> dict[int, np.ndarray]:
    by_seed: dict[int, list[RunView]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, []).append(run)
    return {seed: group_value(call, group).mean(axis=0) for seed, group in sorted(by_seed.items())}


def _relabel(interval: Interval, test: str) -> Interval:
    return Interval(interval.estimate, interval.low, interval.high, interval.n, test)


def _verdict(claim: Claim, interval: Interval, detail: str) -> Verdict:
    margin = claim.by
    low, high = interval.low, interval.high
    verdict: VerdictKind
    if interval.n == 0 or math.isnan(interval.estimate):
        verdict = "inconclusive"
        detail += "; the metric is missing"
    elif interval.n < 2:
        verdict = "inconclusive"
        detail += "; too few seeds to tell"
    elif "bootstrap" in interval.test and interval.n < BOOTSTRAP_SEEDS:
        verdict = "inconclusive"
        detail += f"; a bootstrap interval needs {BOOTSTRAP_SEEDS} seeds to be trusted"
    elif claim.direction == "above":
        verdict = "holds" if low > margin else "fails" if high < margin else "inconclusive"
    else:
        verdict = "holds" if high < -margin else "fails" if low > -margin else "inconclusive"
    return Verdict(claim, verdict, interval.estimate, low, high, interval.n, interval.test, detail)


def _missing(detail: str, missing: int) -> str:
    return detail + (f"; {missing} seed(s) without the metric left out" if missing else "")


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)
