"""Framework agreement: the same tiny model trained in PyTorch, Keras and MLX, overlaid.

A setting written in one framework (``"keras:SGD(learning_rate=0.1) + L2(0.01)"``) is
translated into each other framework (:func:`weightlab.interop.translate.translate`), and
every framework trains the same model from the same initial weights on the same batches
in the same order (:func:`weightlab.interop.trajectory.trajectory`).  A weightlab setting
(``"weightlab:max_norm(0.5)"``, a term of your own) is a source too: weightlab trains it
with its own code (torch and the registry's arithmetic), and its translations into torch,
Keras and MLX are measured against that.  The figure overlays
a few weights' trajectories and draws, per step, the largest weight difference from the
source framework against the tolerance each translation states.

The model: 4 inputs, 5 tanh hidden units and 3 outputs, trained on mean squared error.

Keras trains on one of its backends (``keras_backend``: tensorflow, jax or torch; by default
the one this process's Keras runs on, torch unless ``KERAS_BACKEND`` says otherwise).  The
figure, its caption and the numbers name it: "Keras (tensorflow)".

Example:
    >>> data = agreement_data("torch:SGD(lr=0.1, weight_decay=0.02)", ("torch", "mlx"), steps=3)
    >>> data.source, data.others, len(data.trajectories["mlx"])
    ('torch', ('mlx',), 4)
    >>> bool(data.max_difference["mlx"] <= data.tolerance["mlx"])
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from weightlab._optional import require
from weightlab._validate import (
    OPTIONAL,
    POSITIVE,
    Constraint,
    Described,
    Instance,
    Interval,
    OneOf,
    Satisfies,
    check,
    fail,
)
from weightlab.interop.trajectory import (
    KERAS_BACKENDS,
    Weights,
    make_problem,
    max_difference,
    prepare_keras,
    trajectory,
)
from weightlab.interop.translate import parse_setting, translate

__all__ = [
    "AGREEMENT_FRAMEWORKS",
    "AGREEMENT_SOURCES",
    "AgreementData",
    "agreement_caption",
    "agreement_data",
    "agreement_figure",
    "pick_weights",
    "weight_label",
]

AGREEMENT_FRAMEWORKS: tuple[str, ...] = ("torch", "keras", "mlx")
"""The frameworks a setting is translated into and trained in."""
AGREEMENT_SOURCES: tuple[str, ...] = (*AGREEMENT_FRAMEWORKS, "weightlab")
"""The frameworks a setting may be written in: those, and weightlab's own terms."""
NAMES: Mapping[str, str] = {
    "torch": "PyTorch",
    "keras": "Keras",
    "mlx": "MLX",
    "weightlab": "weightlab",
}
SIZES: tuple[int, ...] = (4, 5, 3)
"""The model's layer widths: input, tanh hidden layer, output."""

# One line style per framework, the same in every panel: a wide pale solid line under a
# dashed line with circles under a dotted line with crosses, markers on alternate steps,
# so that lines lying on top of each other all stay visible; weightlab (a source only) is
# a dash-dotted line with squares on every third step.
_STYLES: Mapping[str, Mapping[str, Any]] = {
    "weightlab": {
        "linestyle": "-.",
        "linewidth": 1.2,
        "marker": "s",
        "markersize": 4,
        "markerfacecolor": "none",
        "markevery": (0, 3),
    },
    "torch": {"linestyle": "-", "linewidth": 4.0, "alpha": 0.35},
    "keras": {
        "linestyle": "--",
        "linewidth": 1.4,
        "marker": "o",
        "markersize": 5,
        "markerfacecolor": "none",
        "markevery": (0, 2),
    },
    "mlx": {
        "linestyle": ":",
        "linewidth": 1.6,
        "marker": "x",
        "markersize": 5,
        "markevery": (1, 2),
    },
}
_TOLERANCE_COLORS = ("tab:red", "tab:purple", "tab:brown")
_WEIGHT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")

WeightIndex = tuple[str, tuple[int, ...]]
"""A single weight: the tensor's name (``"0.weight"``) and the index in it (``(1, 2)``)."""


