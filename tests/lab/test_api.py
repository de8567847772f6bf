"""The lab's JSON API: every endpoint, every refused input with its status and message,
and the event stream on a real server (a closed stream stops its training)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from weightlab.init import scheme_names  # noqa: E402
from weightlab.lab.app import create_app, plotly_js  # noqa: E402
from weightlab.lab.schemas import LIMITS, RegularizationSetup  # noqa: E402
from weightlab.lab.sections import SECTIONS  # noqa: E402
from weightlab.landscape import OBJECTIVES  # noqa: E402
from weightlab.regularize import REGISTRY  # noqa: E402

from .conftest import LiveLab, wait_until  # noqa: E402

TINY = {"n_samples": 40, "depth": 1, "width": 4}
REG_TINY = {"dataset": "moons", "n_samples": 40, "depth": 1, "width": 8}


@pytest.fixture
def client(small_store: Path) -> Iterator[TestClient]:
    # One test client may hold all four sessions here; tests/lab/test_http.py checks the
    # per-client share.
    app = create_app(small_store, max_sessions=4, max_trainings=1, max_client_sessions=4)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def session(client: TestClient) -> str:
    response = client.post("/api/sessions")
    assert response.status_code == 201
    return str(response.json()["session"])


def refused(response: httpx.Response, status: int, message: str, parameter: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": message, "parameter": parameter}


# -- pages, static files, the schema --------------------------------------------------------


def test_page_and_its_files_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "weightlab lab" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    for path in ("/static/lab.js", "/static/lab.css"):
        assert client.get(path).status_code == 200
    plotly = client.get("/vendor/plotly.min.js")
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
    assert plotly.content == plotly_js().read_bytes()


def test_openapi_documents_every_endpoint_with_its_limits(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = {(m.upper(), p) for p, ms in schema["paths"].items() for m in ms}
    assert operations == {
        ("GET", "/api/meta"),
        ("POST", "/api/sessions"),
        ("DELETE", "/api/sessions/{session_id}"),
        ("GET", "/api/sessions/{session_id}/events"),
        ("PUT", "/api/sessions/{session_id}/init"),
        ("PUT", "/api/sessions/{session_id}/regularization"),
        ("PUT", "/api/sessions/{session_id}/race"),
        ("GET", "/api/sessions/{session_id}/{section}"),
        ("POST", "/api/sessions/{session_id}/{section}/play"),
        ("POST", "/api/sessions/{session_id}/{section}/pause"),
        ("POST", "/api/sessions/{session_id}/{section}/step"),
        ("POST", "/api/sessions/{session_id}/{section}/reset"),
        ("POST", "/api/landscape"),
        ("POST", "/api/theory/phase"),
        ("POST", "/api/theory/point"),
        ("GET", "/api/store"),
        ("GET", "/api/store/runs"),
        ("GET", "/api/store/runs/{run_id}"),
        ("GET", "/api/store/report"),
    }
    for path, methods in schema["paths"].items():
        for op in methods.values():
            assert op.get("description"), path
    depth = schema["components"]["schemas"]["InitSetup"]["properties"]["depth"]
    assert (depth["minimum"], depth["maximum"]) == (1, 20)
    assert "an int in [1, 20]" in depth["description"]
    reference = client.get("/api")
    assert reference.status_code == 200
    assert "/api/sessions/{session_id}/{section}/play" in reference.text


def test_meta_lists_every_choice_and_limit(client: TestClient) -> None:
    meta = client.get("/api/meta").json()
    assert meta["schemes"] == list(scheme_names())
    assert {"xavier_fan_in", "lsuv"} <= set(meta["schemes"])
    assert set(meta["objectives"]) == set(OBJECTIVES)
    assert meta["limits"]["depth"] == list(LIMITS["depth"])
    assert (meta["limits"]["trainings"], meta["limits"]["sessions"]) == (1, 4)
    assert meta["defaults"]["init"]["init"] == "xavier_normal"
    enum = meta["schemas"]["init"]["properties"]["dataset"]["enum"]
    assert "file" not in enum and "mnist1d" in enum


# -- sessions -------------------------------------------------------------------------------


def test_sessions_are_created_closed_and_limited(client: TestClient) -> None:
    ids = [client.post("/api/sessions").json()["session"] for _ in range(4)]
    assert len(set(ids)) == 4
    refused(
        client.post("/api/sessions"),
        429,
        "The lab already has 4 open sessions (its limit): close a tab or try again later.",
        None,
    )
    assert client.delete(f"/api/sessions/{ids[0]}").status_code == 204
    refused(
        client.delete(f"/api/sessions/{ids[0]}"),
        404,
        f"No session {ids[0]!r}: it expired or never existed (POST /api/sessions makes one).",
        "session_id",
    )
    assert client.post("/api/sessions").status_code == 201


def test_bad_session_ids(client: TestClient) -> None:
    refused(
        client.get("/api/sessions/a.b/init"),
        422,
        "The 'session_id' parameter of frame must be a session id from POST /api/sessions. Got 'a.b'.",
        "session_id",
    )
    refused(
        client.put("/api/sessions/nobody/init", json={}),
        404,
        "No session 'nobody': it expired or never existed (POST /api/sessions makes one).",
        "session_id",
    )


# -- the explorers ---------------------------------------------------------------------------


def test_init_setup_answers_a_measured_frame(client: TestClient, session: str) -> None:
    frame = client.put(f"/api/sessions/{session}/init", json=TINY).json()
    assert (frame["section"], frame["step"], frame["status"], frame["running"]) == (
        "init",
        0,
        "ready",
        False,
    )
    layers = frame["measurement"]["layers"]
    assert len(layers) == 2 and all(sum(layer["post_hist"]["counts"]) for layer in layers)
    assert frame["setup"]["init"] == "xavier_normal" and frame["points"] and frame["boundary"]
    again = client.get(f"/api/sessions/{session}/init").json()
    assert again["measurement"] == frame["measurement"]


def test_changing_the_scheme_changes_the_histograms(client: TestClient, session: str) -> None:
    def hist(scheme: str) -> list[int]:
        frame = client.put(f"/api/sessions/{session}/init", json={**TINY, "init": scheme}).json()
        return list(frame["measurement"]["layers"][0]["post_hist"]["counts"])

    assert hist("he_normal") != hist("zeros")


@pytest.mark.parametrize("scheme", [*scheme_names(), "normal(std=0.01)"])
def test_every_scheme_can_be_explored(client: TestClient, session: str, scheme: str) -> None:
    response = client.put(f"/api/sessions/{session}/init", json={**TINY, "init": scheme})
    assert response.status_code == 200, response.text
    assert response.json()["setup"]["init"] == scheme


INIT_REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (
        {"depth": 0},
        "depth",
        "The 'depth' parameter of init setup must be an int in [1, 20]. Got 0.",
    ),
    (
        {"depth": 21},
        "depth",
        "The 'depth' parameter of init setup must be an int in [1, 20]. Got 21.",
    ),
    (
        {"depth": "3"},
        "depth",
        "The 'depth' parameter of init setup must be an int in [1, 20]. Got '3'.",
    ),
    (
        {"depth": 3.5},
        "depth",
        "The 'depth' parameter of init setup must be an int in [1, 20]. Got 3.5.",
    ),
    (
        {"depth": True},
        "depth",
        "The 'depth' parameter of init setup must be an int in [1, 20]. Got True.",
    ),
    (
        {"width": 0},
        "width",
        "The 'width' parameter of init setup must be an int in [1, 512]. Got 0.",
    ),
    (
        {"width": 513},
        "width",
        "The 'width' parameter of init setup must be an int in [1, 512]. Got 513.",
    ),
    (
        {"n_samples": 19},
        "n_samples",
        "The 'n_samples' parameter of init setup must be an int in [20, 5000] or null. Got 19.",
    ),
    (
        {"n_samples": 5001},
        "n_samples",
        "The 'n_samples' parameter of init setup must be an int in [20, 5000] or null. Got 5001.",
    ),
    (
        {"dataset": "digits", "n_samples": 500},
        "n_samples",
        "The 'n_samples' parameter of init setup must be null for digits (its 1797 images). Got 500.",
    ),
    (
        {"dataset": "mnist1d", "n_samples": 4001},
        "n_samples",
        "The 'n_samples' parameter of init setup must be an int in [20, 4000] for mnist1d (its training series). Got 4001.",
    ),
    (
        {"noise": 0.6},
        "noise",
        "The 'noise' parameter of init setup must be a float in [0, 0.5]. Got 0.6.",
    ),
    ({"lr": 0}, "lr", "The 'lr' parameter of init setup must be a float in (0, 10]. Got 0."),
    ({"lr": 11}, "lr", "The 'lr' parameter of init setup must be a float in (0, 10]. Got 11."),
    (
        {"lr": float("nan")},
        "lr",
        "The 'lr' parameter of init setup must be a float in (0, 10]. Got nan.",
    ),
    (
        {"batch_size": 0},
        "batch_size",
        "The 'batch_size' parameter of init setup must be an int in [1, 512]. Got 0.",
    ),
    (
        {"batch_size": 513},
        "batch_size",
        "The 'batch_size' parameter of init setup must be an int in [1, 512]. Got 513.",
    ),
    (
        {"max_steps": 0},
        "max_steps",
        "The 'max_steps' parameter of init setup must be an int in [1, 20000]. Got 0.",
    ),
    (
        {"max_steps": 20001},
        "max_steps",
        "The 'max_steps' parameter of init setup must be an int in [1, 20000]. Got 20001.",
    ),
    (
        {"seed": -1},
        "seed",
        "The 'seed' parameter of init setup must be an int in [0, 2147483647]. Got -1.",
    ),
    (
        {"dataset": "file"},
        "dataset",
        "The 'dataset' parameter of init setup must be one of 'circle', 'xor', 'gauss', 'spiral', 'moons', 'plane', 'multigauss', 'digits', 'mnist1d'. Got 'file'.",
    ),
    (
        {"activation": "swish"},
        "activation",
        "The 'activation' parameter of init setup must be one of 'linear', 'relu', 'tanh', 'sigmoid', 'leaky_relu', 'selu', 'gelu', 'silu'. Got 'swish'.",
    ),
    (
        {"optimizer": "lbfgs"},
        "optimizer",
        "The 'optimizer' parameter of init setup must be one of 'sgd', 'adam'. Got 'lbfgs'.",
    ),
    (
        {"gain_from_activation": "yes"},
        "gain_from_activation",
        "The 'gain_from_activation' parameter of init setup must be a bool. Got 'yes'.",
    ),
    (
        {"init": ""},
        "init",
        "The 'init' parameter of init setup must be a scheme name or spec of at most 120 characters. Got ''.",
    ),
    (
        {"init": "x" * 121},
        "init",
        f"The 'init' parameter of init setup must be a scheme name or spec of at most 120 characters. Got {'x' * 121!r}.",
    ),
    (
        {"init": "nope"},
        "init",
        "The 'init' parameter of init setup must be one of "
        + ", ".join(repr(s) for s in scheme_names())
        + ". Got 'nope'.",
    ),
    (
        {"init": "normal(std=-1)"},
        "init",
        "The 'std' parameter of normal must be a float >= 0. Got -1.0.",
    ),
    # Specs are parsed, never evaluated: code is refused like any other bad spec.
    (
        {"init": "__import__('os').system('true')"},
        "init",
        "The 'init' parameter of init setup must be a name or a call with literal arguments such as 'normal(std=0.01)'. Got \"__import__('os').system('true')\".",
    ),
    # No user models by import path.
    (
        {"model": {"arch": "module", "path": "os:system"}},
        "model",
        "The init setup takes no 'model' parameter (it takes: dataset, n_samples, noise, train_fraction, features, depth, width, widths, activation, seed, optimizer, lr, batch_size, max_steps, init, gain_from_activation).",
    ),
]


@pytest.mark.parametrize(("body", "parameter", "message"), INIT_REFUSED)
def test_init_setup_refusals(
    client: TestClient, session: str, body: dict[str, Any], parameter: str, message: str
) -> None:
    response = client.put(
        f"/api/sessions/{session}/init",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    refused(response, 422, message, parameter)


REGULARIZATION_REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (
        {"l1.strength": -1},
        "l1.strength",
        "The 'l1.strength' parameter of regularization setup must be a float in [0, 10]. Got -1.",
    ),
    (
        {"l2.strength": 11},
        "l2.strength",
        "The 'l2.strength' parameter of regularization setup must be a float in [0, 10]. Got 11.",
    ),
    (
        {"regularizer": "dropout", "dropout.p": 1.0},
        "dropout.p",
        "The 'dropout.p' parameter of regularization setup must be a float in [0, 1). Got 1.0.",
    ),
    (
        {"max_norm.max_value": 0},
        "max_norm.max_value",
        "The 'max_norm.max_value' parameter of regularization setup must be a float in (0, 10]. Got 0.",
    ),
    (
        {"regularizer": "l3"},
        "regularizer",
        "The 'regularizer' parameter of regularization setup must be one of 'none', "
        + ", ".join(repr(n) for n in REGISTRY)
        + ". Got 'l3'.",
    ),
    (
        {"l1.rule": "lasso"},
        "l1.rule",
        "The 'l1.rule' parameter of regularization setup must be one of 'subgradient', 'clip', 'proximal', 'penalty'. Got 'lasso'.",
    ),
    (
        {"elastic_net.l1_ratio": 1.5},
        "elastic_net.l1_ratio",
        "The 'elastic_net.l1_ratio' parameter of regularization setup must be a float in [0, 1]. Got 1.5.",
    ),
    (
        {"strength": 0.1},
        "strength",
        "The regularization setup takes no 'strength' parameter (it takes: "
        + ", ".join(f.alias or n for n, f in RegularizationSetup.model_fields.items())
        + ").",
    ),
    (
        {"depth": 99},
        "depth",
        "The 'depth' parameter of regularization setup must be an int in [1, 20]. Got 99.",
    ),
]


@pytest.mark.parametrize(("body", "parameter", "message"), REGULARIZATION_REFUSED)
def test_regularization_setup_refusals(
    client: TestClient, session: str, body: dict[str, Any], parameter: str, message: str
) -> None:
    refused(
        client.put(f"/api/sessions/{session}/regularization", json=body), 422, message, parameter
    )


def test_regularization_setup_answers_two_arms(client: TestClient, session: str) -> None:
    body = {**REG_TINY, "regularizer": "l1", "l1.strength": 0.01, "l1.rule": "clip"}
    frame = client.put(f"/api/sessions/{session}/regularization", json=body).json()
    assert [a["name"] for a in frame["arms"]] == ["regularized", "plain"]
    assert frame["arms"][0]["regularization"] == "l1(0.01, rule='clip')"
    assert frame["measurement"] is None
    stepped = client.post(f"/api/sessions/{session}/regularization/step", json={"steps": 4}).json()
    assert stepped["step"] == 4 and stepped["steps"] == [0, 4]


def test_bodies_that_are_not_json_objects(client: TestClient, session: str) -> None:
    url = f"/api/sessions/{session}/init"
    json_type = {"content-type": "application/json"}
    refused(
        client.put(url, content=b"{bad", headers=json_type),
        400,
        "The request body is not valid JSON (Expecting property name enclosed in double quotes).",
        None,
    )
    message = "The request body must be a JSON object ({} takes every default)."
    refused(client.put(url, content=b"[1]", headers=json_type), 400, message, None)
    refused(client.put(url), 400, message, None)


def test_limits_on_the_request_itself(client: TestClient, session: str) -> None:
    refused(
        client.post(
            "/api/landscape",
            content=b" " * (65 * 1024),
            headers={"content-type": "application/json"},
        ),
        413,
        "The request body is over 64 KiB.",
        None,
    )
    refused(
        client.put(f"/api/sessions/{session}/init", content=iter([b"{}"])),  # chunked
        411,
        "Send the request body with a Content-Length.",
        None,
    )
    refused(
        client.get("/api/nothing"),
        404,
        "No such page or endpoint (GET /openapi.json lists the API).",
        None,
    )
    refused(
        client.post("/api/meta"),
        405,
        "This endpoint takes GET, not POST (GET /openapi.json lists the API).",
        None,
    )


def test_step_pause_reset_and_frame(client: TestClient, session: str) -> None:
    base = f"/api/sessions/{session}/init"
    first = client.put(base, json={**TINY, "max_steps": 6}).json()
    assert client.post(f"{base}/step", json={"steps": 4}).json()["step"] == 4
    assert client.post(f"{base}/step").json()["step"] == 5  # one step by default
    assert client.post(f"{base}/pause").json()["step"] == 5  # pausing a paused training is fine
    assert client.get(base).json()["step"] == 5
    assert client.post(f"{base}/step", json={"steps": 10}).json()["status"] == "done"
    refused(
        client.post(f"{base}/step"),
        409,
        "The training reached its step limit (6): reset it or raise max_steps.",
        None,
    )
    reset = client.post(f"{base}/reset").json()
    assert (reset["step"], reset["generation"]) == (0, first["generation"] + 1)
    assert reset["measurement"] == first["measurement"]


def test_step_and_play_refusals(client: TestClient, session: str) -> None:
    base = f"/api/sessions/{session}/init"
    for action in ("step", "play", "pause", "reset"):
        refused(
            client.post(f"{base}/{action}"),
            409,
            f"The init section of this session has no setup yet: PUT /api/sessions/{session}/init first.",
            "section",
        )
    refused(
        client.get(f"/api/sessions/{session}/init"),
        409,
        f"The init section of this session has no setup yet: PUT /api/sessions/{session}/init first.",
        "section",
    )
    client.put(base, json=TINY)
    cases = [
        (
            "step",
            {"steps": 0},
            "steps",
            "The 'steps' parameter of step must be an int in [1, 1000]. Got 0.",
        ),
        (
            "step",
            {"steps": 1001},
            "steps",
            "The 'steps' parameter of step must be an int in [1, 1000]. Got 1001.",
        ),
        (
            "step",
            {"steps": "5"},
            "steps",
            "The 'steps' parameter of step must be an int in [1, 1000]. Got '5'.",
        ),
        ("step", {"step": 5}, "step", "The step takes no 'step' parameter (it takes: steps)."),
        (
            "play",
            {"steps_per_frame": 0},
            "steps_per_frame",
            "The 'steps_per_frame' parameter of play must be an int in [1, 100]. Got 0.",
        ),
        (
            "play",
            {"steps_per_frame": 101},
            "steps_per_frame",
            "The 'steps_per_frame' parameter of play must be an int in [1, 100]. Got 101.",
        ),
    ]
    for action, body, parameter, message in cases:
        refused(client.post(f"{base}/{action}", json=body), 422, message, parameter)
    refused(
        client.post(f"{base}/play"),
        409,
        f"Open the session's event stream (GET /api/sessions/{session}/events) before playing: training runs only while someone watches it.",
        None,
    )
    refused(
        client.post(f"/api/sessions/{session}/bogus/step"),
        422,
        "The 'section' parameter of step must be one of 'init', 'regularization', 'race'. Got 'bogus'.",
        "section",
    )


def test_a_diverged_training_says_so(client: TestClient, session: str) -> None:
    base = f"/api/sessions/{session}/init"
    client.put(base, json={**TINY, "activation": "linear", "init": "normal(std=1e20)", "depth": 3})
    assert client.post(f"{base}/step").json()["status"] == "diverged"
    refused(
        client.post(f"{base}/step"),
        409,
        "The training diverged (its loss is not finite): reset it.",
        None,
    )


# -- the landscape ---------------------------------------------------------------------------


@pytest.mark.parametrize("function", OBJECTIVES)
def test_landscape_of_every_function(client: TestClient, function: str) -> None:
    body = {"function": function, "penalty": "l2", "grid": 20, "steps": 20}
    data = client.post("/api/landscape", json=body).json()
    assert len(data["total"]) == 20 and len(data["total"][0]) == 20
    assert len(data["trajectory"]["w"]) <= 21
    # The penalty's level set through the optimum, unless the optimum is the origin.
    assert (data["level_set"] is None) == (data["optimum"] == [0.0, 0.0])
    assert data["scale"] in ("linear", "log")


def test_landscape_lambda_moves_the_optimum_and_changes_the_contours(client: TestClient) -> None:
    def at(lam: float) -> dict[str, Any]:
        body = {"function": "quadratic", "penalty": "l1", "lam": lam, "grid": 30}
        return dict(client.post("/api/landscape", json=body).json())

    small, large = at(0.05), at(0.8)
    assert small["total"] != large["total"]
    assert small["optimum"] != large["optimum"]
    assert large["optimum"][1] == 0.0  # L1 puts a weight exactly on the axis
    assert small["loss"] == large["loss"]  # J itself does not depend on λ


@pytest.mark.parametrize("function", ["quadratic", "rosenbrock"])
def test_landscape_float32_grids_hold_the_json_grids(client: TestClient, function: str) -> None:
    body = {"function": function, "penalty": "l1", "lam": 0.3, "grid": 24}
    plain = client.post("/api/landscape", json=body).json()
    packed = client.post("/api/landscape", json={**body, "encoding": "float32"}).json()
    for key in ("total", "loss"):
        rows = np.frombuffer(base64.b64decode(packed[key]), dtype="<f4").reshape(24, 24)
        expected = np.array(plain[key], dtype=float)  # 5 significant digits
        np.testing.assert_allclose(rows, expected, rtol=1e-4, atol=1e-30)
    rest = {k: v for k, v in plain.items() if k not in ("total", "loss")}
    assert rest == {k: v for k, v in packed.items() if k not in ("total", "loss")}


def test_landscape_trajectory_starts_at_the_clicked_point(client: TestClient) -> None:
    body = {"penalty": "none", "start": [-0.5, 1.25], "lr": 0.1, "steps": 10}
    data = client.post("/api/landscape", json=body).json()
    assert data["trajectory"]["w"][0] == [-0.5, 1.25] and len(data["trajectory"]["w"]) == 11
    assert data["path"] is None and data["level_set"] is None and data["loss_level"] is None


LANDSCAPE_REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (
        {"function": "sphere"},
        "function",
        "The 'function' parameter of landscape must be one of 'quadratic', 'himmelblau', 'rosenbrock', 'beale', 'rastrigin', 'booth', 'matyas', 'model'. Got 'sphere'.",
    ),
    (
        {"penalty": "l3"},
        "penalty",
        "The 'penalty' parameter of landscape must be one of 'none', 'l1', 'l2'. Got 'l3'.",
    ),
    (
        {"lam": -1},
        "lam",
        "The 'lam' parameter of landscape must be a float in [0, 1000] or null. Got -1.",
    ),
    (
        {"lam": 1001},
        "lam",
        "The 'lam' parameter of landscape must be a float in [0, 1000] or null. Got 1001.",
    ),
    (
        {"grid": 19},
        "grid",
        "The 'grid' parameter of landscape must be an int in [20, 200]. Got 19.",
    ),
    (
        {"grid": 201},
        "grid",
        "The 'grid' parameter of landscape must be an int in [20, 200]. Got 201.",
    ),
    (
        {"steps": 0},
        "steps",
        "The 'steps' parameter of landscape must be an int in [1, 2000]. Got 0.",
    ),
    (
        {"steps": 2001},
        "steps",
        "The 'steps' parameter of landscape must be an int in [1, 2000]. Got 2001.",
    ),
    (
        {"start": [1]},
        "start",
        "The 'start' parameter of landscape must be a pair of floats in [-10000, 10000] or null. Got [1].",
    ),
    (
        {"start": [1, 2, 3]},
        "start",
        "The 'start' parameter of landscape must be a pair of floats in [-10000, 10000] or null. Got [1, 2, 3].",
    ),
    (
        {"start": [1e5, 0]},
        "start",
        "The 'start' parameter of landscape must be a pair of floats in [-10000, 10000] or null. Got [100000.0, 0].",
    ),
    (
        {"start": ["a", 1]},
        "start",
        "The 'start' parameter of landscape must be a pair of floats in [-10000, 10000] or null. Got ['a', 1].",
    ),
    ({"lr": 0}, "lr", "The 'lr' parameter of landscape must be a float in (0, 10] or null. Got 0."),
    (
        {"rule": "lasso"},
        "rule",
        "The 'rule' parameter of landscape must be one of 'proximal', 'clip', 'subgradient'. Got 'lasso'.",
    ),
]


@pytest.mark.parametrize(("body", "parameter", "message"), LANDSCAPE_REFUSED)
def test_landscape_refusals(
    client: TestClient, body: dict[str, Any], parameter: str, message: str
) -> None:
    refused(client.post("/api/landscape", json=body), 422, message, parameter)


# -- runs and reports -------------------------------------------------------------------------


def test_store_runs_and_one_run(client: TestClient, small_store: Path) -> None:
    store = client.get("/api/store").json()
    assert store["exists"] and store["path"] == str(small_store.resolve())
    assert store["sweeps"] == [{"name": "lab-tiny", "runs": 4, "statuses": {"done": 4}}]
    runs = client.get("/api/store/runs", params={"sweep": "lab-tiny"}).json()
    assert [r["init"] for r in runs] == ["zeros", "zeros", "xavier_normal", "xavier_normal"]
    assert client.get("/api/store/runs").json() == runs
    run = client.get(f"/api/store/runs/{runs[2]['id']}").json()
    assert run["config"]["init"] == "xavier_normal" and run["status"] == "done"
    assert run["curves"]["val_loss"]["step"] == list(range(0, 201, 10))
    assert {h["step"] for h in run["histograms"] if h["kind"] == "weight"} == {0, 200}


def test_store_refusals(client: TestClient) -> None:
    refused(client.get("/api/store/runs/999"), 404, "No run with id 999 in the store.", "run_id")
    refused(
        client.get("/api/store/runs/0"),
        422,
        "The 'run_id' parameter of run must be an int >= 1. Got '0'.",
        "run_id",
    )
    refused(
        client.get("/api/store/runs/x"),
        422,
        "The 'run_id' parameter of run must be an int >= 1. Got 'x'.",
        "run_id",
    )
    refused(
        client.get("/api/store/runs", params={"sweep": "nope"}),
        404,
        "No sweep 'nope' in the store (sweeps: 'lab-tiny').",
        "sweep",
    )
    long = "x" * 201
    refused(
        client.get("/api/store/runs", params={"sweep": long}),
        422,
        f"The 'sweep' parameter of runs must be a sweep name of at most 200 characters. Got {long!r}.",
        "sweep",
    )
    refused(
        client.get("/api/store/report", params={"sweep": "nope"}),
        404,
        "No sweep 'nope' in the store (sweeps: 'lab-tiny').",
        "sweep",
    )


@pytest.mark.slow
def test_report_opens_and_downloads(client: TestClient) -> None:
    opened = client.get("/api/store/report", params={"sweep": "lab-tiny"})
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/html")
    assert opened.headers["content-disposition"].startswith("inline")
    assert "weightlab report" in opened.text and "lab-tiny" in opened.text
    downloaded = client.get("/api/store/report", params={"download": "true"})
    assert (
        downloaded.headers["content-disposition"] == 'attachment; filename="weightlab-report.html"'
    )
    assert downloaded.content == opened.content  # built once, then reused


def test_an_unexpected_failure_is_a_json_500(
    small_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(query: object) -> None:
        raise RuntimeError("disk on fire\nmore detail")

    monkeypatch.setattr("weightlab.lab.landscape.surface", broken)
    with TestClient(create_app(small_store), raise_server_exceptions=False) as client:
        refused(
            client.post("/api/landscape", json={}),
            500,
            "The lab failed: RuntimeError: disk on fire",
            None,
        )


def test_meta_says_when_the_warm_up_has_finished(small_store: Path) -> None:
    with TestClient(create_app(small_store)) as client:
        assert client.get("/api/meta").json()["warm"] is True  # nothing to warm up
    with TestClient(create_app(small_store, warm_up=True)) as client:
        assert client.app.state.warm.wait(120)  # type: ignore[attr-defined]
        assert client.get("/api/meta").json()["warm"] is True


def test_requests_compute_at_most_request_threads_at_once(small_store: Path) -> None:
    from anyio import to_thread

    for threads in (1, 3):
        with TestClient(create_app(small_store, request_threads=threads)) as client:
            limiter = client.portal.call(to_thread.current_default_thread_limiter)
            assert limiter.total_tokens == threads
            assert client.get("/api/meta").status_code == 200


@pytest.mark.parametrize("bad", [0, 65, 1.5, True])
def test_request_threads_out_of_range_is_refused(small_store: Path, bad: object) -> None:
    with pytest.raises((ValueError, TypeError)) as error:
        create_app(small_store, request_threads=bad)  # type: ignore[arg-type]
    assert str(error.value).startswith(
        "The 'request_threads' parameter of create_app must be an int in [1, 64]"
    )
    assert str(error.value).endswith(f"Got {bad!r}.")


def test_non_finite_numbers_are_written_as_strings() -> None:
    from weightlab.lab.app import _json

    assert _json({"a": [1.0, float("inf")], "b": float("nan")}).body == (
        b'{"a":[1.0,"inf"],"b":"nan"}'
    )
    assert _json({"a": (1, 2.5)}).body == b'{"a":[1,2.5]}'


def test_a_missing_store_is_empty_and_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "no-store"
    with TestClient(create_app(missing)) as client:
        assert client.get("/api/store").json() == {
            "path": str(missing.resolve()),
            "exists": False,
            "sweeps": [],
        }
        assert client.get("/api/store/runs").json() == []
        refused(
            client.get("/api/store/report"),
            404,
            f"No run store in {missing} (make one with 'weightlab run SPEC.yaml' or 'weightlab demo').",
            "store",
        )
        refused(client.get("/api/store/runs/1"), 404, "No run with id 1 in the store.", "run_id")
    assert not missing.exists()


# -- the event stream, on a real server ------------------------------------------------------


def events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """``(event, data)`` pairs of a Server-Sent Events response."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            yield name, data
            name, data = "message", ""


