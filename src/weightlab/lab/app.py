"""The lab's web app: the page, its static files and Plotly.js, and the JSON API.

Every route is described in the OpenAPI schema (``/openapi.json``, readable at
``/api``).  Refused requests answer ``{"error": "...", "parameter": "..."}`` with a 4xx
status: 400 malformed JSON, 404 unknown session, run or sweep, 409 a request the
current state does not allow (playing before the stream is open, stepping while
playing), 413 a body over 64 KiB, 422 a value out of its limits, 429 no free session
or training slot.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import torch
from anyio import to_thread
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from weightlab import __version__
from weightlab._json import finite_json
from weightlab._validate import Interval, check
from weightlab.diagnose import COMPARE_SCHEMES
from weightlab.init import resolve, scheme_names
from weightlab.lab import landscape, theory
from weightlab.lab import trainer as lab_trainer
from weightlab.lab.data import FEATURE_LABELS
from weightlab.lab.errors import MAX_BODY, BodyLimit, install_error_handlers
from weightlab.lab.runs import RunStore
from weightlab.lab.schemas import (
    FEATURES,
    LIMITS,
    REGRESSION_SETS,
    TOY_SETS,
    LandscapeQuery,
    PlayRequest,
    Setup,
    StepRequest,
    TheoryPhaseQuery,
    TheoryPointQuery,
    term_field,
)
from weightlab.lab.sections import SECTIONS, Section
from weightlab.lab.sessions import Lab, Session
from weightlab.lab.trainer import RACE_CHOICES, RACE_LABELS
from weightlab.regularize import REGISTRY
from weightlab.store import DEFAULT_STORE

__all__ = ["STATIC", "create_app", "plotly_js"]

STATIC = Path(__file__).with_name("static")
_APP_TABLE = {"request_threads": Interval(1, 64, "both", integer=True)}
POLL_SECONDS = 0.05
PING_SECONDS = 15.0

if TYPE_CHECKING:
    SectionName = str
else:
    SectionName = Literal[tuple(SECTIONS)]  # the registered sections' names
SessionId = Annotated[
    str,
    PathParam(
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="From POST /api/sessions.",
        json_schema_extra={"expected": "a session id from POST /api/sessions"},
    ),
]
RunId = Annotated[
    int,
    PathParam(
        ge=1, le=2**62, description="A run's id.", json_schema_extra={"expected": "an int >= 1"}
    ),
]
SweepName = Annotated[
    str | None,
    Query(
        max_length=200,
        description="One sweep only.",
        json_schema_extra={"expected": "a sweep name of at most 200 characters"},
    ),
]
SectionParam = Annotated[
    SectionName, PathParam(description="Which section: " + ", ".join(SECTIONS) + ".")
]


class ErrorBody(BaseModel):
    """What every refused request answers."""

    error: str
    parameter: str | None = None


class SessionBody(BaseModel):
    """A new session."""

    session: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Malformed request body"),
        (404, "Unknown session, run or sweep"),
        (409, "Not possible in the current state"),
        (413, "Request body over 64 KiB"),
        (422, "A value outside its limits"),
        (429, "No free session or training slot"),
    )
}
_FRAME_DOC = " ".join(
    (
        "A frame: step, status (ready, done, diverged), running, generation (bumped by",
        "every setup that starts again and every reset; a live change keeps it), task",
        "(classification or regression), hidden (units per hidden layer), steps (the step",
        "of each curve point), changes (live changes: step and fields), arms (per network:",
        "name, label, curves of train/val loss, accuracy for classification, gap, penalty",
        "and sparsity; in the regularization section a histogram of its weights on bins",
        "shared by both arms, exact zeros counted apart, and zeros per layer), boundary",
        "(2-D data: one grid and, per arm, P(class 1) or the fitted value on it),",
        "measurement (init: per-layer variances beside the theory, the training-loss and",
        "probe gradient variances, histograms, dead/saturated fractions, distinct units,",
        "flags numbered by layer 1 … L, a recommendation and a note on the theory),",
        "picture (init and regularization: each unit's output over the plane, weights,",
        "dead/saturated/constant marks), mc_dropout (regularization with dropout: mean",
        "and spread of Monte-Carlo predictions), activations and claim (race: per arm and",
        "layer the activation histogram; the lesson judged); setup, dataset and points",
        "after a setup or reset, and applied (live fields, or reset) after a setup.",
    )
)


def plotly_js() -> Path:
    """Plotly.js as shipped inside the installed ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _json(value: Any, status: int = 200) -> JSONResponse:
    """``value`` as strict JSON: encoded as it is when every float is finite (the common
    case, in C), else after :func:`finite_json` writes the non-finite ones as strings."""
    try:
        return JSONResponse(value, status_code=status)
    except ValueError:  # a float that JSON cannot hold
        return JSONResponse(finite_json(value), status_code=status)