@dataclass(frozen=True, eq=False)
class AgreementData:
    """Trajectories of one setting in several frameworks, and how far they part.

    Attributes:
        setting: the source setting as given.
        source: the source setting's framework, the reference the others are measured
            against.
        frameworks: every framework trained, the source first.
        settings: per framework, the setting it trained (the source's own, or the
            translation's ``target_setting``).
        trajectories: per framework, ``steps + 1`` snapshots of every weight (torch
            layout), before training and after each step.
        differences: per framework other than the source, the largest ``|Δw|`` from the
            source over all weights at each of the ``steps + 1`` snapshots.
        exact: per framework other than the source, whether the translation is exact.
        tolerance: per framework other than the source, the largest difference the
            translation states for this many steps' worth of training.
        steps: training steps.
        seed: seed of the initial weights and the batches.
        lr: learning rate used where a setting names none.
        keras_backend: the backend Keras trained on (tensorflow, jax or torch); None
            where Keras did not train.
    """

    setting: str
    source: str
    frameworks: tuple[str, ...]
    settings: Mapping[str, str]
    trajectories: Mapping[str, Sequence[Weights]]
    differences: Mapping[str, np.ndarray]
    exact: Mapping[str, bool]
    tolerance: Mapping[str, float]
    steps: int
    seed: int = 0
    lr: float = 0.1
    keras_backend: str | None = None

    def name(self, framework: str) -> str:
        """The framework as the figure and caption write it: ``"Keras (tensorflow)"``."""
        if framework == "keras" and self.keras_backend is not None:
            return f"{NAMES[framework]} ({self.keras_backend})"
        return NAMES[framework]

    @property
    def others(self) -> tuple[str, ...]:
        """The frameworks compared with the source."""
        return tuple(f for f in self.frameworks if f != self.source)

    @property
    def max_difference(self) -> dict[str, float]:
        """Per framework other than the source, the largest difference over all steps."""
        return {f: float(np.max(self.differences[f])) for f in self.others}

    def worst_step(self, framework: str) -> int:
        """The first step at which ``framework``'s difference is largest."""
        return int(np.argmax(self.differences[framework]))

    def within(self, framework: str) -> bool:
        """Whether ``framework`` stays within its translation's stated tolerance."""
        return self.max_difference[framework] <= self.tolerance[framework]

    def series(self, framework: str, weight: WeightIndex) -> np.ndarray:
        """One weight's value at every snapshot of ``framework``'s trajectory."""
        name, index = weight
        return np.array([float(w[name][index]) for w in self.trajectories[framework]])

    def summary(self) -> dict[str, Any]:
        """The numbers as plain types (for ``--json``)."""
        return {
            "setting": self.setting,
            "source": self.source,
            "steps": self.steps,
            "seed": self.seed,
            "lr": self.lr,
            "keras_backend": self.keras_backend,
            "frameworks": {
                f: {
                    "setting": self.settings[f],
                    "max_difference": self.max_difference[f],
                    "worst_step": self.worst_step(f),
                    "tolerance": self.tolerance[f],
                    "exact": self.exact[f],
                    "within_tolerance": self.within(f),
                }
                for f in self.others
            },
        }


# ---------------------------------------------------------------------------
# The data.


def _framework_list(value: object) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and all(isinstance(f, str) and f in AGREEMENT_FRAMEWORKS for f in value)
        and len(set(value)) == len(value)
    )


_DATA_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "setting": Instance((str,), "a str"),
    "frameworks": Satisfies(
        _framework_list,
        "a non-empty sequence of distinct names from "
        + ", ".join(repr(f) for f in AGREEMENT_FRAMEWORKS),
    ),
    "steps": Interval(1, math.inf, "left", integer=True),
    "seed": Interval(0, math.inf, "left", integer=True),
    "lr": POSITIVE,
    "keras_backend": (OneOf(KERAS_BACKENDS), OPTIONAL),
}