def test_stream_carries_frames_and_closing_it_stops_training(live_lab: LiveLab) -> None:
    with httpx.Client(base_url=live_lab.url, timeout=20) as http:
        session = http.post("/api/sessions").json()["session"]
        http.put(f"/api/sessions/{session}/init", json={**TINY, "max_steps": 20000})
        lab = live_lab.app.state.lab
        with http.stream("GET", f"/api/sessions/{session}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = events(stream)
            assert next(received) == ("hello", json.dumps({"session": session}))
            assert (
                http.post(
                    f"/api/sessions/{session}/init/play", json={"steps_per_frame": 2}
                ).status_code
                == 202
            )
            steps = []
            for name, data in received:
                assert name == "frame"
                frame = json.loads(data)
                assert frame["running"] and frame["section"] == "init"
                steps.append(frame["step"])
                if len(steps) == 3:
                    break
            assert steps == sorted(steps) and steps[0] > 0
            assert lab.trainings == 1
        # The stream closed, as when the tab is closed: the training stops by itself.
        wait_until(lambda: lab.trainings == 0)
        stopped = http.get(f"/api/sessions/{session}/init").json()
        assert not stopped["running"]
        time.sleep(0.1)
        assert http.get(f"/api/sessions/{session}/init").json()["step"] == stopped["step"]


def test_pause_over_http_and_the_training_pool(live_lab: LiveLab) -> None:
    with (
        httpx.Client(base_url=live_lab.url, timeout=20) as http,
        contextlib.ExitStack() as open_streams,
    ):
        sessions = [http.post("/api/sessions").json()["session"] for _ in range(3)]
        readers = []  # kept: dropping a reader closes its stream
        for session in sessions:
            http.put(f"/api/sessions/{session}/init", json={**TINY, "max_steps": 20000})
            stream = open_streams.enter_context(
                http.stream("GET", f"/api/sessions/{session}/events")
            )
            readers.append(events(stream))
            assert next(readers[-1])[0] == "hello"
        for session in sessions[:2]:
            played = http.post(f"/api/sessions/{session}/init/play")
            assert played.status_code == 202, played.text
        refused(
            http.post(f"/api/sessions/{sessions[2]}/init/play"),
            429,
            "All 2 training slots are busy: pause another training or try again later.",
            None,
        )
        refused(
            http.post(f"/api/sessions/{sessions[0]}/init/step"),
            409,
            "The init training is playing: pause it first.",
            None,
        )
        paused = http.post(f"/api/sessions/{sessions[0]}/init/pause").json()
        assert not paused["running"] and paused["step"] > 0
        assert http.post(f"/api/sessions/{sessions[2]}/init/play").status_code == 202
        # A live change (the learning rate) goes on playing from the same step ...
        live = {**TINY, "max_steps": 20000, "lr": 0.05}
        frame = http.put(f"/api/sessions/{sessions[1]}/init", json=live).json()
        assert frame["running"] and frame["step"] > 0 and frame["applied"]["live"] == ["lr"]
        # ... while a structural one (the width) pauses it and starts again.
        frame = http.put(f"/api/sessions/{sessions[1]}/init", json={**live, "width": 5}).json()
        assert frame["step"] == 0 and not frame["running"] and frame["applied"]["reset"]
        open_streams.close()
        wait_until(lambda: live_lab.app.state.lab.trainings == 0)


def test_deleting_a_session_ends_its_stream(live_lab: LiveLab) -> None:
    with httpx.Client(base_url=live_lab.url, timeout=20) as http:
        session = http.post("/api/sessions").json()["session"]
        with http.stream("GET", f"/api/sessions/{session}/events") as stream:
            received = events(stream)
            assert next(received)[0] == "hello"
            assert http.delete(f"/api/sessions/{session}").status_code == 204
            assert next(received) == ("closed", "{}")


def test_every_registered_section_has_its_setup_route_and_meta(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for name, section in SECTIONS.items():
        put = schema["paths"][f"/api/sessions/{{session_id}}/{name}"]["put"]
        ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] == section.setup.__name__
    meta = client.get("/api/meta").json()
    assert [s["name"] for s in meta["sections"]] == list(SECTIONS)
    assert set(meta["schemas"]) == {*SECTIONS, "landscape", "theory"}
    assert list(meta["terms"]) == list(REGISTRY)
    assert meta["terms"]["max_norm"]["params"] == [
        {"name": "max_value", "field": "max_norm.max_value", "rule": "a float > 0"}
    ]