# -- pages -------------------------------------------------------------------------------


def _install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    @app.get("/api", include_in_schema=False)
    def reference() -> HTMLResponse:
        return HTMLResponse(_reference(app.openapi()))


def _reference(schema: dict[str, Any]) -> str:
    """The API as one plain HTML page, made from the OpenAPI schema (no external assets)."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>weightlab lab API"
        "</title><link rel='icon' href='data:,'><link rel='stylesheet' href='/static/lab.css'>"
        "</head><body class='reference'><h1>weightlab lab API</h1><p>"
        + html.escape(schema["info"].get("description", ""))
        + " The schema itself: <a href='/openapi.json'>/openapi.json</a>.</p>"
    ]
    components = schema.get("components", {}).get("schemas", {})
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            parts.append(
                f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>"
                f"<p>{html.escape(op.get('description') or op.get('summary', ''))}</p>"
            )
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            fields = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            rows = [
                *(
                    (p["name"], p.get("in", ""), p.get("description", ""))
                    for p in op.get("parameters", [])
                ),
                *((k, "body", v.get("description", "")) for k, v in fields.items()),
            ]
            if rows:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>")
                parts += [
                    f"<tr><td><code>{html.escape(n)}</code></td><td>{w}</td>"
                    f"<td>{html.escape(d)}</td></tr>"
                    for n, w, d in rows
                ]
                parts.append("</table>")
    return "".join(parts) + "</body></html>"


# -- the API -----------------------------------------------------------------------------


def _meta(lab: Lab, runs: RunStore) -> dict[str, Any]:
    return {
        "version": __version__,
        "sections": [
            {"name": s.name, "title": s.title, "prefix": s.prefix, "live": s.live()}
            for s in SECTIONS.values()
        ],
        "datasets": {
            "classification": list(TOY_SETS),
            "regression": list(REGRESSION_SETS),
            "other": ["digits", "mnist1d"],
        },
        "features": [{"name": f, "label": FEATURE_LABELS[f]} for f in FEATURES],
        "race_labels": RACE_LABELS,
        "race_choices": [str(resolve(s)) for s in RACE_CHOICES],
        "schemes": list(scheme_names()),
        "scheme_presets": [s for s in COMPARE_SCHEMES if "(" in s],
        "defaults": {
            **{name: s.setup().model_dump(by_alias=True) for name, s in SECTIONS.items()},
            "landscape": LandscapeQuery().model_dump(),
            "theory": TheoryPointQuery().model_dump(),
            "play": PlayRequest().model_dump(),
            "step": StepRequest().model_dump(),
        },
        "schemas": {
            **{name: s.setup.model_json_schema() for name, s in SECTIONS.items()},
            "landscape": LandscapeQuery.model_json_schema(),
            "theory": TheoryPointQuery.model_json_schema(),
        },
        "objectives": landscape.defaults(),
        "terms": _terms(),
        "limits": {
            **{k: list(v) for k, v in LIMITS.items()},
            "sessions": lab.max_sessions,
            "client_sessions": lab.max_client_sessions,
            "trainings": lab.max_trainings,
        },
        "store": str(runs.directory),
    }


def _setup_route(app: FastAPI, lab: Lab, section: Section) -> None:
    """``PUT /api/sessions/{session_id}/{section}``: the section's setup, validated by
    its own model."""

    def setup(session_id: str, setup: Setup) -> JSONResponse:
        return _json(lab.configure(lab.get(session_id), section.name, setup))

    # FastAPI reads the body's model from the signature: give it the section's.
    setup.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "session_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=SessionId
            ),
            inspect.Parameter(
                "setup", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=section.setup
            ),
        ],
        return_annotation=JSONResponse,
    )
    app.put(
        f"/api/sessions/{{session_id}}/{section.name}",
        responses=_ERRORS,
        name=f"{section.name} setup",
        tags=["explorers"],
        description=f"{section.description} {_FRAME_DOC}",
    )(setup)


def _terms() -> dict[str, Any]:
    """Every regularization term of the registry: what it does (each kind's formula and
    paper) and its parameters, for the regularization form."""
    return {
        entry.name: {
            "summary": entry.summary,
            "doc": entry.doc,
            "effect": entry.effect,
            "params": [
                {"name": p.name, "field": term_field(entry.name, p.name), "rule": p.describe()}
                for p in entry.params
            ],
        }
        for entry in REGISTRY.values()
    }


async def _stream(lab: Lab, session: Session) -> AsyncIterator[str]:
    """``hello`` once, then each new frame; a comment now and then keeps proxies from
    closing a quiet stream.  Closing it (a closed tab) stops the session's training."""
    lab.attach(session)
    try:
        yield f"retry: 3000\nevent: hello\ndata: {json.dumps({'session': session.id})}\n\n"
        seen: dict[str, int] = {}
        session.events_since(seen)  # only what happens from now on
        quiet = 0.0
        while session.id in lab.sessions:
            for text in session.events_since(seen):
                yield f"event: frame\ndata: {text}\n\n"
                quiet = 0.0
            await asyncio.sleep(POLL_SECONDS)
            quiet += POLL_SECONDS
            if quiet >= PING_SECONDS:
                yield ": ping\n\n"
                quiet = 0.0
        yield "event: closed\ndata: {}\n\n"
    finally:
        lab.detach(session)