def agreement_data(
    setting: str,
    frameworks: Sequence[str] = AGREEMENT_FRAMEWORKS,
    *,
    steps: int = 20,
    seed: int = 0,
    lr: float = 0.1,
    keras_backend: str | None = None,
) -> AgreementData:
    """Train one setting in its own framework and, translated, in the others.

    Args:
        setting: an optimizer and/or penalties as :func:`weightlab.interop.translate.
            translate` reads them, e.g. ``"keras:SGD(learning_rate=0.1) + L2(0.01)"``,
            or weightlab's terms, e.g. ``"weightlab:max_norm(0.5)"`` (trained with
            weightlab's own code, and plain SGD at ``lr``).
        frameworks: the frameworks to train in (``"torch"``, ``"keras"``, ``"mlx"``).
            The setting's own framework is the reference and is always trained; at
            least one other is needed.
        steps: training steps (one batch of 8 each).
        seed: seed of the initial weights and the batches.
        lr: the learning rate where the setting names none (a penalty alone).
        keras_backend: the Keras backend to train on: ``"tensorflow"``, ``"jax"`` or
            ``"torch"``; None: the one this process's Keras runs on (torch unless
            ``KERAS_BACKEND`` says otherwise).  Another backend than this process's
            trains in a child process (Keras picks its backend once per process).

    Raises:
        ValueError: a bad setting (an initializer or dropout included), an unknown
            framework or Keras backend, or steps, seed or lr out of range.
        weightlab._optional.MissingExtraError: Keras, MLX or the Keras backend's package
            is asked for and not installed; the message says what to install.
    """
    values = {"setting": setting, "frameworks": frameworks, "steps": steps, "seed": seed, "lr": lr}
    check("agreement_data", {**values, "keras_backend": keras_backend}, _DATA_TABLE)
    source = _source_framework(setting)
    trained = (source, *(f for f in frameworks if f != source))
    if len(trained) < 2:
        expected = f"at least one framework besides the setting's own ({source!r})"
        raise fail("agreement_data", "frameworks", expected, tuple(frameworks))
    used = None
    for framework in trained:
        if framework == "keras":
            used = prepare_keras(keras_backend, "agreement_data")
        elif framework == "mlx":
            require("mlx.core", "mlx", "MLX trajectories")
    settings = {source: setting.strip()}
    exact: dict[str, bool] = {}
    tolerance: dict[str, float] = {}
    for framework in trained[1:]:
        translation = translate(setting, framework)
        settings[framework] = translation.target_setting
        exact[framework] = translation.exact
        tolerance[framework] = translation.tolerance
    problem = make_problem(SIZES, steps=steps, seed=seed)
    paths = {
        f: trajectory(settings[f], problem, lr=lr, keras_backend=keras_backend) for f in trained
    }
    differences = {f: _differences(paths[source], paths[f]) for f in trained[1:]}
    return AgreementData(
        setting=setting.strip(),
        source=source,
        frameworks=trained,
        settings=settings,
        trajectories=paths,
        differences=differences,
        exact=exact,
        tolerance=tolerance,
        steps=steps,
        seed=seed,
        lr=lr,
        keras_backend=used,
    )


def _source_framework(setting: str) -> str:
    """The setting's framework, after checking it is a training setting."""
    calls = parse_setting(setting, "agreement_data", "setting")
    if any(c.component.kind in ("init", "dropout") for c in calls):
        expected = "an optimizer, penalty or decay setting (not an initializer or dropout)"
        raise fail("agreement_data", "setting", expected, setting)
    framework = calls[0].framework
    if framework not in AGREEMENT_SOURCES:
        names = ", ".join(AGREEMENT_SOURCES[:-1]) + f" or {AGREEMENT_SOURCES[-1]}"
        raise fail("agreement_data", "setting", f"a {names} setting", setting)
    return framework


def _differences(reference: Sequence[Weights], other: Sequence[Weights]) -> np.ndarray:
    """The largest ``|Δw|`` over all weights at each snapshot."""
    return np.array([max_difference([a], [b]) for a, b in zip(reference, other, strict=True)])


# ---------------------------------------------------------------------------
# The figure.


def _complete(data: object) -> bool:
    """Whether ``data`` holds a trajectory per framework and a comparison per other."""
    if not isinstance(data, AgreementData):
        return False
    paths = [data.trajectories.get(f) for f in data.frameworks]
    return (
        len(data.others) > 0
        and all(p is not None and len(p) == data.steps + 1 and len(p[0]) > 0 for p in paths)
        and all(
            f in data.differences
            and len(data.differences[f]) == data.steps + 1
            and f in data.tolerance
            and f in data.exact
            for f in data.others
        )
    )


