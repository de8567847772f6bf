"""The lab's API under Schemathesis: requests generated from its own OpenAPI schema, one
operation at a time and as sequences that follow the links from session creation, must
never get a 5xx or an answer the schema does not describe (status, content type, the
``Allow`` of a 405, refusals of schema-invalid data).

One check is left out: that every schema-valid request is accepted.  The schema says
what JSON Schema can (types, limits, choices); a scheme spec such as ``"he_normla"`` or
``n_samples`` for digits is refused by the library's own validation with a 422 that
names the limit, which is the answer the API documents.  The event stream (an endless
response) is left out too; the examples are bounded so the file takes about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from weightlab.lab.app import create_app  # noqa: E402
from weightlab.lab.sections import SECTIONS  # noqa: E402

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure can be replayed
    suppress_health_check=list(HealthCheck),
    database=None,
)


# Schema-valid but semantically refused requests answer 422 by design (see above).
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


def _app(store: Path) -> object:
    app = create_app(store, max_sessions=64, max_trainings=2, max_client_sessions=64)
    app.state.lab.step_seconds = 0.2  # a step request trains for at most this long
    return app


@pytest.fixture(scope="module")
def lab_schema(small_store: Path) -> Iterator[object]:
    app = _app(small_store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema.exclude(path_regex=r"/events$")
    app.state.lab.shutdown()


def test_the_schema_links_session_creation_to_every_session_route(small_store: Path) -> None:
    schema = create_app(small_store).openapi()
    links = schema["paths"]["/api/sessions"]["post"]["responses"]["201"]["links"]
    with_session = {
        op["operationId"]
        for methods in schema["paths"].values()
        for op in methods.values()
        if any(p["name"] == "session_id" for p in op.get("parameters", []))
    }
    assert len(with_session) >= 8 and set(links) == with_session
    assert all(
        link["parameters"] == {"path.session_id": "$response.body#/session"}
        for link in links.values()
    )


# Every operation but the endless event stream, read from the schema at collection.
OPERATIONS = [
    (path, method.upper())
    for path, methods in create_app(Path("no-such-store")).openapi()["paths"].items()
    for method in methods
    if not path.endswith("/events")
]


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_within_its_schema(
    lab_schema: object, path: str, method: str
) -> None:
    operation = lab_schema[path][method]  # type: ignore[index]

    @FUZZ
    @given(case=operation.as_strategy())
    def call(case: object) -> None:
        case.call_and_validate(excluded_checks=EXCLUDED)  # type: ignore[attr-defined]

    call()


def test_session_sequences_follow_the_links(lab_schema: object) -> None:
    base = lab_schema.as_state_machine()  # type: ignore[attr-defined]
    reached: set[tuple[str, str, int]] = set()

    class Workflow(base):  # type: ignore[misc, valid-type]
        def after_call(self, response: object, case: object) -> None:
            super().after_call(response, case)
            status = response.status_code  # type: ignore[attr-defined]
            reached.add((case.method, case.path, status // 100))  # type: ignore[attr-defined]

        def validate_response(
            self, response: object, case: object, additional_checks: object = None, **kwargs: object
        ) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED)  # type: ignore[attr-defined]

    Workflow.run(
        settings=settings(
            max_examples=16,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    # The links were followed: a section's setup route answered with a real session's
    # frame (any section: the state machine picks among all of them).
    setups = {f"/api/sessions/{{session_id}}/{name}" for name in SECTIONS}
    assert any(method == "PUT" and path in setups and ok == 2 for method, path, ok in reached)
