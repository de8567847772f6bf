"""HTTP details of the lab: 405 answers name the methods in ``Allow``, integer fields
take whole-number floats as JSON Schema does, echoed input is cut short, one client
cannot hold every session, and extreme init parameters are a 422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from weightlab.lab.app import create_app  # noqa: E402
from weightlab.lab.errors import clip  # noqa: E402
from weightlab.lab.schemas import MEASURE_BATCH  # noqa: E402

TINY = {"n_samples": 40, "depth": 1, "width": 4}


@pytest.fixture
def client(small_store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(small_store, max_sessions=8, max_trainings=1)) as c:
        yield c


@pytest.fixture
def session(client: TestClient) -> str:
    return str(client.post("/api/sessions").json()["session"])


def answer(response: httpx.Response) -> tuple[int, dict[str, object]]:
    return response.status_code, response.json()


# -- 405 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/meta", "GET"),
        ("DELETE", "/api/sessions/{s}/init", "GET, PUT"),  # two routes share the path
        ("GET", "/api/sessions", "POST"),
        ("PATCH", "/api/sessions/{s}", "DELETE"),
        ("GET", "/api/landscape", "POST"),
    ],
)
def test_a_wrong_method_answers_405_with_allow(
    client: TestClient, session: str, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path.format(s=session))
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {
        "error": f"This endpoint takes {allow.replace(', ', ' or ')}, not {method} "
        "(GET /openapi.json lists the API).",
        "parameter": None,
    }


# -- integers --------------------------------------------------------------------------------


def test_whole_number_floats_are_integers(client: TestClient, session: str) -> None:
    base = f"/api/sessions/{session}/init"
    setup = client.put(base, json={**TINY, "depth": 2.0, "width": 4.0, "max_steps": 300.0})
    assert setup.status_code == 200, setup.text
    assert setup.json()["setup"]["depth"] == 2 and isinstance(setup.json()["setup"]["depth"], int)
    stepped = client.post(f"{base}/step", json={"steps": 155.0})
    assert stepped.status_code == 200 and stepped.json()["step"] == 155


@pytest.mark.parametrize(
    ("steps", "got"), [(155.5, "155.5"), (True, "True"), ("155", "'155'"), (1e300, "1e+300")]
)
def test_other_numbers_are_not_integers(
    client: TestClient, session: str, steps: object, got: str
) -> None:
    client.put(f"/api/sessions/{session}/init", json=TINY)
    assert answer(client.post(f"/api/sessions/{session}/init/step", json={"steps": steps})) == (
        422,
        {
            "error": f"The 'steps' parameter of step must be an int in [1, 1000]. Got {got}.",
            "parameter": "steps",
        },
    )


def test_the_schema_still_says_integer(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["StepRequest"]["properties"]["steps"]["type"] == "integer"
    assert schema["InitSetup"]["properties"]["depth"]["type"] == "integer"


# -- echoed input ----------------------------------------------------------------------------


def test_echoed_input_is_cut_to_about_200_characters(client: TestClient, session: str) -> None:
    long_name = "x" * 50_000
    status, body = answer(client.get("/api/store/runs", params={"sweep": long_name}))
    assert status == 422
    assert body["error"] == (
        "The 'sweep' parameter of runs must be a sweep name of at most 200 characters. "
        f"Got '{'x' * 199}… (50002 characters in all)."
    )
    status, body = answer(client.put(f"/api/sessions/{session}/init", json={long_name: 1}))
    assert status == 422 and len(str(body["error"])) < 400
    assert str(body["error"]).startswith(f"The init setup takes no '{'x' * 60}… (50000 char")
    assert body["parameter"] == clip(long_name, 60)
    status, body = answer(
        client.put(f"/api/sessions/{session}/regularization", json={"regularizer": "y" * 60_000})
    )
    assert status == 422 and len(str(body["error"])) < 500
    assert str(body["error"]).endswith("… (60002 characters in all).")


def test_short_input_is_echoed_whole(client: TestClient) -> None:
    name = "s" * 201  # over the limit, but short enough to show
    _, body = answer(client.get("/api/store/runs", params={"sweep": name}))
    assert str(body["error"]).endswith(f"Got '{name}'.")


# -- sessions per client ---------------------------------------------------------------------


def test_one_client_holds_at_most_its_share_of_sessions(small_store: Path) -> None:
    app = create_app(small_store, max_sessions=8)  # a quarter each: 2 per client
    with TestClient(app) as first, TestClient(app, client=("10.0.0.2", 5000)) as second:
        ids = [first.post("/api/sessions").json()["session"] for _ in range(2)]
        assert answer(first.post("/api/sessions")) == (
            429,
            {
                "error": "This client already has 2 open sessions (the limit per client): "
                "close a tab, DELETE a session, or try again when one has been idle for 600 s.",
                "parameter": None,
            },
        )
        assert second.post("/api/sessions").status_code == 201  # another client is served
        assert first.get("/api/meta").json()["limits"]["client_sessions"] == 2
        assert first.delete(f"/api/sessions/{ids[0]}").status_code == 204
        assert first.post("/api/sessions").status_code == 201


# -- extreme init parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("init", "message"),
    [
        ("he_normal(a=1e308)", "The 'a' parameter of he_normal must be a float in [0, 1e+37]. Got 1e+308."),
        ("constant(value=1e308)", "The 'value' parameter of constant must be a float in [-1e+37, 1e+37]. Got 1e+308."),
        ("uniform(low=-1e308, high=1e308)", "The 'low' parameter of uniform must be a float in [-1e+37, 1e+37]. Got -1e+308."),
    ],
)  # fmt: skip
def test_extreme_init_parameters_are_a_422(
    client: TestClient, session: str, init: str, message: str
) -> None:
    response = client.put(f"/api/sessions/{session}/init", json={**TINY, "init": init})
    assert answer(response) == (422, {"error": message, "parameter": "init"})


def test_the_measure_batch_is_the_explorers() -> None:
    from weightlab.lab import explore

    assert explore.MEASURE_BATCH == MEASURE_BATCH