def _check_data(owner: str, data: object) -> None:
    """One clear error for missing, empty or incomplete data."""
    if _complete(data):
        return
    expected = (
        "an AgreementData (from agreement_data) with steps + 1 snapshots per framework "
        "and at least one framework besides the source"
    )
    got: object = data
    if isinstance(data, AgreementData):
        found = ", ".join(f"{f}: {len(p)}" for f, p in data.trajectories.items())
        got = Described(f"an AgreementData with snapshots {{{found}}} for {data.steps} steps")
    raise fail(owner, "data", expected, got, wrong_type=not isinstance(data, AgreementData))


def pick_weights(data: AgreementData, n: int = 3) -> list[WeightIndex]:
    """The ``n`` weights the figure follows: the source trajectory's most-moving entry
    of each tensor first (largest movement first), then the next most-moving ones.

    Example:
        >>> data = agreement_data("torch:SGD(lr=0.1)", ("torch", "mlx"), steps=2)
        >>> sorted(name for name, _ in pick_weights(data, 4))  # one of each tensor first
        ['0.bias', '0.weight', '1.bias', '1.weight']
    """
    path = data.trajectories[data.source]
    moved: list[tuple[float, WeightIndex]] = []
    for name, start in path[0].items():
        change = np.abs(np.asarray(path[-1][name], np.float64) - np.asarray(start, np.float64))
        for index in np.ndindex(change.shape):
            moved.append((float(change[index]), (name, tuple(int(i) for i in index))))
    moved.sort(key=lambda m: -m[0])  # stable: ties keep the tensors' order
    leaders: dict[str, WeightIndex] = {}
    for _, weight in moved:
        leaders.setdefault(weight[0], weight)
    first = list(leaders.values())
    return [*first, *(w for _, w in moved if w not in first)][:n]


def weight_label(weight: WeightIndex) -> str:
    """``"0.weight[1, 2]"``."""
    name, index = weight
    return f"{name}[{', '.join(str(i) for i in index)}]"


