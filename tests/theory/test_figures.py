"""The figures draw the numbers they are given: the critical line, the schemes, the
measured beside the predicted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from weightlab._validate import ParameterError
from weightlab.report.figures import save
from weightlab.theory import (
    correlation_figure,
    correlation_trace,
    jacobian_spectra,
    phase_diagram,
    phase_figure,
    spectrum_figure,
)


def _texts(fig: object) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]  # type: ignore[attr-defined]


def test_phase_figure_draws_the_line_the_schemes_and_the_phases(tmp_path: Path) -> None:
    d = phase_diagram(
        "tanh", grid=6, schemes=["he_normal", "xavier_normal", "lecun_normal", "normal(std=1.0)"]
    )
    fig = phase_figure(d)
    plane = fig.axes[0]
    (line,) = [ln for ln in plane.get_lines() if ln.get_label() == "critical line χ₁ = 1"]
    b, w = np.array(d.critical).T
    np.testing.assert_allclose(line.get_xdata(), w)
    np.testing.assert_allclose(line.get_ydata(), b)
    texts = _texts(fig)
    assert "ordered\nχ₁ < 1" in texts and "chaotic\nχ₁ > 1" in texts
    labels = [a.get_text() for a in plane.texts]
    assert "xavier_normal = lecun_normal" in labels  # coinciding points share a marker
    assert any(t.startswith("normal(std=1.0): σ_w² = 256 →") for t in labels)  # off the plot
    assert save(fig, tmp_path / "phase.png").stat().st_size > 10_000


def test_relu_phase_figure_hatches_the_unbounded_region() -> None:
    fig = phase_figure(phase_diagram("relu", grid=6, schemes=[]))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "no q*: the length grows without bound" in legend


def test_correlation_figure_shows_measured_points_and_predicted_lines(tmp_path: Path) -> None:
    traces = [
        correlation_trace(
            "tanh",
            w,
            0.05,
            depth=5,
            width=32,
            networks=2,
            pairs=2,
            generator=torch.Generator().manual_seed(0),
        )
        for w in (0.8, 2.5)
    ]
    fig = correlation_figure(traces)
    ax = fig.axes[0]
    predicted = [
        ln for ln in ax.get_lines() if len(ln.get_xdata()) == 5 and ln.get_linestyle() == "-"
    ]
    assert [list(ln.get_ydata()) for ln in predicted[:2]] == [t.predicted for t in traces]
    assert len(ax.containers) == 2  # one errorbar set per trace
    save(fig, tmp_path / "corr.png")
    with pytest.raises(ParameterError, match="'traces' parameter of correlation_figure"):
        correlation_figure([])


def test_spectrum_figure_has_one_row_per_activation_and_one_log_range(tmp_path: Path) -> None:
    studies = [
        jacobian_spectra(
            a, w, 0.0, depths=[2, 4], width=16, inputs=1, generator=torch.Generator().manual_seed(0)
        )
        for a, w in (("tanh", 1.0), ("relu", 2.0))
    ]
    fig = spectrum_figure(studies)
    assert len(fig.axes) == 8
    histograms = [fig.axes[i] for i in (0, 1, 4, 5)]
    assert len({ax.get_xlim() for ax in histograms}) == 1  # comparable widths
    assert fig.axes[0].get_title() == "tanh, orthogonal weights"
    save(fig, tmp_path / "spectrum.png")