def _install_session_routes(app: FastAPI, lab: Lab) -> None:
    @app.post(
        "/api/sessions",
        status_code=201,
        response_model=SessionBody,
        responses=_ERRORS,
        name="create session",
        tags=["sessions"],
    )
    def create_session(request: Request) -> SessionBody:
        """Start a session (one per browser tab): it holds that tab's trainings.  One
        client (address) may hold at most a quarter of the lab's sessions."""
        client = request.client.host if request.client else None
        return SessionBody(session=lab.create(client).id)

    @app.delete(
        "/api/sessions/{session_id}",
        status_code=204,
        responses=_ERRORS,
        name="close session",
        tags=["sessions"],
    )
    def close_session(session_id: SessionId) -> Response:
        """Stop the session's trainings and forget it."""
        lab.close(lab.get(session_id))
        return Response(status_code=204)

    @app.get(
        "/api/sessions/{session_id}/events",
        responses={
            **_ERRORS,
            200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        },
        response_class=StreamingResponse,
        name="events",
        tags=["sessions"],
    )
    async def events(session_id: SessionId) -> StreamingResponse:
        """Server-Sent Events: ``hello`` when connected, then ``frame`` events (JSON, see
        the frame endpoint) while a training plays.  Training runs only while this stream
        is open: when it closes, the session's trainings stop."""
        session = lab.get(session_id)
        return StreamingResponse(
            _stream(lab, session),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    for section in SECTIONS.values():
        _setup_route(app, lab, section)

    @app.get(
        "/api/sessions/{session_id}/{section}",
        responses=_ERRORS,
        name="frame",
        tags=["explorers"],
        description="The section's current frame, with its setup and data. " + _FRAME_DOC,
    )
    def frame(session_id: SessionId, section: SectionParam) -> JSONResponse:
        return _json(lab.get(session_id).frame(section, full=True))

    @app.post(
        "/api/sessions/{session_id}/{section}/play",
        status_code=202,
        responses=_ERRORS,
        name="play",
        tags=["explorers"],
    )
    def play(
        session_id: SessionId, section: SectionParam, request: PlayRequest | None = None
    ) -> JSONResponse:
        """Train in the background; frames arrive on the event stream, which must be open.
        Refused with 429 when every training slot is busy."""
        steps = (request or PlayRequest()).steps_per_frame
        return _json(lab.play(lab.get(session_id), section, steps), status=202)

    @app.post(
        "/api/sessions/{session_id}/{section}/pause",
        responses=_ERRORS,
        name="pause",
        tags=["explorers"],
        description="Stop playing and answer the frame it stopped at. " + _FRAME_DOC,
    )
    def pause(session_id: SessionId, section: SectionParam) -> JSONResponse:
        session = lab.get(session_id)
        session.trainer(section)
        lab.pause(session, section)
        return _json(session.frame(section))

    @app.post(
        "/api/sessions/{session_id}/{section}/step",
        responses=_ERRORS,
        name="step",
        tags=["explorers"],
        description="Take a few steps of a paused training (at most 10 s of them) and "
        "answer the new frame. " + _FRAME_DOC,
    )
    def step(
        session_id: SessionId, section: SectionParam, request: StepRequest | None = None
    ) -> JSONResponse:
        steps = (request or StepRequest()).steps
        return _json(lab.step(lab.get(session_id), section, steps))

    @app.post(
        "/api/sessions/{session_id}/{section}/reset",
        responses=_ERRORS,
        name="reset",
        tags=["explorers"],
        description="Back to step 0 with the same setup: the same data, initial weights "
        "and batch order. " + _FRAME_DOC,
    )
    def reset(session_id: SessionId, section: SectionParam) -> JSONResponse:
        return _json(lab.reset(lab.get(session_id), section))


def _install_other_routes(app: FastAPI, lab: Lab, runs: RunStore) -> None:
    @app.get("/api/meta", name="meta", tags=["lab"])
    def meta() -> JSONResponse:
        """Every choice the page offers, the defaults, each loss's settings and the
        limits; ``warm`` says whether the start-up warm-up has finished (until then
        requests share the processor with it)."""
        return _json({**_meta(lab, runs), "warm": app.state.warm.is_set()})

    @app.post("/api/landscape", responses=_ERRORS, name="landscape", tags=["landscape"])
    def landscape_surface(query: LandscapeQuery) -> JSONResponse:
        """J + λP on a grid (log-scaled for functions with a huge range), J alone, the
        regularized optimum, its path over λ, the penalty's level set through it and a
        gradient-descent trajectory."""
        return _json(landscape.surface(query))

    @app.post("/api/theory/phase", responses=_ERRORS, name="theory phase", tags=["theory"])
    def theory_phase(query: TheoryPhaseQuery) -> JSONResponse:
        """The mean-field phase diagram of an activation over σ_w² in [0, 4] and σ_b² in
        [0, 0.25]: χ₁ and the correlation depth scale ξ_c on a grid (rows over σ_b²),
        where the length grows without bound, the critical line χ₁ = 1 from σ_b² = 0, and
        where each named scheme sits for layers of ``width`` units.  The grid is solved
        once per activation."""
        return _json(theory.phase(query))

    @app.post("/api/theory/point", responses=_ERRORS, name="theory point", tags=["theory"])
    def theory_point(query: TheoryPointQuery) -> JSONResponse:
        """One point (σ_w, σ_b): its mean-field numbers (q*, c*, χ₁, ξ_q, ξ_c, phase);
        per layer of real networks drawn there (4 networks, 4 input pairs of cosine
        similarity 0.5, seed 0) the measured length q and correlation c beside the
        length and correlation maps; and the singular values of their input–output
        Jacobian (log₁₀ histogram, moments of σ², mean and spread of log σ) beside free
        probability's moments."""
        return _json(theory.point(query))

    @app.get("/api/store", name="store", tags=["runs"])
    def store() -> JSONResponse:
        """The store's folder and its sweeps, with their runs counted by status."""
        return _json(runs.summary())

    @app.get("/api/store/runs", responses=_ERRORS, name="runs", tags=["runs"])
    def list_runs(sweep: SweepName = None) -> JSONResponse:
        """Runs with their init, regularization, status and final metrics."""
        return _json(runs.runs(sweep))

    @app.get("/api/store/runs/{run_id}", responses=_ERRORS, name="run", tags=["runs"])
    def run(run_id: RunId) -> JSONResponse:
        """One run: config, final metrics, metric curves and weight histograms."""
        return _json(runs.run(run_id))

    @app.get(
        "/api/store/report",
        responses={**_ERRORS, 200: {"content": {"text/html": {}}, "description": "report.html"}},
        response_class=FileResponse,
        name="report",
        tags=["runs"],
    )
    def report(
        sweep: Annotated[
            list[str],
            Query(
                max_length=50,
                description="Sweeps to include (default all).",
                json_schema_extra={"expected": "at most 50 sweep names"},
            ),
        ] = [],  # noqa: B006 - FastAPI copies defaults per request
        download: Annotated[bool, Query(description="Send as a file to save.")] = False,
    ) -> FileResponse:
        """The self-contained HTML report of ``weightlab report`` for these sweeps."""
        path = runs.report(list(sweep))
        disposition = "attachment" if download else "inline"
        return FileResponse(
            path,
            media_type="text/html",
            headers={"Content-Disposition": f'{disposition}; filename="weightlab-report.html"'},
        )


def create_app(
    store: str | Path = DEFAULT_STORE,
    *,
    max_sessions: int = 32,
    max_trainings: int = 4,
    idle_seconds: float = 600.0,
    frame_seconds: float = 0.1,
    warm_up: bool = False,
    max_client_sessions: int | None = None,
    request_threads: int = 2,
) -> FastAPI:
    """The lab as an ASGI app, reading runs from ``store``.

    Sets torch to one thread (small models train fastest so on few cores).  At most
    ``max_sessions`` tabs and ``max_trainings`` trainings at once, and at most
    ``max_client_sessions`` sessions per client address (default a quarter of
    ``max_sessions``); a session without an event stream is dropped after
    ``idle_seconds``.  With ``warm_up``, a small network is
    built and measured in the background at start, so the first request is fast too.

    At most ``request_threads`` requests compute at once; the others wait their turn in
    order of arrival.  The computing is Python and many small torch calls, each of which
    lets go of Python's interpreter lock: threads beyond the cores only fight over it.
    Measured with ``benchmarks/lab_latency.py --concurrent 20`` on 2 cores: the 95th
    percentile of an init setup falls from 2.8 s with 40 threads to 0.8 s with 2.

    Example:
        >>> app = create_app("no-such-store")
        >>> "/api/landscape" in app.openapi()["paths"]
        True
    """
    check("create_app", {"request_threads": request_threads}, _APP_TABLE)
    torch.set_num_threads(1)
    lab = Lab(
        max_sessions=max_sessions,
        max_trainings=max_trainings,
        idle_seconds=idle_seconds,
        frame_seconds=frame_seconds,
        max_client_sessions=max_client_sessions,
    )
    runs = RunStore(store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's worker threads: the limiter is this loop's own.
        to_thread.current_default_thread_limiter().total_tokens = request_threads
        if warm_up:
            asyncio.get_running_loop().run_in_executor(None, _warm_up, app.state.warm)
        else:
            app.state.warm.set()
        yield
        lab.shutdown()
        runs.close()

    app = FastAPI(
        title="weightlab lab",
        version=__version__,
        description="The JSON API behind the weightlab browser lab. Errors answer "
        '{"error": ..., "parameter": ...} with a 4xx status.',
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.state.lab = lab
    app.state.warm = threading.Event()
    app.state.runs = runs
    app.state.request_threads = request_threads
    install_error_handlers(app)
    _install_pages(app)
    _install_session_routes(app, lab)
    _install_other_routes(app, lab, runs)
    _link_sessions(app)
    return app


def _warm_up(done: threading.Event) -> None:
    try:
        lab_trainer.warm_up()
    finally:
        done.set()


def _link_sessions(app: FastAPI) -> None:
    """Give ``POST /api/sessions``'s answer an OpenAPI link to every operation that takes
    a ``session_id``, so that clients and API fuzzers know the new id goes there."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        links = {
            op["operationId"]: {
                "operationId": op["operationId"],
                "parameters": {"path.session_id": "$response.body#/session"},
            }
            for methods in schema["paths"].values()
            for op in methods.values()
            if any(p.get("name") == "session_id" for p in op.get("parameters", []))
        }
        created = schema["paths"]["/api/sessions"]["post"]["responses"]["201"]
        created["links"] = links
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
