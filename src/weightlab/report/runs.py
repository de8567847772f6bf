"""Figures made from stored runs, each with a caption derived from its numbers.

Which figures a sweep gets depends on what it varies: several inits give the
initialization figures (activation histograms per layer, variance against depth with
the theory, loss curves); unregularized beside L1 or L2 runs give seed 000's weight
histograms; several regularizers give the generalization-gap figure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from weightlab._validate import fail
from weightlab.histogram import Histogram
from weightlab.regularize import parse_regularization
from weightlab.report.figures import activation_histograms, variance_vs_depth
from weightlab.store import RunRecord, Store

__all__ = [
    "FigureItem",
    "RunData",
    "gap_figure",
    "load_runs",
    "loss_curves_figure",
    "sweep_figures",
    "weight_histograms_figure",
]


@dataclass
class RunData:
    """A finished run with its metric curves, histograms and diagnostics."""

    record: RunRecord
    metrics: dict[str, list[tuple[int, float]]]
    histograms: list[dict[str, Any]]
    diagnostics: dict[int, dict[str, Any]]

    @property
    def init(self) -> str:
        return str(self.record.config["init"])

    @property
    def regularization(self) -> str:
        return str(self.record.config["regularization"])

    @property
    def seed(self) -> int:
        return int(self.record.config["seed"])

    def final(self, key: str) -> float:
        return float(self.record.final.get(key, math.nan))

    def histogram(self, kind: str, layer: str, step: int | None = None) -> Histogram | None:
        """The histogram of ``kind``/``layer`` at ``step`` (default: the last one)."""
        found = [h for h in self.histograms if h["kind"] == kind and h["layer"] == layer]
        if step is not None:
            found = [h for h in found if h["step"] == step]
        if not found:
            return None
        h = max(found, key=lambda h: h["step"])
        return Histogram(float(h["low"]), float(h["high"]), tuple(h["counts"]))


@dataclass
class FigureItem:
    """A figure, its file stem, a title and a caption derived from the numbers."""

    name: str
    title: str
    figure: Figure
    caption: str
    numbers: dict[str, Any] = field(default_factory=dict)


def load_runs(store: Store, sweep: str) -> list[RunData]:
    """Every finished (done or diverged) run of ``sweep``, with its stored data."""
    if sweep not in store.sweeps():
        raise fail(
            "report",
            "sweep",
            f"a sweep in the store ({', '.join(store.sweeps()) or 'none yet'})",
            sweep,
        )
    return [
        RunData(r, store.metrics(r.id), store.histograms(r.id), store.diagnostics(r.id))
        for r in store.runs(sweep)
        if r.status in ("done", "diverged")
    ]


# ---------------------------------------------------------------------------
# Figures from plain data (stored runs or direct calls feed them alike).


def _step_hist(ax: Any, hist: Histogram, color: str, label: str) -> None:
    counts = np.array(hist.counts, dtype=float)
    edges = np.linspace(hist.low, hist.high, len(counts) + 1)
    ax.stairs(counts / max(counts.sum(), 1.0), edges, color=color, label=label, linewidth=1.5)


def weight_histograms_figure(
    baseline: tuple[str, Histogram, float],
    others: Sequence[tuple[str, Histogram, float]],
    *,
    log_counts: bool = False,
    title: str = "",
) -> Figure:
    """Seed 000's figure: one panel per regularized run, its final weight histogram
    (blue) over the unregularized one (red), the fraction of exactly-zero weights marked
    at 0.  Entries are ``(label, histogram, zero_fraction)``."""
    if not others:
        raise fail("weight_histograms_figure", "others", "at least one regularized run", [])
    fig = Figure(figsize=(5.2 * len(others), 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(others), squeeze=False)[0])
    base_label, base_hist, base_zero = baseline
    for ax, (label, hist, zero) in zip(axes, others, strict=True):
        _step_hist(ax, base_hist, "tab:red", f"{base_label} ({base_zero:.0%} exactly 0)")
        _step_hist(ax, hist, "tab:blue", f"{label} ({zero:.0%} exactly 0)")
        if zero > 0:
            ax.axvline(0.0, color="tab:blue", linestyle=":", linewidth=1)
            ax.annotate(
                f"{zero:.0%} exactly 0",
                (0.0, 1.0),
                xycoords=("data", "axes fraction"),
                ha="left",
                va="top",
                fontsize=8,
                color="tab:blue",
            )
        ax.set(xlabel="weight value", ylabel="fraction of weights", title=label)
        if log_counts:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


Curve = tuple[Sequence[int], Sequence[float]]


def loss_curves_figure(
    curves: Mapping[str, Sequence[Curve]], *, metric: str = "train_loss", title: str = ""
) -> Figure:
    """One line per setting: the mean over seeds of ``metric`` against step, with the
    seeds' range as a band.  ``curves[label]`` holds one ``(steps, values)`` per seed."""
    if not curves:
        raise fail("loss_curves_figure", "curves", "at least one setting with a curve", {})
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    for i, (label, seeds) in enumerate(curves.items()):
        steps, low, mid, high = _band(seeds)
        ax.plot(steps, mid, color=f"C{i % 10}", label=label)
        if len(seeds) > 1:
            ax.fill_between(steps, low, high, color=f"C{i % 10}", alpha=0.2)
    values = [v for seeds in curves.values() for _, vs in seeds for v in vs if math.isfinite(v)]
    if values and min(values) > 0:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel=metric.replace("_", " "))
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return fig