def agreement_figure(data: AgreementData, *, weights: int = 3) -> Figure:
    """Left: ``weights`` chosen weights' trajectories over the steps, one panel per
    weight and one line per framework; right: the largest ``|Δw|`` from the source
    framework per step (log axis) with each translation's stated tolerance dashed.

    Differences of exactly zero cannot be drawn on the log axis: the legend says so.

    Args:
        data: from :func:`agreement_data`.
        weights: how many weights to follow (:func:`pick_weights`).
    """
    _check_data("agreement_figure", data)
    total = sum(int(np.size(w)) for w in data.trajectories[data.source][0].values())
    table = {"weights": Interval(1, min(total, len(_WEIGHT_COLORS)), "both", integer=True)}
    check("agreement_figure", {"weights": weights}, table)
    chosen = pick_weights(data, weights)
    fig = Figure(figsize=(11.5, 1.9 * max(weights, 2) + 1.3), layout="constrained")
    grid = fig.add_gridspec(weights, 2, width_ratios=[1, 1.15])
    left = [fig.add_subplot(grid[0, 0])]
    left += [fig.add_subplot(grid[i, 0], sharex=left[0]) for i in range(1, weights)]
    for i, (ax, weight) in enumerate(zip(left, chosen, strict=True)):
        _draw_weight(ax, data, weight, _WEIGHT_COLORS[i])
    left[0].legend(fontsize=8, loc="best", title="framework", title_fontsize=8)
    left[-1].set_xlabel("step")
    left[len(left) // 2].set_ylabel("weight value")
    _draw_differences(fig.add_subplot(grid[:, 1], sharex=left[0]), data)
    fig.suptitle(_title(data), fontsize=10)
    return fig


def _draw_weight(ax: Any, data: AgreementData, weight: WeightIndex, color: str) -> None:
    steps = np.arange(data.steps + 1)
    for framework in data.frameworks:
        ax.plot(
            steps,
            data.series(framework, weight),
            color=color,
            label=data.name(framework),
            gid="weight",
            **_STYLES[framework],
        )
    ax.set_title(weight_label(weight), fontsize=9, loc="left")
    ax.tick_params(labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _draw_differences(ax: Any, data: AgreementData) -> None:
    steps = np.arange(data.steps + 1)
    source = data.name(data.source)
    for framework in data.others:
        diff = data.differences[framework]
        drawn = np.where(diff > 0, diff, np.nan)  # a log axis cannot show 0
        label = f"{data.name(framework)} vs {source}"
        if not np.any(diff > 0):
            label += ": 0 at every step (identical, not drawn)"
        style = {**_STYLES[framework], "markevery": None}
        ax.plot(steps, drawn, color="black", label=label, gid="difference", **style)
    for (tol, names), color in zip(_tolerances(data).items(), _TOLERANCE_COLORS, strict=False):
        if tol > 0:
            label = f"stated tolerance {tol:g} ({names})"
            ax.axhline(
                tol, color=color, linestyle="--", linewidth=1.2, gid="tolerance", label=label
            )
    ylabel = f"largest |w − w_{source}| over all weights"
    ax.set(yscale="log", ylim=_limits(data), xlabel="step", ylabel=ylabel)
    ax.set_title(f"Largest weight difference from {source}", fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="lower right")


def _tolerances(data: AgreementData) -> dict[float, str]:
    """Each distinct stated tolerance and the frameworks it is stated for."""
    out: dict[float, list[str]] = {}
    for framework in data.others:
        out.setdefault(data.tolerance[framework], []).append(data.name(framework))
    return {tol: ", ".join(names) for tol, names in out.items()}


def _limits(data: AgreementData) -> tuple[float, float]:
    """Log-axis limits holding every positive difference and every tolerance."""
    values = [float(v) for f in data.others for v in data.differences[f] if v > 0]
    values += [t for t in data.tolerance.values() if t > 0]
    if not values:
        return 1e-9, 1.0
    low, high = min(values), max(values)
    return 10 ** (math.floor(math.log10(low)) - 1), 10 ** (math.ceil(math.log10(high)) + 1)


def _title(data: AgreementData) -> str:
    names = _join([data.name(f) for f in data.frameworks])
    lines = [f"{data.setting} in {names}: same start, same batches, {data.steps} steps"]
    lines += [f"{data.name(f)}: {data.settings[f]}" for f in data.others]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The caption.


def _join(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _number(value: float) -> str:
    """A difference as the caption writes it: ``3.0e-08``, or ``0``."""
    return "0" if value == 0 else f"{value:.1e}"


def _difference_text(data: AgreementData, framework: str) -> str:
    value = data.max_difference[framework]
    step = data.worst_step(framework)
    where = "identical at every step" if value == 0 else f"first reached at step {step}"
    return f"{_number(value)} ({data.name(framework)}, {where})"


def _tolerance_text(data: AgreementData) -> str:
    within = [f for f in data.others if data.within(f)]
    beyond = [f for f in data.others if not data.within(f)]
    tolerances = _tolerances(data)
    if not beyond:
        if len(tolerances) == 1:
            promise = "the translation promises" if len(within) == 1 else "the translations promise"
            return f"within the {next(iter(tolerances)):g} {promise}"
        stated = _join([f"{data.tolerance[f]:g} for {data.name(f)}" for f in within])
        return f"within the stated tolerances ({stated})"
    parts = [f"beyond the {data.tolerance[f]:g} stated for {data.name(f)}" for f in beyond]
    if within:
        stays = "stays within its own" if len(within) == 1 else "stay within theirs"
        parts.append(f"while {_join([data.name(f) for f in within])} {stays}")
    return ", ".join(parts)


def agreement_caption(data: AgreementData) -> str:
    """A caption derived from the numbers: each framework's largest difference from the
    source, where it occurs, and how it compares with the stated tolerance.

    Example:
        >>> data = agreement_data("torch:SGD(lr=0.1, weight_decay=0.02)", ("torch", "mlx"))
        >>> "within the 1e-05 the translation promises" in agreement_caption(data)
        True
    """
    _check_data("agreement_caption", data)
    others = _join([data.name(f) for f in data.others])
    differences = _join([_difference_text(data, f) for f in data.others])
    text = (
        f"{data.setting} translated to {others} and trained from the same start on the same "
        f"batches: the largest weight difference from {data.name(data.source)} over "
        f"{data.steps} steps is {differences}, {_tolerance_text(data)}."
    )
    if data.keras_backend is not None:
        text += f" Keras ran on its {data.keras_backend} backend."
    inexact = [data.name(f) for f in data.others if not data.exact[f]]
    if inexact:
        which = "translation" if len(inexact) == 1 else "translations"
        verb = "is" if len(inexact) == 1 else "are"
        text += f" The {which} to {_join(inexact)} {verb} not exact (see the caveats)."
    return text
