"""The pictures behind the texts, computed directly (no stored runs): seed 000's loss
landscape with the L1 diamond and the L2 circle, regularization paths on the
multicollinear set, and (where Keras and MLX are installed) one setting trained in
PyTorch, Keras and MLX, each with a caption derived from the computed numbers."""

from __future__ import annotations

import numpy as np

from weightlab._optional import MissingExtraError
from weightlab.data import load_dataset
from weightlab.landscape import regularized_path
from weightlab.report.agreement import agreement_caption, agreement_data, agreement_figure
from weightlab.report.landscape import landscape_figure
from weightlab.report.paths import path_figure, regularization_path
from weightlab.report.runs import FigureItem

__all__ = ["AGREEMENT_SETTING", "background_figures"]

AGREEMENT_SETTING = "keras:SGD(learning_rate=0.1)+L2(0.01)"
"""The setting the framework-agreement figure trains in PyTorch, Keras and MLX."""


def _landscape() -> FigureItem:
    lams = np.linspace(0.0, 1.5, 61)
    l1 = regularized_path("quadratic", "l1", lams)
    l2 = regularized_path("quadratic", "l2", lams)
    on_axis = [lam for lam, w in zip(lams, l1, strict=True) if 0.0 in (w[0], w[1])]
    reached = (
        f"reaches an axis (a weight exactly 0) at λ = {on_axis[0]:.3g}"
        if on_axis
        else "never reaches an axis"
    )
    zero_l2 = int(np.sum(l2 == 0.0))
    caption = (
        f"On the quadratic bowl, the L1-regularized optimum {reached}; the L2 optimum shrinks "
        f"from ({l2[0][0]:.2f}, {l2[0][1]:.2f}) to ({l2[-1][0]:.2f}, {l2[-1][1]:.2f}) at "
        f"λ = {lams[-1]:g} with {zero_l2} exactly-zero coordinates along the way."
    )
    return FigureItem(
        "landscape", "Loss landscape: L1 diamonds vs L2 circles", landscape_figure(), caption
    )


def _paths() -> FigureItem:
    data = load_dataset("multicollinear", standardize=False)
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
    x, y = x - x.mean(axis=0), y - y.mean()
    results = [regularization_path(x, y, kind) for kind in ("l1", "l2", "elastic_net")]
    l1, l2 = results[0], results[1]
    half = int(np.argmax(l1.sparsity >= 0.5)) if np.any(l1.sparsity >= 0.5) else None
    where = (
        f"half the coefficients are exactly zero from λ = {l1.lambdas[half]:.3g}"
        if half is not None
        else "fewer than half the coefficients ever reach zero"
    )
    caption = (
        f"On {data.x_train.shape[1]} strongly correlated features: under the lasso {where}; "
        f"ridge keeps every coefficient non-zero at every λ (largest fraction zero: "
        f"{float(np.max(l2.sparsity)):.0%}) while shrinking them together."
    )
    return FigureItem(
        "paths",
        "Regularization paths: lasso, ridge, elastic net",
        path_figure(results, truth=data.info.get("coef")),
        caption,
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
