"""The pictures behind the texts, computed directly (no stored runs): seed 000's loss
landscape with the L1 diamond and the L2 circle, regularization paths on the
multicollinear set, and (where Keras and MLX are installed) one setting trained in
PyTorch, Keras and MLX, each with a caption derived from the computed numbers."""

from __future__ import annotations

import numpy as np

from weightlab._optional import MissingExtraError
from weightlab.data import load_dataset
from weightlab.landscape import l1_first_axis, l2_zero_crossings, objective, regularized_path
from weightlab.report.agreement import agreement_caption, agreement_data, agreement_figure
from weightlab.report.landscape import landscape_figure
from weightlab.report.paths import (
    PathResult,
    path_figure,
    regularization_path,
    sign_changes,
    zero_fraction_from,
)
from weightlab.report.runs import FigureItem, percent

__all__ = [
    "AGREEMENT_SETTING",
    "background_figures",
    "landscape_caption",
    "paths_caption",
]

AGREEMENT_SETTING = "keras:SGD(learning_rate=0.1)+L2(0.01)"
"""The setting the framework-agreement figure trains in PyTorch, Keras and MLX."""


_WEIGHTS = ("w₁", "w₂")


def landscape_caption() -> str:
    """The landscape figure's caption, for the quadratic bowl at its defaults: where
    the L1 optimum first reaches an axis (:func:`~weightlab.landscape.l1_first_axis`,
    closed form), how the L2 optimum shrinks from λ = 0 to 3× the figure's λ
    (:func:`~weightlab.landscape.regularized_path`, exact for quadratics) and whether
    it ever lies on an axis (:func:`~weightlab.landscape.l2_zero_crossings`)."""
    bowl = objective("quadratic")
    lam, weight = l1_first_axis(bowl)
    end = 3 * bowl.lam
    start, stop = regularized_path(bowl, "l2", [0.0, end])
    crossings = l2_zero_crossings(bowl)
    if crossings:
        where = "; ".join(f"{_WEIGHTS[j]} at λ = {at:.3g}" for at, j in crossings)
        on_axis = f"passes through an axis without staying there ({where})"
    else:
        on_axis = "lies on no axis at any λ ≥ 0"
    return (
        f"On the quadratic bowl, the L1-regularized optimum first reaches an axis "
        f"({_WEIGHTS[weight]} exactly 0) at λ = {lam:.3g}; the L2 optimum shrinks from "
        f"({start[0]:.2f}, {start[1]:.2f}) at λ = 0 to ({stop[0]:.2f}, {stop[1]:.2f}) at "
        f"λ = {end:g} and {on_axis}."
    )


def _landscape() -> FigureItem:
    return FigureItem(
        "landscape",
        "Loss landscape: L1 diamonds vs L2 circles",
        landscape_figure(),
        landscape_caption(),
    )


def paths_caption(lasso: PathResult, ridge: PathResult) -> str:
    """The regularization-path figure's caption: the smallest λ of the lasso's grid from
    which at least half the coefficients are exactly zero (:func:`zero_fraction_from`),
    whether ridge has any exactly-zero coefficient on its grid, and how many of its
    coefficients change sign on the way (:func:`sign_changes`)."""
    half = zero_fraction_from(lasso, 0.5)
    where = (
        f"at least half the coefficients are exactly zero at every λ ≥ {half:.3g} "
        f"(the smallest such λ on the path's {len(lasso.lambdas)}-point grid)"
        if half is not None
        else "fewer than half the coefficients are exactly zero even at the largest λ"
    )
    largest = float(np.max(ridge.sparsity))
    zeros = (
        "sets no coefficient exactly to zero at any λ of its grid"
        if largest == 0
        else f"has exactly-zero coefficients on its grid (at most {percent(largest)})"
    )
    crossing = len(sign_changes(ridge))
    if crossing:
        verb = "changes" if crossing == 1 else "change"
        zeros += (
            f"; {crossing} of them {verb} sign as λ grows, passing through zero without "
            "staying there"
        )
    return (
        f"On {lasso.n_features} strongly correlated features: under the lasso {where}; "
        f"ridge shrinks the coefficients together and {zeros}."
    )


def _paths() -> FigureItem:
    data = load_dataset("multicollinear", standardize=False)
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
    x, y = x - x.mean(axis=0), y - y.mean()
    results = [regularization_path(x, y, kind) for kind in ("l1", "l2", "elastic_net")]
    return FigureItem(
        "paths",
        "Regularization paths: lasso, ridge, elastic net",
        path_figure(results, truth=data.info.get("coef")),
        paths_caption(results[0], results[1]),
    )


def _agreement() -> list[FigureItem]:
    """The agreement figure, or nothing where Keras or MLX is not installed."""
    try:
        data = agreement_data(AGREEMENT_SETTING, steps=20)
    except MissingExtraError:
        return []
    title = "Framework agreement: one setting in PyTorch, Keras and MLX"
    figure, caption = agreement_figure(data), agreement_caption(data)
    return [FigureItem("agreement", title, figure, caption, data.summary())]


def background_figures() -> list[FigureItem]:
    """The landscape, the regularization paths and (where Keras and MLX are installed)
    the framework agreement, ready for the report."""
    return [_landscape(), _paths(), *_agreement()]
