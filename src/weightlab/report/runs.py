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
from weightlab.report.effective import (
    STEP_KIND,
    effective_caption,
    effective_lr_figure,
    layer_mean,
)
from weightlab.report.figures import activation_histograms, variance_vs_depth
from weightlab.store import RunRecord, Store

__all__ = [
    "FigureItem",
    "RunData",
    "activations_caption",
    "best_setting",
    "collapsed",
    "finite_mean",
    "first_and_last_hidden",
    "gap_caption",
    "gap_figure",
    "init_loss_caption",
    "load_runs",
    "loss_curves_figure",
    "percent",
    "seed_spread",
    "sweep_figures",
    "variance_caption",
    "weight_histograms_figure",
    "weights_caption",
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
    at 0.  Entries are ``(label, histogram, zero_fraction)``.

    The panels share both axes: one x range, symmetric around 0 and wide enough for
    every histogram, and one y scale (fraction of weights per bin), so that the runs
    compare at a glance."""
    if not others:
        raise fail("weight_histograms_figure", "others", "at least one regularized run", [])
    fig = Figure(figsize=(5.2 * len(others), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(others), squeeze=False, sharex=True, sharey=True)[0])
    base_label, base_hist, base_zero = baseline
    for ax, (label, hist, zero) in zip(axes, others, strict=True):
        _step_hist(ax, base_hist, "tab:red", f"{base_label} ({percent(base_zero)} exactly 0)")
        _step_hist(ax, hist, "tab:blue", f"{label} ({percent(zero)} exactly 0)")
        if zero > 0:
            ax.axvline(0.0, color="tab:blue", linestyle=":", linewidth=1)
            ax.annotate(
                f"{percent(zero)} exactly 0",
                (0.0, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=8,
                color="tab:blue",
            )
        ax.set(xlabel="weight value", title=label)
        ax.legend(fontsize=7, loc="center right")
    axes[0].set_ylabel("fraction of weights per bin")
    widest = max(_half_width(h) for h in (base_hist, *(h for _, h, _ in others)))
    axes[0].set_xlim(-widest, widest)
    if log_counts:
        axes[0].set_yscale("log")
    else:
        axes[0].set_ylim(
            0.0, 1.15 * max(_tallest(h) for h in (base_hist, *(h for _, h, _ in others)))
        )
    if title:
        fig.suptitle(title)
    return fig


def _half_width(hist: Histogram) -> float:
    """The largest ``|edge|`` of a histogram's range (weights' histograms are symmetric)."""
    ends = [abs(v) for v in (hist.low, hist.high) if math.isfinite(v)]
    return max(ends, default=1.0)


def _tallest(hist: Histogram) -> float:
    """The largest fraction of values in one bin."""
    total = sum(hist.counts)
    return max(hist.counts, default=0) / total if total else 1.0


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
        scores = {
            label: finite_mean([float(f.get(score, math.nan)) for f in finals[label]])
            for label in labels
        }
        best = best_setting(scores, higher=score.endswith("acc"))
        if best is not None:  # the U-curve's best strength, marked
            at = x[labels.index(best)]
            ax_f.axvline(at, color="tab:green", linestyle=":", linewidth=1)
            ax_f.annotate(
                f"best {score.replace('_', ' ')}: {best}",
                (at, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=7,
                color="tab:green",
            )
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
# The numbers captions print, each from one small function.


def percent(fraction: float) -> str:
    """``fraction`` as a whole percentage that never reads 0% or 100% unless it is
    exactly that: one decimal near the ends, then ``<0.1%`` or ``>99.9%``.

    Example:
        >>> [percent(f) for f in (0.0, 1.0, 0.654, 0.003, 1e-5, 0.998, 0.99997)]
        ['0%', '100%', '65%', '0.3%', '<0.1%', '99.8%', '>99.9%']
    """
    if not math.isfinite(fraction):
        return str(fraction)
    value = 100 * fraction
    text = f"{value:.0f}%"
    if text in ("0%", "-0%") and value != 0:
        text = f"{value:.1f}%" if f"{value:.1f}" != "0.0" else "<0.1%"
    elif text == "100%" and value != 100:
        text = f"{value:.1f}%" if f"{value:.1f}" != "100.0" else ">99.9%"
    return text


def finite_mean(values: Sequence[float]) -> float:
    """The mean of the finite values (a diverged seed's NaN does not hide the others);
    NaN when none is finite.

    Example:
        >>> finite_mean([1.0, 2.0, math.nan, 6.0]), finite_mean([math.inf])
        (3.0, nan)
    """
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan


def seed_spread(values: Sequence[float]) -> float:
    """Largest minus smallest of the finite values (0 for one seed; NaN for none).

    Example:
        >>> seed_spread([0.25, 0.5, 0.75]), seed_spread([2.0])
        (0.5, 0.0)
    """
    finite = [v for v in values if math.isfinite(v)]
    return max(finite) - min(finite) if finite else math.nan


def best_setting(means: Mapping[str, float], *, higher: bool) -> str | None:
    """The setting with the highest (``higher``) or lowest finite mean; the first one
    listed among ties; ``None`` when no mean is finite.

    Example:
        >>> best_setting({"a": 0.5, "b": math.nan, "c": 0.9}, higher=True)
        'c'
        >>> best_setting({"a": 0.5, "b": math.nan, "c": 0.9}, higher=False)
        'a'
    """
    finite = {k: v for k, v in means.items() if math.isfinite(v)}
    if not finite:
        return None
    sign = 1.0 if higher else -1.0
    return max(finite, key=lambda k: sign * finite[k])


def first_and_last_hidden(values: Sequence[float]) -> tuple[float, float]:
    """A per-layer series' values at the first and the last hidden layer: the last
    entry is the output layer, so the last hidden one is the one before it (a model
    with one layer gives that layer twice).

    Example:
        >>> first_and_last_hidden([1.0, 0.5, 0.25, 9.0]), first_and_last_hidden([4.0])
        ((1.0, 0.25), (4.0, 4.0))
    """
    return values[0], values[-2] if len(values) > 1 else values[-1]


def collapsed(fractions: Mapping[str, Sequence[float]], below: float = 0.5) -> dict[str, float]:
    """The settings whose hidden units collapsed into copies in every seed: for each
    seed, the fewest distinct units of any hidden layer as a fraction of its width is
    under ``below``.  Maps each such setting to its largest fraction over the seeds.

    Example:
        >>> collapsed({"zeros": [1 / 16, 1 / 16], "he": [1.0, 1.0], "mixed": [0.1, 0.9]})
        {'zeros': 0.0625}
    """
    out: dict[str, float] = {}
    for setting, values in fractions.items():
        finite = [v for v in values if math.isfinite(v)]
        if finite and max(finite) < below:
            out[setting] = max(finite)
    return out


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
                "post_var": [layer.get("post_var", math.nan) for layer in layers],
                "chain": [layer.get("predicted_pre_var_chain", math.nan) for layer in layers],
                "weight_grad_var": [layer["weight_grad_var"] for layer in layers],
            }
    if hists:
        post = {k: v["post_var"] for k, v in depth.items()}
        items.append(
            FigureItem(
                "init_activations",
                "Activations per layer at initialization",
                activation_histograms(hists, sweep, variances=post),
                activations_caption(post, _one({r.seed for r in first.values()})),
            )
        )
        items.append(
            FigureItem(
                "init_variance",
                "Variance against depth, measured and predicted",
                variance_vs_depth(depth, sweep),
                variance_caption({k: v["pre_var"] for k, v in depth.items()}),
            )
        )
    score = _score(runs)
    curves = {init: [_curve(r, "train_loss") for r in group] for init, group in by_init.items()}
    finals = {init: [r.final(score) for r in group] for init, group in by_init.items()}
    distinct = {
        init: [r.final("min_distinct_units_fraction") for r in group]
        for init, group in by_init.items()
    }
    items.append(
        FigureItem(
            "init_loss",
            "Training loss by initialization",
            loss_curves_figure(curves, title=sweep),
            init_loss_caption(score, finals, distinct),
        )
    )
    return items


def _one(values: set[int]) -> int | None:
    return next(iter(values)) if len(values) == 1 else None


def activations_caption(variances: Mapping[str, Sequence[float]], seed: int | None) -> str:
    """The activation-histogram figure's caption: per scheme, the standard deviation
    of the activations φ(z) at the first and the last hidden layer
    (:func:`first_and_last_hidden` of the stored variances).

    Example:
        >>> text = activations_caption({"zeros": [0.0, 0.0, 0.0], "he": [0.64, 0.36, 1.0]}, 0)
        >>> print(*text.split(", "), sep="\\n")
        Standard deviation of the activations φ(z) at initialization (seed 0)
        first → last hidden layer: zeros 0 → 0; he 0.8 → 0.6. Each panel prints its own range.
    """
    parts = []
    for scheme, values in variances.items():
        first, last = first_and_last_hidden(values)
        parts.append(f"{scheme} {_sd(first)} → {_sd(last)}")
    which = f"seed {seed}" if seed is not None else "each scheme's lowest seed"
    return (
        f"Standard deviation of the activations φ(z) at initialization ({which}), "
        f"first → last hidden layer: {'; '.join(parts)}. Each panel prints its own range."
    )


def variance_caption(pre_var: Mapping[str, Sequence[float]]) -> str:
    """The variance figure's caption: per scheme, Var(z) at the first and the last
    hidden layer (:func:`first_and_last_hidden`).

    Example:
        >>> variance_caption({"he": [2.0, 1.9, 2.1, 5.0]})
        'First to last hidden layer: he: Var(z) 2 → 2.1.'
    """
    text = "; ".join(
        f"{k}: Var(z) {_fmt(a)} → {_fmt(b)}"
        for k, (a, b) in ((k, first_and_last_hidden(v)) for k, v in pre_var.items())
    )
    return f"First to last hidden layer: {text}."


def init_loss_caption(
    score: str,
    finals: Mapping[str, Sequence[float]],
    distinct: Mapping[str, Sequence[float]],
) -> str:
    """The loss figure's caption: each init's final ``score`` averaged over its seeds
    (:func:`finite_mean`), the best one (:func:`best_setting`; accuracy higher, MSE
    lower) and the inits whose hidden units end as copies in every seed
    (:func:`collapsed`).

    Example:
        >>> text = init_loss_caption(
        ...     "val_acc",
        ...     {"zeros": [0.1, 0.2], "he": [0.9, 0.95]},
        ...     {"zeros": [0.0625, 0.0625], "he": [1.0, 1.0]},
        ... )
        >>> text.split(". ")[:2]
        ['Final val_acc, mean over seeds: zeros 0.15; he 0.925', 'Best: he']
        >>> text.split(": ")[-1]
        'zeros (at most 6% distinct).'
    """
    means = {k: finite_mean(v) for k, v in finals.items()}
    text = f"Final {score}, mean over seeds: " + "; ".join(
        f"{k} {_fmt(means[k], 3)}" + (f" ({_left_out(v)})" if _left_out(v) else "")
        for k, v in finals.items()
    )
    best = best_setting(means, higher=score.endswith("acc"))
    text += f". Best: {best}." if best is not None else ". No run has a finite score."
    copies = collapsed(distinct)
    if copies:
        listed = ", ".join(f"{k} (at most {percent(v)} distinct)" for k, v in copies.items())
        text += (
            " Hidden units identical copies at the end (in every seed, fewer than half of "
            f"some layer distinct): {listed}."
        )
    return text


def _left_out(values: Sequence[float]) -> str:
    """A note on the seeds a mean leaves out (diverged: not finite), or ``""``."""
    bad = sum(not math.isfinite(v) for v in values)
    return f"{bad} of {len(values)} seeds not finite, left out" if bad else ""


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}g}" if math.isfinite(value) else str(value)


def _sd(variance: float) -> str:
    """A standard deviation from a variance, two digits."""
    return f"{math.sqrt(variance):.2g}" if math.isfinite(variance) and variance >= 0 else "nan"


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
    entries, matched = [], []
    for reg, group in by_reg.items():
        if not _shapes_weights(reg):
            continue
        twin = [r for r in group if r.seed == base.seed and r.init == base.init]
        run = twin[0] if twin else pick(group)
        hist = run.histogram("weight", "*")
        if hist is not None:
            entries.append((_label(reg), hist, run.final("sparsity_zero")))
            matched.append(bool(twin))
    if base_hist is None or not entries:
        return []
    caption = weights_caption(
        [(label, zero) for label, _, zero in entries],
        base.final("sparsity_zero"),
        same_seed=all(matched),
    )
    fig = weight_histograms_figure(
        ("none", base_hist, base.final("sparsity_zero")), entries, title=sweep
    )
    return [
        FigureItem(
            "weight_histograms", "Weight histograms: unregularized vs regularized", fig, caption
        )
    ]


def weights_caption(zeros: Sequence[tuple[str, float]], baseline: float, *, same_seed: bool) -> str:
    """The weight-histogram figure's caption: each run's stored fraction of weights
    exactly zero (:func:`percent`), and whether every run shares the unregularized
    run's model, data, init and seed.

    Example:
        >>> text = weights_caption([("l1(0.01)", 0.654), ("l2(0.01)", 0.0)], 0.0, same_seed=True)
        >>> print(*text.split("; "), sep="\\n")
        l1(0.01) set 65% of weights to exactly zero
        l2(0.01) set 0% of weights to exactly zero
        unregularized 0%. Same model, data, init and seed.
    """
    parts = [f"{label} set {percent(zero)} of weights to exactly zero" for label, zero in zeros]
    same = (
        "Same model, data, init and seed."
        if same_seed
        else "Same model and data; not every run has the unregularized run's init and seed."
    )
    return f"{'; '.join(parts)}; unregularized {percent(baseline)}. {same}"


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
    mean = {reg: finite_mean(v) for reg, v in gaps.items()}
    spread = {reg: seed_spread(v) for reg, v in gaps.items()}
    fig = gap_figure(curves, finals, score=score, title=sweep)
    caption = gap_caption(gaps)
    if _varied(list(finals)) is not None:
        scores = {
            reg: finite_mean([float(f.get(score, math.nan)) for f in fs])
            for reg, fs in finals.items()
        }
        caption += " " + best_strength_caption(scores, score)
    return [
        FigureItem(
            "generalization_gap",
            "Generalization gap",
            fig,
            caption,
            {"gap_mean": mean, "gap_spread": spread},
        )
    ]


def best_strength_caption(scores: Mapping[str, float], score: str) -> str:
    """Where a strength sweep's validation score is best (marked in the figure).

    Example:
        >>> best_strength_caption({"none": 0.41, "l2(0.01)": 0.52, "l2(1)": 0.1}, "val_acc")
        'The best mean val_acc, 0.52, is at l2(0.01) (marked).'
    """
    best = best_setting(scores, higher=score.endswith("acc"))
    if best is None:
        return "No setting has a finite score."
    return f"The best mean {score}, {scores[best]:.3g}, is at {best} (marked)."


def gap_caption(gaps: Mapping[str, Sequence[float]]) -> str:
    """The generalization-gap figure's caption: each setting's final gap averaged over
    its seeds (:func:`finite_mean`) with the seeds' spread (:func:`seed_spread`), the
    smallest (:func:`best_setting`) and by how much it beats no regularization.

    Example:
        >>> text = gap_caption({"none": [3.0, 3.5], "l2(0.01)": [1.0, 1.25]})
        >>> print(*text.split(": "), sep="\\n")
        Final validation − training loss gap, mean over seeds
        none 3.25 (max − min over seeds 0.5); l2(0.01) 1.12 (max − min over seeds 0.25). Smallest
        l2(0.01). It narrows the gap by 2.12 compared with no regularization.
        >>> gap_caption({"none": [3.0, math.nan]}).split("mean over seeds: ")[1]
        'none 3 (max − min over seeds 0; 1 of 2 seeds not finite, left out). Smallest: none.'
    """
    mean = {reg: finite_mean(v) for reg, v in gaps.items()}
    parts = [
        f"{reg} {_fmt(mean[reg], 3)} (max − min over seeds {_fmt(seed_spread(v))}"
        + (f"; {_left_out(v)})" if _left_out(v) else ")")
        for reg, v in gaps.items()
    ]
    text = f"Final validation − training loss gap, mean over seeds: {'; '.join(parts)}."
    smallest = best_setting(mean, higher=False)
    if smallest is None:
        return text + " No setting has a finite gap."
    text += f" Smallest: {smallest}."
    if "none" in mean and smallest != "none" and math.isfinite(mean["none"]):
        narrowed = _fmt(mean["none"] - mean[smallest], 3)
        text += f" It narrows the gap by {narrowed} compared with no regularization."
    return text


def _layers_curve(run: RunData) -> Curve:
    """The mean over layers of a run's ``update_ratio/*`` curves, at their common steps."""
    names = [k for k in run.metrics if k.startswith("update_ratio/")]
    tables = [dict(run.metrics[k]) for k in names]
    steps = sorted(set.intersection(*(set(t) for t in tables))) if tables else []
    return steps, [finite_mean([t[step] for t in tables]) for step in steps]


def _effective_figure(runs: list[RunData], sweep: str) -> list[FigureItem]:
    if not any(k.startswith("update_ratio/") for r in runs for k in r.metrics):
        return []
    by_reg = _by(runs, "regularization")
    ratios = {reg: [_layers_curve(r) for r in group] for reg, group in by_reg.items()}
    steps = {}
    for reg, group in by_reg.items():
        first = min(group, key=lambda r: (r.seed, r.init))
        hist = first.histogram(STEP_KIND, "*")
        if hist is not None:
            steps[reg] = hist
    spreads = {
        reg: finite_mean([r.final("adam_decay_spread") for r in group])
        for reg, group in by_reg.items()
        if any("adam_decay_spread" in r.record.final for r in group)
    }
    finals = {
        reg: finite_mean([layer_mean(r.record.final) for r in group])
        for reg, group in by_reg.items()
    }
    fig = effective_lr_figure(ratios, steps, title=sweep)
    return [
        FigureItem(
            "effective_lr",
            "Effective learning rates",
            fig,
            effective_caption(spreads, finals),
            {"adam_decay_spread": spreads, "update_ratio": finals},
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
    items += _effective_figure(runs, sweep)
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
