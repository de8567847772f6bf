"""Claims judged on synthetic runs whose outcome is known."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from weightlab.claims import (
    Claim,
    RunView,
    bootstrap_interval,
    check_claims,
    evaluate,
    parse_metric,
    parse_selector,
    t_interval,
    t_quantile,
)
from weightlab.claims.metrics import is_recorded
from weightlab.sweep import load_spec
from weightlab.sweep.runner import prepare
from weightlab.train import train_run


def run(
    reg: str = "none",
    seed: int = 0,
    *,
    init: str = "he_normal",
    lr: float = 0.1,
    status: str = "done",
    seconds: float = 10.0,
    curve: dict[str, list[tuple[int, float]]] | None = None,
    diagnostics: dict[int, Any] | None = None,
    **final: float,
) -> RunView:
    config = {
        "init": init,
        "regularization": reg,
        "optimizer": {"name": "sgd", "lr": lr},
        "train": {"steps": 100, "eval_every": 10, "histogram_steps": []},
        "seed": seed,
    }
    return RunView(config, status, final, curve or {}, diagnostics or {}, seconds)


def claim(**fields: Any) -> Claim:
    return Claim.model_validate(fields)


# -- statistics against scipy ---------------------------------------------------------------


@pytest.mark.parametrize("df", [1, 2, 4, 9, 30, 200])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995])
def test_t_quantiles_match_scipy(df: int, p: float) -> None:
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9)


def test_t_interval_matches_scipy() -> None:
    values = [0.3, 0.1, 0.45, 0.2, 0.31]
    iv = t_interval(values)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert (iv.low, iv.high) == pytest.approx((low, high), rel=1e-9)
    one = t_interval([0.5])
    assert one.low == -math.inf and one.high == math.inf and one.n == 1


def test_bootstrap_intervals_cover_a_known_spread_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)

    def spread(g: list[np.ndarray]) -> float:
        return float(np.mean(np.std(g[0], axis=0, ddof=1)))

    covered = 0
    for repeat in range(200):
        x = rng.normal(0.0, 2.0, size=(30, 3))  # std 2 in every column
        iv = bootstrap_interval([x], spread, resamples=1000, seed=repeat)
        covered += iv.low < 2.0 < iv.high
    # BCa intervals of a spread from 30 rows cover about 92% of the time (a plain
    # percentile interval about 86%); 200 repeats give a binomial sd of about 2 points.
    assert 0.87 <= covered / 200 <= 0.99


# -- verdicts ---------------------------------------------------------------------------------


def test_a_clear_paired_effect_holds() -> None:
    runs = [run("none", s, gap=3.0 + 0.1 * s) for s in range(5)]
    runs += [run("dropout(0.5)", s, gap=1.0 + 0.12 * s) for s in range(5)]
    verdict = evaluate(claim(metric="gap", of="dropout(0.5)", below="none"), runs)
    assert verdict.verdict == "holds" and verdict.n == 5
    assert verdict.effect == pytest.approx(-2.0 + 0.02 * 2)
    assert verdict.high < 0 and verdict.test == "paired t, n=5"


def test_the_opposite_effect_fails_and_a_noisy_one_is_inconclusive() -> None:
    runs = [run("none", s, gap=1.0 + 0.01 * s) for s in range(5)]
    runs += [run("dropout(0.5)", s, gap=2.0 + 0.01 * s) for s in range(5)]
    assert evaluate(claim(metric="gap", of="dropout(0.5)", below="none"), runs).verdict == "fails"
    noisy = [run("none", s, gap=1.0) for s in range(5)]
    noisy += [run("dropout(0.5)", s, gap=v) for s, v in enumerate([0.2, 1.9, 0.5, 1.6, 0.9])]
    verdict = evaluate(claim(metric="gap", of="dropout(0.5)", below="none"), noisy)
    assert verdict.verdict == "inconclusive" and verdict.low < 0 < verdict.high


def test_one_seed_is_too_few_to_tell() -> None:
    runs = [run("none", 0, gap=3.0), run("l2(0.01)", 0, gap=1.0)]
    verdict = evaluate(claim(metric="gap", of="l2(0.01)", below="none"), runs)
    assert verdict.verdict == "inconclusive" and "too few seeds" in verdict.detail


def test_thresholds_margins_and_steps() -> None:
    runs = [run("l1(0.01)", s, sparsity_zero=0.8 + 0.01 * s) for s in range(4)]
    assert (
        evaluate(claim(metric="sparsity_zero", of="l1(1e-2)", above=0.5), runs).verdict == "holds"
    )
    margin = claim(metric="sparsity_zero", of="l1(1e-2)", above=0.5, by=0.4)
    assert evaluate(margin, runs).verdict == "fails"  # 0.8 is not 0.5 + 0.4
    curve = {"train_loss": [(0, 2.0), (50, 0.4), (100, 0.2)]}
    at = [run("none", s, curve=curve, train_loss=0.2) for s in range(3)]
    verdict = evaluate(claim(metric="train_loss", of="none", above=0.3, at=50), at)
    assert verdict.verdict == "holds" and verdict.effect == pytest.approx(0.1)


def test_term_names_select_every_strength_and_reduce_combines_a_grid() -> None:
    runs = []
    for s in range(4):
        runs += [
            run("decoupled_decay(0.01)", s, lr=lr, val_acc=a) for lr, a in ((0.1, 0.9), (0.2, 0.8))
        ]
        runs += [run("l2(0.001)", s, lr=lr, val_acc=a) for lr, a in ((0.1, 0.85), (0.2, 0.7))]
    best = claim(metric="val_acc", of="decoupled_decay", above="l2", reduce="max")
    assert evaluate(best, runs).effect == pytest.approx(0.05)
    mean = claim(metric="val_acc", of="decoupled_decay", above="l2")
    assert evaluate(mean, runs).effect == pytest.approx(0.075)
    lr_only = claim(metric="val_acc", of={"regularization": "l2", "lr": 0.2}, below=0.75)
    assert evaluate(lr_only, runs).verdict == "holds"


def test_inits_and_derived_metrics() -> None:
    fast = {"train_loss": [(0, 2.0), (10, 0.5), (20, 0.2)]}
    slow = {"train_loss": [(0, 2.0), (10, 1.5), (50, 0.25), (100, 0.2)]}
    never = {"train_loss": [(0, 2.0), (100, 0.9)]}
    runs = [run("none", s, curve=fast, steps_done=100) for s in range(3)]
    runs += [
        run("dropout(0.5)", s, curve=slow if s < 2 else never, steps_done=100) for s in range(3)
    ]
    steps = claim(metric="steps_to(train_loss <= 0.3)", of="dropout(0.5)", above="none")
    verdict = evaluate(steps, runs)
    assert verdict.effect == pytest.approx(((50 - 20) * 2 + (101 - 20)) / 3)  # never: steps + 1
    time = claim(metric="time_to(train_loss <= 0.3)", of="none", below=3.0)
    assert evaluate(time, runs).effect == pytest.approx(20 * 10.0 / 100 - 3.0)
    diag = {
        0: {
            "layers": [
                {"pre_var": 1.0, "saturated_fraction": 0.1},
                {"pre_var": 1e-9, "saturated_fraction": None},
            ]
        }
    }
    small = [run("none", s, init="normal(std=0.01)", diagnostics=diag) for s in range(3)]
    signal = claim(metric="init_signal", of={"init": "normal(std=0.01)"}, below=1e-6)
    assert evaluate(signal, small).verdict == "holds"


def test_a_group_statistic_gets_a_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    runs = []
    for s in range(24):
        wide = rng.normal(0.0, 1.0, 4)
        narrow = rng.normal(0.0, 0.1, 4)
        runs.append(run("none", s, **{f"coef/{i}": float(v) for i, v in enumerate(wide)}))
        runs.append(run("l2(1.0)", s, **{f"coef/{i}": float(v) for i, v in enumerate(narrow)}))
    verdict = evaluate(claim(metric="spread(coef)", of="l2(1.0)", below="none"), runs)
    assert verdict.verdict == "holds" and verdict.test == "paired BCa bootstrap over seeds, n=24"
    few = [r for r in runs if r.seed < 10]
    verdict = evaluate(claim(metric="spread(coef)", of="l2(1.0)", below="none"), few)
    assert verdict.verdict == "inconclusive" and "20 seeds" in verdict.detail
    assert -1.0 < verdict.effect < -0.6


def test_a_missing_metric_is_inconclusive() -> None:
    runs = [run("none", s) for s in range(3)]
    verdict = evaluate(claim(metric="val_acc", of="none", above=0.5), runs)
    assert verdict.verdict == "inconclusive" and "missing" in verdict.detail


def test_claims_say_themselves() -> None:
    c = claim(metric="gap", of="dropout(0.5)", below="none", by=0.1)
    assert c.text() == "gap of dropout(0.5) below none by 0.1"
    assert claim(metric="gap", of="l2", above=0.0, says="L2 helps").text() == "L2 helps"
    assert str(parse_selector({"init": "he_normal", "lr": 0.1})) == "he_normal | lr=0.1"


# -- bad claims --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"metric": "gap", "of": "none"},
            "The 'above' parameter of claim must be given, or below given (exactly one of them). Got [].",
        ),
        (
            {"metric": "gap", "of": "none", "above": 1, "below": 2},
            "exactly one of them). Got ['above', 'below'].",
        ),
        (
            {"metric": "gap!", "of": "none", "above": 1},
            "The 'metric' parameter of claim must be a recorded metric such as 'val_acc'",
        ),
        (
            {"metric": "steps_to(loss < 1)", "of": "none", "above": 1},
            "The 'metric' parameter of claim must be steps_to(metric <= value) or steps_to(metric >= value). Got 'steps_to(loss < 1)'.",
        ),
        (
            {"metric": "gap", "of": "l3(1)", "above": 1},
            "The 'of' parameter of claim must be a regularization ('l1(1e-2)', 'none'), a term's name ('l2'), an init scheme ('zeros') or a mapping of init, regularization and lr. Got 'l3(1)'.",
        ),
        (
            {"metric": "gap", "of": {"init": "bogus"}, "above": 1},
            "The 'of.init' parameter of claim must be an init scheme such as 'he_normal'. Got 'bogus'.",
        ),
        (
            {"metric": "gap", "of": {"lr": -1}, "above": 1},
            "The 'of.lr' parameter of claim must be a positive float. Got -1.",
        ),
        (
            {"metric": "gap", "of": "none", "below": "l9"},
            "The 'below' parameter of claim must be a regularization",
        ),
        (
            {"metric": "val_accuracy", "of": "none", "above": 0.5},
            "The 'metric' parameter of claim must be a metric the runs record, one of train_loss, val_loss,",
        ),
        (
            {"metric": "val_accuracy", "of": "none", "above": 0.5},
            "coef/<i> (did you mean 'val_acc'?). Got 'val_accuracy'.",
        ),
        (
            {"metric": "steps_to(loss <= 1)", "of": "none", "above": 1},
            "(did you mean 'val_loss'?). Got 'steps_to(loss <= 1)'.",
        ),
        (
            {"metric": "nosuch", "of": "none", "above": 1},
            "Got 'nosuch'.",
        ),
        (
            {"metric": "seconds", "of": "none", "above": 1, "at": 10},
            "The 'at' parameter of claim must be given only for a metric the runs record. Got 10.",
        ),
    ],
)
def test_bad_claims_name_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises((ValidationError, ValueError, TypeError), match=re.escape(message)):
        Claim.model_validate(fields)


def test_claims_must_match_runs_of_the_sweep() -> None:
    configs = [run("none").config, run("l2(0.01)").config]
    check_claims([claim(metric="gap", of="l2", below="none")], configs)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'claims[0].below' parameter of spec must be runs of this sweep. Got dropout(0.5)."
        ),
    ):
        check_claims([claim(metric="gap", of="l2", below="dropout(0.5)")], configs)
    with pytest.raises(
        ValueError,
        match=re.escape("The 'claims[0].at' parameter of spec must be an evaluation step"),
    ):
        check_claims([claim(metric="gap", of="l2", below="none", at=15)], configs)


def test_every_metric_a_run_records_is_in_the_table() -> None:
    """The table of recorded names (which claims are checked against before any
    training) against what runs do record: classification with dropout, probes and
    Adam's effective learning rates; regression with coefficients; feature selection."""
    specs = [
        {
            "dataset": {"name": "moons", "n_samples": 80},
            "model": {"arch": "mlp", "hidden": [6], "activation": "relu"},
            "regularization": "dropout(0.2)",
            "optimizer": {"name": "adam", "lr": 0.01},
            "train": {"effective_lr": True},
        },
        {
            "dataset": {"name": "sparse_features", "n_samples": 80, "n_features": 10},
            "model": {"arch": "linear"},
            "regularization": "l1(0.01)",
            "optimizer": {"name": "sgd", "lr": 0.01},
        },
        {
            "dataset": {"name": "multicollinear", "n_samples": 80},
            "model": {"arch": "linear"},
            "regularization": "l2(0.01)",
            "optimizer": {"name": "sgd", "lr": 0.01},
        },
    ]
    seen: set[str] = set()
    for extra in specs:
        train = {"steps": 4, "batch_size": 16, "eval_every": 2, **extra.pop("train", {})}
        spec = {"name": "names", "init": "he_normal", "seeds": [0], **extra, "train": train}
        configs, datasets = prepare(load_spec(spec))
        out = train_run(configs[0], next(iter(datasets.values())))
        seen |= {name for _, name, _ in out.metrics} | set(out.final)
    assert {"mc_agreement", "update_ratio/0.weight", "coef/0", "selection_recall"} <= seen
    assert sorted(name for name in seen if not is_recorded(name)) == []


def test_metric_names() -> None:
    assert parse_metric("norm/0.weight").arg == "norm/0.weight"
    assert parse_metric("spread(coef)").group and not parse_metric("val_acc").group
    with pytest.raises(TypeError, match="must be a recorded metric"):
        parse_metric(3)
