"""The effective-learning-rate figure and its caption."""

from __future__ import annotations

from weightlab.histogram import Histogram
from weightlab.report.effective import effective_caption, effective_lr_figure, layer_mean


def test_the_figure_draws_each_setting() -> None:
    ratios = {
        "none": [([0, 10, 20], [0.1, 0.01, 0.005]), ([0, 10, 20], [0.1, 0.03, 0.005])],
        "l2(0.01)": [([0, 10, 20], [0.1, 0.02, 0.01])],
    }
    steps = {"l2(0.01)": Histogram(-5.0, -1.0, (1, 2, 3, 4))}
    left, right = effective_lr_figure(ratios, steps, title="t").axes
    lines = left.get_lines()
    assert [line.get_label() for line in lines] == ["none", "l2(0.01)"]
    assert list(lines[0].get_ydata()) == [0.1, 0.02, 0.005]  # mean over seeds
    assert left.get_yscale() == "log"
    assert len(right.patches) == 1  # one stairs per Adam setting
    empty = effective_lr_figure(ratios, {}).axes[1]
    assert [t.get_text() for t in empty.texts] == ["no Adam run"]


def test_the_caption_names_the_uneven_decay() -> None:
    text = effective_caption({"l2(0.01)": 40.0, "decoupled_decay(0.1)": 38.0}, {"none": 0.002})
    assert "l2(0.01) 40; decoupled_decay(0.1) 38" in text
    assert "40 times less" in text
    assert effective_caption({}, {"none": 0.002}) == "Final ‖ΔW‖/‖W‖ of one step: none 0.002."
    assert layer_mean({"update_ratio/0.weight": 0.1, "update_ratio/2.weight": 0.3, "gap": 1}) == 0.2
