"""The phase diagram and where the schemes sit on it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from weightlab._json import to_json
from weightlab._validate import ParameterError
from weightlab.theory import TORCH_DEFAULT, phase_diagram, scheme_point, scheme_sigma_w2


def test_each_scheme_draws_its_sigma_w2_on_a_square_layer() -> None:
    width = 256
    expected = {
        "he_normal": 2.0,  # He et al. 2015
        "he_uniform": 2.0,
        "xavier_normal": 1.0,  # Glorot & Bengio 2010: 2/(n_in + n_out) = 1/n when square
        "lecun_normal": 1.0,  # LeCun et al. 1998
        "xavier_fan_in": 1.0,  # seed 000's 1/n rule
        "xavier_normal(gain=2.0)": 4.0,
        "normal(std=0.01)": width * 1e-4,
        "normal(std=1.0)": float(width),
        "uniform(low=-0.1, high=0.1)": width * 0.01 / 3,
        "orthogonal(gain=1.5)": 2.25,
    }
    for spec, sw2 in expected.items():
        assert scheme_sigma_w2(spec, width) == pytest.approx(sw2, rel=1e-12), spec


def test_torch_default_sits_deep_in_the_ordered_phase_for_tanh() -> None:
    # nn.Linear draws W and b from U(±1/√fan_in): σ_w² = 1/3, σ_b² = 1/(3 · width).
    p = scheme_point(TORCH_DEFAULT, "tanh", 300)
    assert (p.sigma_w2, p.sigma_b2) == pytest.approx((1 / 3, 1 / 900))
    assert p.mean_field.phase == "ordered" and p.mean_field.xi_c < 1


def test_schemes_without_a_fixed_variance_are_refused() -> None:
    for spec in ("lsuv", "normal(mean=1.0)", "constant(value=0.1)", "uniform(low=0.0, high=1.0)"):
        with pytest.raises(
            ParameterError,
            match=r"^The 'scheme' parameter of scheme_sigma_w2 must be a zero-mean scheme",
        ):
            scheme_sigma_w2(spec, 64)


def test_the_grid_agrees_with_the_critical_line() -> None:
    d = phase_diagram("tanh", grid=12, schemes=["he_normal", "xavier_normal"])
    assert d.critical_at_zero_bias == pytest.approx(1.0, abs=1e-6)
    line_b, line_w = np.array(d.critical).T
    assert np.all(np.diff(line_w) > 0)  # the line bends to larger σ_w² as σ_b² grows
    for i, b in enumerate(d.sigma_b2):
        crit = np.interp(b, line_b, line_w)
        # Cells clearly left of the line are ordered, clearly right of it chaotic.
        left = d.sigma_w2 < crit - 0.05
        right = d.sigma_w2 > crit + 0.05
        assert np.all(d.chi1[i, left] < 1) and np.all(d.chi1[i, right] > 1)
        assert np.all(d.c_star[i, left] == 1) and np.all(d.c_star[i, right] < 1)
    assert [p.mean_field.phase for p in d.schemes] == ["chaotic", "critical"]


def test_relu_diagram_has_a_vertical_critical_line_and_no_fixed_length_beyond_it() -> None:
    d = phase_diagram("relu", grid=8, schemes=[])
    assert all(w == pytest.approx(2.0, abs=1e-9) for _, w in d.critical)
    assert np.array_equal(~np.isfinite(d.q_star), np.broadcast_to(d.sigma_w2 > 2, d.q_star.shape))


def test_the_cut_shows_xi_c_peaking_at_the_critical_point() -> None:
    d = phase_diagram("tanh", grid=10, schemes=[], cut_sigma_b2=0.05)
    peak = d.cut["sigma_w2"][
        int(np.nanargmax(np.where(np.isfinite(d.cut["xi_c"]), d.cut["xi_c"], np.nan)))
    ]
    assert abs(peak - 1.76095) < 4.0 / 40  # within one cut step of the critical σ_w²


def test_json_is_strict_and_holds_what_readers_quote() -> None:
    d = phase_diagram("relu", grid=4, schemes=["he_normal", "normal(std=1.0)"])
    payload = json.loads(to_json(d.to_json()))
    assert payload["critical_sigma_w2_at_zero_bias"] == pytest.approx(2.0)
    he, big = payload["schemes"]
    assert he["phase"] == "critical" and he["chi1"] == pytest.approx(1.0)
    assert big["q_star"] == "inf" and big["xi_c"] == "inf" and big["chi1"] == pytest.approx(128.0)
    assert {"q_star", "c_star", "chi1", "xi_c", "sigma_w2", "sigma_b2"} <= set(he)


def test_phase_diagram_validates_its_input() -> None:
    with pytest.raises(
        ParameterError,
        match=r"^The 'grid' parameter of phase_diagram must be an int in \[4, 256\]\. Got 2\.$",
    ):
        phase_diagram("tanh", grid=2)
    with pytest.raises(ParameterError, match=r"'sigma_w2_max' parameter of phase_diagram"):
        phase_diagram("tanh", sigma_w2_max=math.inf)
