"""Figures and the HTML report from stored runs: content, captions, and clear errors."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import numpy as np
import pytest
from matplotlib.patches import StepPatch

from weightlab.diagnose.propagation import Histogram
from weightlab.report import build_report, sweep_figures
from weightlab.report.runs import (
    gap_figure,
    load_runs,
    loss_curves_figure,
    percent,
    weight_histograms_figure,
)
from weightlab.store import Store
from weightlab.sweep import load_spec
from weightlab.sweep.runner import run_sweep

SPEC = {
    "name": "story",
    "dataset": {"name": "circle", "n_samples": 200},
    "model": {"arch": "mlp", "hidden": [16, 16], "activation": "tanh"},
    "init": ["zeros", "xavier_normal"],
    "regularization": ["none", "l1(1e-2)", "l2(1e-2)"],
    "optimizer": {"name": "sgd", "lr": 0.2, "momentum": 0.9},
    "train": {"steps": 200, "batch_size": 20, "eval_every": 50},
    "seeds": [0, 1],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    target = Store(tmp_path_factory.mktemp("store"))
    run_sweep(load_spec(SPEC), target)
    return target


def test_the_sweep_gets_the_figures_that_fit_it(store: Store) -> None:
    names = [item.name for item in sweep_figures(store, "story")]
    assert names == [
        "init_activations",
        "init_variance",
        "init_loss",
        "weight_histograms",
        "generalization_gap",
    ]


def test_weight_histograms_show_exact_zeros_from_the_runs(store: Store) -> None:
    item = next(i for i in sweep_figures(store, "story") if i.name == "weight_histograms")
    runs = {(r.regularization, r.init, r.seed): r for r in load_runs(store, "story")}
    l1 = runs[("l1(0.01)", "xavier_normal", 0)]
    l2 = runs[("l2(0.01)", "xavier_normal", 0)]
    axes = item.figure.axes
    assert len(axes) == 2  # L1 and L2 panels, each over the unregularized histogram
    for ax in axes:
        assert len([p for p in ax.patches if isinstance(p, StepPatch)]) == 2
    l1_zero = l1.final("sparsity_zero")
    assert l1_zero > 0.1 and l2.final("sparsity_zero") == 0.0
    assert (
        f"l1(0.01) [proximal rule] set {percent(l1_zero)} of weights to exactly zero"
        in item.caption
    )
    assert "l2(0.01) set 0% of weights to exactly zero" in item.caption
    assert item.caption.endswith("Same model, data, init and seed.")
    notes = [t.get_text() for t in axes[0].texts]
    assert notes == [f"{percent(l1_zero)} exactly 0"] and len(axes[1].texts) == 0
    # Twins: one x range and one y scale for both panels.
    assert axes[0].get_shared_x_axes().joined(*axes) and axes[0].get_shared_y_axes().joined(*axes)
    # The drawn L1 histogram is the stored one, as fractions.
    stored = l1.histogram("weight", "*")
    drawn = next(p for p in axes[0].patches if isinstance(p, StepPatch) and "l1" in p.get_label())
    values, edges = drawn.get_data()[:2]
    assert stored is not None
    np.testing.assert_allclose(values, np.array(stored.counts) / sum(stored.counts))
    assert edges[0] == pytest.approx(stored.low) and edges[-1] == pytest.approx(stored.high)


def test_loss_curves_are_seed_means_of_the_stored_metrics(store: Store) -> None:
    item = next(i for i in sweep_figures(store, "story") if i.name == "init_loss")
    (ax,) = item.figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"zeros", "xavier_normal"}
    runs = [r for r in load_runs(store, "story") if r.init == "zeros"]
    per_seed = [[v for _, v in r.metrics["train_loss"]] for r in runs]
    np.testing.assert_allclose(lines["zeros"].get_ydata(), np.mean(per_seed, axis=0))


def test_gap_figure_reports_means_and_the_caption_follows_them(store: Store) -> None:
    item = next(i for i in sweep_figures(store, "story") if i.name == "generalization_gap")
    left = item.figure.axes[0]
    assert len(left.get_lines()) == 6  # train and validation for 3 settings
    runs = load_runs(store, "story")
    for reg in ("none", "l1(0.01)", "l2(0.01)"):
        gaps = [r.final("gap") for r in runs if r.regularization == reg]
        assert item.numbers["gap_mean"][reg] == pytest.approx(statistics.fmean(gaps))
    smallest = min(item.numbers["gap_mean"], key=item.numbers["gap_mean"].get)
    assert f"Smallest: {smallest}." in item.caption


def test_init_figures_come_from_stored_diagnostics(store: Store) -> None:
    items = {i.name: i for i in sweep_figures(store, "story")}
    hist_fig = items["init_activations"].figure
    assert len(hist_fig.axes) == 2 * 2  # 2 schemes x 2 hidden layers
    forward, backward = items["init_variance"].figure.axes
    assert len(forward.get_lines()) == 4 and len(backward.get_lines()) == 2
    # The activations' caption prints each scheme's stored Var(φ(z)) as a standard
    # deviation, first and last hidden layer; zeros gives exactly 0 everywhere.
    runs = {(r.init, r.seed): r for r in load_runs(store, "story")}
    layers = runs[("xavier_normal", 0)].diagnostics[0]["layers"]
    first, last = layers[0]["post_var"] ** 0.5, layers[-2]["post_var"] ** 0.5
    assert f"zeros 0 → 0; xavier_normal {first:.2g} → {last:.2g}." in (
        items["init_activations"].caption
    )
    texts = [t.get_text() for ax in hist_fig.axes for t in ax.texts if t.get_gid() == "range"]
    # zeros: tanh(0) = 0 lands in the stored bin [0, 0.05] of the fixed range [-1, 1]
    # (40 bins); the store keeps no count of exact zeros, so the bound is that bin's edge.
    assert texts[:2] == ["|a| ≤ 0.05\nsd 0", "|a| ≤ 0.05\nsd 0"]
    assert texts[2].endswith(f"sd {first:.2g}") and texts[3].endswith(f"sd {last:.2g}")
    distinct = {r.init: r.final("min_distinct_units_fraction") for r in runs.values()}
    assert distinct["zeros"] < 0.5 <= distinct["xavier_normal"]
    assert items["init_loss"].caption.endswith(
        "Hidden units identical copies at the end (in every seed, fewer than half of some "
        f"layer distinct): zeros (at most {percent(distinct['zeros'])} distinct)."
    )


def test_html_report_is_self_contained(store: Store, tmp_path: Path) -> None:
    report = build_report(store, tmp_path / "out")
    page = report.html.read_text()
    assert page.count("data:image/png;base64,") == 5
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # nothing fetched from a network
    assert "set 0% of weights to exactly zero" in page
    assert len([p for p in report.figures if p.suffix == ".png"]) == 5
    assert len([p for p in report.figures if p.suffix == ".svg"]) == 5
    assert len(report.csv.read_text().strip().splitlines()) == 1 + 12


def test_missing_data_gives_clear_errors(tmp_path: Path) -> None:
    empty = Store(tmp_path / "empty")
    with pytest.raises(
        ValueError,
        match=r"The 'store' parameter of report must be a store with at least one sweep \(run 'weightlab run' first\)\.",
    ):
        build_report(empty, tmp_path / "out")
    with pytest.raises(
        ValueError,
        match=r"The 'sweep' parameter of report must be a sweep in the store \(none yet\)\. Got 'x'\.",
    ):
        sweep_figures(empty, "x")
    empty.add_sweep(
        "pending", {}, [("h", "a", {"init": "he_normal", "regularization": "none", "seed": 0})]
    )
    with pytest.raises(
        ValueError,
        match=r"The 'sweep' parameter of report must be a sweep with at least one finished run\. Got 'pending'\.",
    ):
        sweep_figures(empty, "pending")
    with pytest.raises(
        ValueError,
        match=r"The 'others' parameter of weight_histograms_figure must be at least one regularized run\. Got \[\]\.",
    ):
        weight_histograms_figure(("none", Histogram(-1, 1, (1, 1)), 0.0), [])
    with pytest.raises(
        ValueError,
        match=r"The 'curves' parameter of loss_curves_figure must be at least one setting with a curve",
    ):
        loss_curves_figure({})
    with pytest.raises(
        ValueError, match=r"The 'curves' parameter of gap_figure must be at least one setting"
    ):
        gap_figure({}, {})


def test_direct_calls_draw_what_they_are_given() -> None:
    hist = Histogram(-1.0, 1.0, (0, 2, 6, 2, 0))
    fig = weight_histograms_figure(
        ("none", hist, 0.0), [("l1(0.1) [clip rule]", hist, 0.5)], log_counts=True
    )
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert "l1(0.1) [clip rule] (50% exactly 0)" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]
    curves = {"a": [([0, 1, 2], [3.0, 2.0, 1.0]), ([0, 1, 2], [5.0, 4.0, 3.0])]}
    (ax,) = loss_curves_figure(curves).axes
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [4.0, 3.0, 2.0])


def test_background_figures_join_the_report_with_computed_captions(
    store: Store, tmp_path: Path
) -> None:
    from weightlab.data import load_dataset
    from weightlab.landscape import l1_first_axis, regularized_path
    from weightlab.report.background import background_figures
    from weightlab.report.paths import regularization_path, zero_fraction_from

    extras = background_figures()
    report = build_report(store, tmp_path / "out", extras=extras)
    page = report.html.read_text()
    # Landscape, paths and framework agreement (Keras and MLX are in the dev install).
    assert len(extras) == 3
    assert "The pictures behind the text" in page and page.count("data:image/png;base64,") == 8
    # The closed form, not the first point of a λ grid past it (0.275 on a 0.025 grid).
    lam, weight = l1_first_axis("quadratic")
    assert weight == 1 and f"first reaches an axis (w₂ exactly 0) at λ = {lam:.3g};" in (
        extras[0].caption
    )
    before, after = regularized_path("quadratic", "l1", [0.99 * lam, 1.01 * lam])
    assert before[1] != 0 and after[1] == 0
    # Half the lasso's coefficients are zero from a small λ, not from λ_max (3.62), where
    # all of them are.
    data = load_dataset("multicollinear", standardize=False)
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
    lasso = regularization_path(x - x.mean(axis=0), y - y.mean(), "l1")
    half = zero_fraction_from(lasso, 0.5)
    assert half is not None and half < 0.1 * lasso.lambdas[0]
    assert f"exactly zero at every λ ≥ {half:.3g} (the smallest such λ" in extras[1].caption
    assert "ridge shrinks the coefficients together and sets no coefficient exactly to zero" in (
        extras[1].caption
    )


def test_gap_figure_uses_a_strength_axis_when_one_regularizer_varies() -> None:
    curve = ([0, 10], [1.0, 0.5])
    labels = ["l1(0.01)", "none", "l1(0.001)"]
    curves = {label: [(curve, curve)] for label in labels}
    finals = {
        "l1(0.01)": [
            {"gap": 0.1, "val_acc": 0.9, "sparsity_zero": 0.8},
            {"gap": 0.2, "val_acc": 0.8, "sparsity_zero": 0.7},
        ],
        "none": [
            {"gap": 0.5, "val_acc": 0.7, "sparsity_zero": 0.0},
            {"gap": 0.6, "val_acc": 0.6, "sparsity_zero": 0.0},
        ],
        "l1(0.001)": [
            {"gap": 0.3, "val_acc": 0.8, "sparsity_zero": 0.2},
            {"gap": 0.4, "val_acc": 0.7, "sparsity_zero": 0.3},
        ],
    }
    right = gap_figure(curves, finals).axes[1]
    assert right.get_xscale() == "symlog" and right.get_xlabel() == "l1 strength (0: none)"
    gap_line = next(line for line in right.get_lines() if line.get_label() == "gap")
    np.testing.assert_allclose(gap_line.get_xdata(), [0.0, 0.001, 0.01])
    np.testing.assert_allclose(gap_line.get_ydata(), [0.55, 0.35, 0.15])
    assert len(right.collections) == 3  # one seed-range band per metric
    # The best validation accuracy (l1(0.01): 0.85) is marked on the strength axis.
    assert [t.get_text() for t in right.texts] == ["best val acc: l1(0.01)"]
    marks = [line for line in right.get_lines() if list(line.get_xdata()) == [0.01, 0.01]]
    assert len(marks) == 1
    mixed = gap_figure(
        {"none": [(curve, curve)], "l2(0.1)": [(curve, curve)]}
        | {"dropout(0.2)": [(curve, curve)]},
        {k: [{"gap": 0.1}] for k in ("none", "l2(0.1)", "dropout(0.2)")},
    ).axes[1]
    assert mixed.get_xscale() == "linear" and [t.get_text() for t in mixed.get_xticklabels()] == [
        "none",
        "l2(0.1)",
        "dropout(0.2)",
    ]
