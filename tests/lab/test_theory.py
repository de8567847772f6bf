"""The theory section's API: the phase diagram puts the critical points where the theory
package does and is solved once per activation; a point's predictions are the package's
length and correlation maps, its measurements agree with them within the sampling error,
its Jacobian spectrum shows dynamical isometry; and every bad input is refused with a
JSON error that names the parameter.

Sampling tolerance of the measured length ``q^l`` (mean square of a layer's ``N``
pre-activations): given the previous layer the ``N`` pre-activations are i.i.d. normal, so
their mean square has relative variance ``2/N``; at a critical point the length map's
slope in ``log q`` is at most 1 (exactly 1 for ReLU), so the relative errors of ``l``
layers add up to a variance of at most ``2l/N``, and the mean over ``networks``
independent networks divides it by ``networks``.  The tests allow four standard
deviations.  For the correlation the bound is the package's own
(:func:`weightlab.theory.sampling_sd`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from weightlab.lab import theory
from weightlab.lab.app import create_app
from weightlab.theory import (
    correlation_map,
    critical_sigma_w2,
    length_map,
    mean_field,
)

from .test_api import refused


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path_factory.mktemp("no-store") / "runs")) as c:
        yield c


def point(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/theory/point", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def phase(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/theory/phase", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- the phase diagram ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "critical", "scheme"),
    [("tanh", 1.0, "xavier_normal"), ("relu", 2.0, "he_normal")],
)
def test_the_phase_diagram_puts_the_critical_point_where_the_theory_does(
    client: TestClient, activation: str, critical: float, scheme: str
) -> None:
    d = phase(client, activation=activation)
    assert d["critical_sigma_w2_at_zero_bias"] == pytest.approx(critical, abs=1e-6)
    assert d["critical_line"][0] == {
        "sigma_b2": 0.0,
        "sigma_w2": d["critical_sigma_w2_at_zero_bias"],
    }
    at = {s["scheme"]: s for s in d["schemes"]}[scheme]  # Xavier for tanh, He for ReLU
    assert (at["sigma_w2"], at["sigma_b2"]) == (pytest.approx(critical), 0.0)
    assert at["chi1"] == pytest.approx(1.0, abs=1e-9) and at["phase"] == "critical"
    # The grid's bottom row (a cell centre above σ_b² = 0): ordered left of the critical
    # line, chaotic right of it.
    grid = d["grid"]
    line = critical_sigma_w2(activation, grid["sigma_b2"][0])
    for w, chi1 in zip(grid["sigma_w2"], grid["chi1"][0], strict=True):
        assert (chi1 < 1) == (w < line), (w, chi1)
    assert len(grid["chi1"]) == len(grid["sigma_b2"]) == theory.PHASE_GRID
    assert d["window"] == {"sigma_w2": [0.0, 4.0], "sigma_b2": [0.0, 0.25]}


def test_relu_beyond_its_critical_point_has_no_fixed_length(client: TestClient) -> None:
    grid = phase(client, activation="relu")["grid"]
    for w, unbounded, xi in zip(
        grid["sigma_w2"], grid["unbounded"][3], grid["xi_c"][3], strict=True
    ):
        assert unbounded == (w > 2.0)
        assert (xi == "inf") == (w > 2.0)


def test_the_grid_is_solved_once_per_activation(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    solve = theory.phase_diagram

    def counted(activation: str, **kwargs: Any) -> Any:
        calls.append(activation)
        return solve(activation, **kwargs)

    monkeypatch.setattr(theory, "phase_diagram", counted)
    theory._diagram.cache_clear()
    narrow = phase(client, activation="selu", width=16)
    wide = phase(client, activation="selu", width=256)
    assert calls == ["selu"]
    assert narrow["grid"] == wide["grid"]
    # The width moves only the schemes whose variance depends on it.
    small = {s["scheme"]: s for s in narrow["schemes"]}
    large = {s["scheme"]: s for s in wide["schemes"]}
    assert small["normal(std=0.01)"]["sigma_w2"] == pytest.approx(16e-4)
    assert large["normal(std=0.01)"]["sigma_w2"] == pytest.approx(256e-4)
    assert small["he_normal"] == large["he_normal"]
    assert (small["normal(std=1.0)"]["inside"], large["normal(std=1.0)"]["inside"]) == (
        False,
        False,
    )
    phase(client, activation="linear")
    assert calls == ["selu", "linear"]


# -- one point ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "sigma_w", "sigma_b"),
    [("tanh", 1.2, 0.3), ("relu", 1.3, 0.1), ("selu", 0.9, 0.0), ("linear", 1.0, 0.5)],
)
def test_a_points_predictions_are_the_packages_maps(
    client: TestClient, activation: str, sigma_w: float, sigma_b: float
) -> None:
    p = point(client, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b, depth=6, width=64)
    sw2, sb2 = sigma_w**2, sigma_b**2
    q, c = p["layers"]["predicted_q"], p["layers"]["predicted_c"]
    assert (p["sigma_w2"], p["sigma_b2"], len(q), len(c)) == (sw2, sb2, 6, 6)
    # Layer 1 sees the inputs (mean square 1, cosine similarity 0.5) through one linear map.
    assert q[0] == pytest.approx(sw2 + sb2, rel=1e-12)
    assert c[0] == pytest.approx((sw2 * p["input_corr"] + sb2) / (sw2 + sb2), rel=1e-12)
    for layer in range(1, 6):
        expected_q = length_map(activation, q[layer - 1], sw2, sb2)
        expected_c = correlation_map(activation, c[layer - 1], q[layer - 1], sw2, sb2)
        assert q[layer] == pytest.approx(expected_q, rel=1e-12, abs=1e-15)
        assert c[layer] == pytest.approx(expected_c, rel=1e-12, abs=1e-15)
    numbers = mean_field(activation, sw2, sb2).to_json()
    for key in ("chi1", "c_star", "phase"):
        assert p["mean_field"][key] == numbers[key]


CRITICAL_POINTS = [
    ("tanh", 1.0, 0.0),
    ("relu", math.sqrt(2.0), 0.0),
    ("tanh", math.sqrt(critical_sigma_w2("tanh", 0.09)), 0.3),  # on the line, with biases
]


@pytest.mark.parametrize(("activation", "sigma_w", "sigma_b"), CRITICAL_POINTS)
def test_measured_length_and_correlation_agree_with_the_maps_at_a_critical_point(
    client: TestClient, activation: str, sigma_w: float, sigma_b: float
) -> None:
    p = point(client, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b)
    assert p["mean_field"]["chi1"] == pytest.approx(1.0, abs=1e-6)
    assert (p["depth"], p["width"], p["networks"]) == (20, 256, theory.NETWORKS)
    layers = p["layers"]
    n, networks = p["width"], p["networks"]
    for layer, measured, predicted in zip(
        layers["layer"], layers["measured_q"], layers["predicted_q"], strict=True
    ):
        tolerance = 4 * math.sqrt(2 * layer / (n * networks))  # module docstring
        assert abs(math.log(measured / predicted)) <= tolerance, (layer, measured, predicted)
    for measured, predicted, sd in zip(
        layers["measured_c"], layers["predicted_c"], layers["pair_sd"], strict=True
    ):
        assert abs(measured - predicted) <= 4 * sd / math.sqrt(networks)


def test_a_variance_where_a_standard_deviation_belongs_would_show(client: TestClient) -> None:
    """The check above can fail: σ_w² = √2 instead of 2 shrinks ReLU's length by
    (√2/2)^20 over 20 layers, far outside the tolerance."""
    p = point(client, activation="relu", sigma_w=2**0.25)
    assert p["layers"]["measured_q"][-1] < 1e-2 and p["mean_field"]["phase"] == "ordered"


def test_orthogonal_weights_keep_the_spectrum_at_one_at_tanhs_critical_point(
    client: TestClient,
) -> None:
    """Dynamical isometry (Pennington et al. 2017): at σ_w² = 1, σ_b = 0 tanh's q* is 0,
    every φ′ is 1, and orthogonal layers keep every singular value at 1 while Gaussian
    ones spread them over orders of magnitude (free probability: var σ² = L)."""
    orthogonal = point(client, activation="tanh", weights="orthogonal")["spectrum"]
    gaussian = point(client, activation="tanh", weights="gaussian")["spectrum"]
    assert orthogonal["std_log"] < 1e-6 and orthogonal["mean_sq"] == pytest.approx(1.0)
    assert (orthogonal["predicted_mean_sq"], orthogonal["predicted_var_sq"]) == (1.0, 0.0)
    assert gaussian["std_log"] > 3 and gaussian["predicted_var_sq"] == pytest.approx(20.0)
    assert gaussian["count"] == theory.JACOBIAN_INPUTS * 256
    assert sum(gaussian["histogram"]["counts"]) == round(
        gaussian["count"] * (1 - gaussian["unresolved"])
    )


def test_linear_layers_get_a_log_prediction(client: TestClient) -> None:
    gaussian = point(client, activation="linear", sigma_w=1.0, depth=8, width=128)["spectrum"]
    assert (gaussian["predicted_mean_log"], gaussian["predicted_std_log"]) == pytest.approx(
        (-4.0, 0.5 * math.sqrt(64 + 8 * math.pi**2 / 3))  # Fuss–Catalan
    )
    assert gaussian["mean_log"] == pytest.approx(-4.0, abs=0.5)
    scaled = point(
        client, activation="linear", sigma_w=1.5, depth=8, width=128, weights="orthogonal"
    )
    s = scaled["spectrum"]
    assert s["predicted_mean_log"] == pytest.approx(8 * math.log(1.5))
    assert s["mean_log"] == pytest.approx(8 * math.log(1.5)) and s["std_log"] < 1e-9
    assert point(client, activation="tanh")["spectrum"]["predicted_mean_log"] is None


def test_zero_weights_and_biases_answer_without_failing(client: TestClient) -> None:
    p = point(client, sigma_w=0.0, sigma_b=0.0, depth=3, width=16)
    assert p["spectrum"]["unresolved"] == 1.0 and p["spectrum"]["histogram"]["counts"] == []
    assert p["layers"]["measured_q"] == [0.0, 0.0, 0.0]


# -- refusals -------------------------------------------------------------------------------------

ACTIVATIONS = "'linear', 'relu', 'tanh', 'sigmoid', 'leaky_relu', 'selu', 'gelu', 'silu'"
POINT_REFUSALS = [
    (
        {"activation": "softsign"},
        "activation",
        f"The 'activation' parameter of theory point must be one of {ACTIVATIONS}. Got 'softsign'.",
    ),
    (
        {"sigma_w": 2.5},
        "sigma_w",
        "The 'sigma_w' parameter of theory point must be a float in [0, 2]. Got 2.5.",
    ),
    (
        {"sigma_w": -0.1},
        "sigma_w",
        "The 'sigma_w' parameter of theory point must be a float in [0, 2]. Got -0.1.",
    ),
    (
        {"sigma_w": "1"},
        "sigma_w",
        "The 'sigma_w' parameter of theory point must be a float in [0, 2]. Got '1'.",
    ),
    (
        {"sigma_b": 0.6},
        "sigma_b",
        "The 'sigma_b' parameter of theory point must be a float in [0, 0.5]. Got 0.6.",
    ),
    (
        {"depth": 51},
        "depth",
        "The 'depth' parameter of theory point must be an int in [1, 50]. Got 51.",
    ),
    (
        {"depth": 0},
        "depth",
        "The 'depth' parameter of theory point must be an int in [1, 50]. Got 0.",
    ),
    (
        {"width": 512},
        "width",
        "The 'width' parameter of theory point must be an int in [16, 256]. Got 512.",
    ),
    (
        {"weights": "uniform"},
        "weights",
        "The 'weights' parameter of theory point must be one of 'gaussian', 'orthogonal'. Got 'uniform'.",
    ),
    (
        {"seed": 1},
        "seed",
        "The theory point takes no 'seed' parameter (it takes: activation, sigma_w, sigma_b, "
        "depth, width, weights).",
    ),
]


@pytest.mark.parametrize(("body", "parameter", "message"), POINT_REFUSALS)
def test_point_refusals(
    client: TestClient, body: dict[str, Any], parameter: str, message: str
) -> None:
    refused(client.post("/api/theory/point", json=body), 422, message, parameter)


def test_phase_refusals(client: TestClient) -> None:
    refused(
        client.post("/api/theory/phase", json={"activation": "swish"}),
        422,
        f"The 'activation' parameter of theory phase must be one of {ACTIVATIONS}. Got 'swish'.",
        "activation",
    )
    refused(
        client.post("/api/theory/phase", json={"width": 4}),
        422,
        "The 'width' parameter of theory phase must be an int in [16, 256]. Got 4.",
        "width",
    )
    refused(
        client.post(
            "/api/theory/phase", content=b"[1]", headers={"content-type": "application/json"}
        ),
        400,
        "The request body must be a JSON object ({} takes every default).",
        None,
    )


def test_meta_offers_the_theory_form(client: TestClient) -> None:
    meta = client.get("/api/meta").json()
    assert meta["defaults"]["theory"] == {
        "activation": "tanh",
        "sigma_w": 1.0,
        "sigma_b": 0.0,
        "depth": 20,
        "width": 256,
        "weights": "gaussian",
    }
    assert list(meta["schemas"]["theory"]["properties"]) == list(meta["defaults"]["theory"])
    assert meta["limits"]["sigma_w"] == [0.0, 2.0] and meta["limits"]["theory_depth"] == [1, 50]


def test_the_store_is_not_needed(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "missing")) as c:
        assert c.post("/api/theory/phase", json={"activation": "linear"}).status_code == 200
    assert not (tmp_path / "missing").exists()