def _band(seeds: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = min(len(vs) for _, vs in seeds)
    steps = np.array(seeds[0][0][:n])
    stack = np.array([list(vs[:n]) for _, vs in seeds], dtype=float)
    return steps, stack.min(axis=0), stack.mean(axis=0), stack.max(axis=0)


def gap_figure(
    curves: Mapping[str, Sequence[tuple[Curve, Curve]]],
    finals: Mapping[str, Sequence[Mapping[str, float]]],
    *,
    score: str = "val_acc",
    title: str = "",
) -> Figure:
    """Left: training (solid) and validation (dashed) loss per setting, mean over seeds.
    Right: final gap, validation score and sparsity per setting, mean and seed range.
    ``curves[label]`` holds ``(train_curve, val_curve)`` per seed; ``finals[label]``
    holds each seed's final metrics."""
    if not curves or not finals:
        raise fail("gap_figure", "curves", "at least one setting with curves and final metrics", {})
    fig = Figure(figsize=(12, 4.2))
    ax_c, ax_f = fig.subplots(1, 2)
    for i, (label, seeds) in enumerate(curves.items()):
        color = f"C{i % 10}"
        for which, style in ((0, "-"), (1, "--")):
            steps, _, mid, _ = _band([pair[which] for pair in seeds])
            ax_c.plot(steps, mid, color=color, linestyle=style, label=label if which == 0 else None)
    ax_c.set(xlabel="step", ylabel="loss (solid: train, dashed: validation)", yscale="log")
    ax_c.legend(fontsize=7)
    labels = list(finals)
    varied = _varied(labels)
    numeric = varied[1] if varied is not None else None
    if numeric is not None:  # draw in order of strength
        numeric, labels = (
            list(t) for t in zip(*sorted(zip(numeric, labels, strict=True)), strict=True)
        )
    x = (
        np.array(numeric, dtype=float)
        if numeric is not None
        else np.arange(len(labels), dtype=float)
    )
    for offset, key, color in (
        (-0.2, "gap", "tab:red"),
        (0.0, score, "tab:green"),
        (0.2, "sparsity_zero", "tab:gray"),
    ):
        vals = [[float(f.get(key, math.nan)) for f in finals[label]] for label in labels]
        mean = np.array([statistics.fmean(v) for v in vals])
        low, high = np.array([min(v) for v in vals]), np.array([max(v) for v in vals])
        name = key.replace("_", " ")
        if numeric is not None:  # a strength axis: mean line, seed range as a band
            ax_f.plot(x, mean, "o-", color=color, label=name)
            ax_f.fill_between(x, low, high, color=color, alpha=0.2)
        else:
            ax_f.errorbar(
                x + offset,
                mean,
                yerr=[mean - low, high - mean],
                fmt="o",
                color=color,
                capsize=3,
                label=name,
            )
    if numeric is not None:
        ax_f.set_xscale(
            "symlog", linthresh=min(v for v in numeric if v > 0) if any(numeric) else 1.0
        )
        ax_f.set(xlabel=f"{varied[0] if varied else ''} (0: none)")
    else:
        ax_f.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax_f.set(ylabel="final value (mean; band or bars: seed range)")
    ax_f.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def _varied(labels: Sequence[str]) -> tuple[str, list[float]] | None:
    """``(axis name, values)`` when every setting is one registered term that differs
    only in its first parameter (or none, drawn at 0), else None: the figure then gets a
    numeric λ or p axis."""
    terms = [parse_regularization(label).terms for label in labels]
    if any(len(t) > 1 for t in terms):
        return None
    used = [t[0] for t in terms if t]
    if not used or len({(t.name, t.params[1:]) for t in used}) != 1:
        return None
    first = used[0].entry.params[0].name
    values = [float(t[0].kwargs()[first]) if t else 0.0 for t in terms]
    if len(set(values)) != len(values) or len(values) < 2:
        return None
    return f"{used[0].name} {first}", values


# ---------------------------------------------------------------------------
# A sweep's figures and captions.


def _by(runs: Sequence[RunData], key: str) -> dict[str, list[RunData]]:
    out: dict[str, list[RunData]] = {}
    for run in runs:
        out.setdefault(str(getattr(run, key)), []).append(run)
    return out


def _curve(run: RunData, metric: str) -> Curve:
    points = run.metrics.get(metric, [])
    return [s for s, _ in points], [v for _, v in points]


def _score(runs: Sequence[RunData]) -> str:
    return "val_acc" if any("val_acc" in r.record.final for r in runs) else "val_mse"


def _init_figures(runs: list[RunData], sweep: str) -> list[FigureItem]:
    by_init = _by(runs, "init")
    first = {init: min(group, key=lambda r: r.seed) for init, group in by_init.items()}
    items = []
    hists = {}
    depth = {}
    for init, run in first.items():
        layers = run.diagnostics.get(0, {}).get("layers", [])
        found = [run.histogram("activation", layer["name"], 0) for layer in layers]
        if layers and all(h is not None for h in found):
            hists[init] = [h for h in found if h is not None]
            depth[init] = {
                "pre_var": [layer["pre_var"] for layer in layers],
                "chain": [layer.get("predicted_pre_var_chain", math.nan) for layer in layers],
                "weight_grad_var": [layer["weight_grad_var"] for layer in layers],
            }
    score = _score(runs)
    summary = {
        init: statistics.fmean(r.final(score) for r in group) for init, group in by_init.items()
    }
    symmetric = [
        init for init, run in first.items() if run.final("min_distinct_units_fraction") < 0.5
    ]
    best = max(summary, key=lambda k: summary[k] if score == "val_acc" else -summary[k])
    caption = f"Best final {score}: {best} ({summary[best]:.3g})."
    if symmetric:
        caption += f" Symmetric at the end (hidden units identical copies): {', '.join(symmetric)}."
    if hists:
        items.append(
            FigureItem(
                "init_activations",
                "Activations per layer at initialization",
                activation_histograms(hists, sweep),
                caption,
            )
        )
        spans = {k: v["pre_var"] for k, v in depth.items()}
        text = "; ".join(
            f"{k}: Var(z) {_fmt(v[0])} → {_fmt(v[-2] if len(v) > 1 else v[-1])}"
            for k, v in spans.items()
        )
        items.append(
            FigureItem(
                "init_variance",
                "Variance against depth, measured and predicted",
                variance_vs_depth(depth, sweep),
                f"First to last hidden layer: {text}.",
            )
        )
    curves = {init: [_curve(r, "train_loss") for r in group] for init, group in by_init.items()}
    finals = "; ".join(f"{k}: {v:.3g}" for k, v in summary.items())
    items.append(
        FigureItem(
            "init_loss",
            "Training loss by initialization",
            loss_curves_figure(curves, title=sweep),
            f"Final mean {score}: {finals}.",
        )
    )
    return items


def _fmt(value: float) -> str:
    return f"{value:.2g}" if math.isfinite(value) else str(value)


WEIGHT_EFFECTS = ("sparsity", "shrinkage", "constraint")
"""Effects of regularization terms (:attr:`weightlab.regularize.TermEntry.effect`) that
the weight histograms show."""


def _shapes_weights(reg: str) -> bool:
    return any(t.active and t.entry.effect in WEIGHT_EFFECTS for t in parse_regularization(reg))


def _label(reg: str) -> str:
    return "+".join(t.label() for t in parse_regularization(reg)) or "none"


def _weight_figure(runs: list[RunData], sweep: str) -> list[FigureItem]:
    by_reg = _by(runs, "regularization")
    if "none" not in by_reg or not any(_shapes_weights(k) for k in by_reg):
        return []

    def pick(group: list[RunData]) -> RunData:
        return min(group, key=lambda r: (r.seed, r.init))

    base = pick(by_reg["none"])
    base_hist = base.histogram("weight", "*")
    entries = []
    for reg, group in by_reg.items():
        if not _shapes_weights(reg):
            continue
        run = next((r for r in group if r.seed == base.seed and r.init == base.init), pick(group))
        hist = run.histogram("weight", "*")
        if hist is not None:
            entries.append((_label(reg), hist, run.final("sparsity_zero")))
    if base_hist is None or not entries:
        return []
    zeros = "; ".join(
        f"{label} set {zero:.0%} of weights to exactly zero" for label, _, zero in entries
    )
    caption = (
        f"{zeros}; unregularized {base.final('sparsity_zero'):.0%}. Same model, data and seed."
    )
    fig = weight_histograms_figure(
        ("none", base_hist, base.final("sparsity_zero")), entries, title=sweep
    )
    return [
        FigureItem(
            "weight_histograms", "Weight histograms: unregularized vs regularized", fig, caption
        )
    ]


def _gap_figure(runs: list[RunData], sweep: str) -> list[FigureItem]:
    by_reg = _by(runs, "regularization")
    if len(by_reg) < 2:
        return []
    score = _score(runs)
    curves = {
        reg: [(_curve(r, "train_loss"), _curve(r, "val_loss")) for r in g]
        for reg, g in by_reg.items()
    }
    finals = {reg: [r.record.final for r in g] for reg, g in by_reg.items()}
    gaps = {reg: [float(f.get("gap", math.nan)) for f in fs] for reg, fs in finals.items()}
    mean = {reg: statistics.fmean(v) for reg, v in gaps.items()}
    spread = {reg: max(v) - min(v) for reg, v in gaps.items()}
    smallest = min(mean, key=lambda k: mean[k])
    parts = [f"{reg} {mean[reg]:.3g} (seed range {spread[reg]:.2g})" for reg in mean]
    caption = (
        f"Final validation − training loss gap, mean over seeds: {'; '.join(parts)}. "
        f"Smallest: {smallest}."
    )
    if "none" in mean and smallest != "none":
        narrowed = mean["none"] - mean[smallest]
        caption += f" It narrows the gap by {narrowed:.3g} compared with no regularization."
    fig = gap_figure(curves, finals, score=score, title=sweep)
    return [
        FigureItem(
            "generalization_gap",
            "Generalization gap",
            fig,
            caption,
            {"gap_mean": mean, "gap_spread": spread},
        )
    ]


def sweep_figures(store: Store, sweep: str) -> list[FigureItem]:
    """The figures that fit ``sweep``'s contents, with captions from its numbers.

    Raises:
        ValueError: when the sweep has no finished run.
    """
    runs = load_runs(store, sweep)
    if not runs:
        raise fail("report", "sweep", "a sweep with at least one finished run", sweep)
    items: list[FigureItem] = []
    if len(_by(runs, "init")) > 1:
        items += _init_figures(runs, sweep)
    items += _weight_figure(runs, sweep)
    items += _gap_figure(runs, sweep)
    if not items:
        curves = {r.record.label: [_curve(r, "train_loss")] for r in runs}
        items.append(
            FigureItem(
                "loss",
                "Training loss",
                loss_curves_figure(curves, title=sweep),
                f"{len(runs)} run(s).",
            )
        )
    return items
