"""Figures show their scales: each activation-histogram panel prints its range inside
itself, no axis hides an offset or a ×10ⁿ multiplier, and panels that compare like with
like share their axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from weightlab.diagnose.propagation import measure
from weightlab.histogram import Histogram, histogram
from weightlab.models import mlp
from weightlab.report.figures import (
    activation_histograms,
    range_text,
    reach,
    round_up,
    short_number,
    variance_vs_depth,
)
from weightlab.report.paths import path_figure, regularization_path
from weightlab.report.runs import weight_histograms_figure


def drawn(fig: Figure) -> Figure:
    """``fig`` after a draw, when tick labels and offset texts are set."""
    FigureCanvasAgg(fig).draw()
    return fig


def offsets(fig: Figure) -> list[str]:
    """Every non-empty offset or multiplier text of the figure's axes."""
    texts = [axis.get_offset_text().get_text() for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
    return [t for t in texts if t]


def panel_range(ax) -> str:
    (text,) = [t.get_text() for t in ax.texts if t.get_gid() == "range"]
    return text


# --- the numbers panels print ----------------------------------------------------------------


def test_short_numbers_and_bounds():
    assert [short_number(v) for v in (1e-9, -2.5e10, 0.5, 1234.0, 12345.0, 0.000123)] == [
        "1e-9",
        "-2.5e10",
        "0.5",
        "1200",
        "1.2e4",
        "1.2e-4",
    ]
    assert [round_up(v) for v in (1.0, 3e-9, 3.01e-9, 0.1234, 987.0)] == [
        1.0,
        3e-9,
        3.1e-9,
        0.13,
        990.0,
    ]


def test_reach_is_the_largest_magnitude():
    # A data-range histogram: its outer edges are the data's extremes.
    values = torch.tensor([-3e-9, 0.0, 1e-9, 2e-9])
    assert reach(histogram(values, bins=8)) == pytest.approx(3e-9, rel=1e-6)
    # Fixed bounds: the occupied bins' outer edges, within one bin of the data.
    bounded = histogram(torch.tensor([0.1, 0.2]), bins=4, bounds=(-1.0, 1.0))
    assert reach(bounded) == 0.5
    assert reach(histogram(torch.zeros(5))) == 0.0
    assert reach(Histogram(float("nan"), float("nan"), ())) is None
    assert range_text(histogram(torch.zeros(5)), 0.0) == "all a = 0\nsd 0"


# --- the activation histograms ---------------------------------------------------------------


def test_vanishing_and_exploding_panels_print_their_ranges():
    x = torch.linspace(-1.0, 1.0, 201)
    rows = {
        "vanishing": [histogram(1e-9 * x), histogram(1e-9 * x), histogram(x)],
        "normal": [histogram(x), histogram(x), histogram(x)],
        "exploding": [histogram(1e10 * x), histogram(1e10 * x), histogram(x)],
    }
    variances = {"vanishing": [1e-18, 1e-18, 1.0], "exploding": [1e20, 1e20, 1.0]}
    fig = drawn(activation_histograms(rows, variances=variances))
    axes = np.array(fig.axes).reshape(3, 2)
    assert [panel_range(ax) for ax in axes[:, 0]] == [
        "|a| ≤ 1e-9\nsd 1e-9",
        "|a| ≤ 1",
        "|a| ≤ 1e10\nsd 1e10",
    ]
    assert offsets(fig) == []  # no ×1e-9 or ×1e10 tucked under the next row
    ticks = [t.get_text() for t in axes[0, 0].get_xticklabels()]
    assert "1e-9" in ticks and "-1e-9" in ticks
    ticks = [t.get_text() for t in axes[2, 0].get_xticklabels()]
    assert "1e10" in ticks and "-1e10" in ticks
    for ax in fig.axes:  # the printed range sits above the bars
        assert ax.get_ylim()[1] > 1.5 * max(p.get_height() for p in ax.patches)


def deep_relu(std: float, depth: int = 8, width: int = 64) -> nn.Module:
    model = mlp(width, [width] * depth, width, "relu")
    gen = torch.Generator().manual_seed(0)
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            with torch.no_grad():
                layer.weight.normal_(0.0, std, generator=gen)
                layer.bias.zero_()
    return model


def test_a_vanishing_and_an_exploding_network_read_as_such():
    # ReLU without biases is positively homogeneous: weights 100 times smaller give
    # activations 100ˡ times smaller at layer l, from the same draws.
    x = torch.randn(256, 64, generator=torch.Generator().manual_seed(1))
    small, large = measure(deep_relu(0.01), x), measure(deep_relu(1.0), x)
    for depth, (a, b) in enumerate(zip(small.layers[:-1], large.layers[:-1], strict=True), 1):
        assert reach(a.post_hist) / reach(b.post_hist) == pytest.approx(100.0**-depth, rel=1e-4)
    fig = drawn(activation_histograms({"std=0.01": small, "std=1": large}))
    axes = np.array(fig.axes).reshape(2, -1)
    shown = (0, 1, 3, 4, 6, 7)  # the hidden layers the figure picks
    for row, m in zip(axes, (small, large), strict=True):
        for ax, i in zip(row, shown, strict=True):
            assert panel_range(ax) == range_text(m.layers[i].post_hist, m.layers[i].post_var)
    assert reach(small.layers[7].post_hist) < 1e-9 and reach(large.layers[7].post_hist) > 1e6
    bound = short_number(round_up(reach(small.layers[7].post_hist)))
    assert panel_range(axes[0, -1]).startswith(f"|a| ≤ {bound}") and "e-10" in bound
    assert offsets(fig) == []


# --- twins share their axes ------------------------------------------------------------------


def test_weight_histogram_panels_share_axes():
    base = Histogram(-1.0, 1.0, (1, 2, 6, 2, 1, 0, 0, 0))
    l1 = Histogram(-2.0, 2.0, (0, 0, 0, 9, 0, 0, 0, 1))
    l2 = Histogram(-0.5, 0.5, (1, 3, 3, 1))
    fig = drawn(weight_histograms_figure(("none", base, 0.0), [("l1", l1, 0.5), ("l2", l2, 0.0)]))
    left, right = fig.axes
    assert left.get_shared_x_axes().joined(left, right)
    assert left.get_shared_y_axes().joined(left, right)
    assert left.get_xlim() == right.get_xlim() == (-2.0, 2.0)  # every histogram in range
    assert left.get_ylim() == right.get_ylim()
    assert left.get_ylim()[1] >= 0.9  # l1's tallest bin holds 90% of its weights
    assert offsets(fig) == []


def test_variance_panels_share_the_layer_axis():
    series = {
        "a": {
            "pre_var": [1.0, 0.5, 0.25],
            "chain": [1.0, 0.5, 0.2],
            "weight_grad_var": [1e-3, 1e-2, 1e-1],
        }
    }
    forward, backward = variance_vs_depth(series).axes
    assert forward.get_shared_x_axes().joined(forward, backward)


def test_path_panels_share_each_row():
    x = np.random.default_rng(0).standard_normal((30, 4))
    y = x @ np.array([1.0, -2.0, 0.0, 0.5])
    x, y = x - x.mean(axis=0), y - y.mean()
    results = [regularization_path(x, y, kind, n_lambdas=8) for kind in ("l1", "l2", "elastic_net")]
    axes = np.array(path_figure(results).axes).reshape(2, 3)
    for row in axes:
        assert all(row[0].get_shared_y_axes().joined(row[0], ax) for ax in row[1:])
        assert len({ax.get_ylim() for ax in row}) == 1
    for col in axes.T:  # each column's λ grid is its own
        assert col[0].get_shared_x_axes().joined(col[0], col[1])
    assert not axes[0, 0].get_shared_x_axes().joined(axes[0, 0], axes[0, 1])
