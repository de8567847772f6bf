"""How the lab refuses a request: one JSON shape, ``{"error": "...", "parameter": "..."}``,
with a 4xx status, whether the refusal comes from the lab itself (:class:`LabError`), from
the library's validation (``ParameterError``, 422) or from the request schemas (pydantic's
complaints, rewritten in the library's "must be ... Got ..." form).
"""

from __future__ import annotations

import re
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from weightlab._validate import ParameterError, ParameterTypeError, error_summary, fail
from weightlab.lab.schemas import expected

__all__ = ["ECHO", "MAX_BODY", "BodyLimit", "LabError", "clip", "install_error_handlers"]

MAX_BODY = 64 * 1024


class LabError(Exception):
    """A request the lab refuses: reported as ``{"error", "parameter"}`` with ``status``.

    Example:
        >>> LabError(404, "No run with id 7 in the store.", "run_id").status
        404
    """

    def __init__(self, status: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


_PARAMETER = re.compile(r"^The '([^']+)' parameter")
_PHRASES = {
    "int_type": "an int",
    "int_parsing": "an int",
    "float_type": "a float",
    "float_parsing": "a float",
    "finite_number": "a finite number",
    "bool_type": "a bool",
    "bool_parsing": "a bool",
    "string_type": "a string",
    "list_type": "a list",
}


ECHO = 200  # characters of the user's input an error message repeats


def clip(text: str, limit: int = ECHO) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was.

    Example:
        >>> clip("abc"), clip("x" * 300, 5)
        ('abc', 'xxxxx… (300 characters in all)')
    """
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters in all)"


def _short(message: str) -> str:
    """The message with the echoed value after its last "Got " cut to about
    :data:`ECHO` characters (a 100 KB name must not make a 100 KB error)."""
    head, got, value = message.rpartition(" Got ")
    if not got or len(value) <= ECHO + 40:
        return clip(message, 4 * ECHO)
    return clip(head, 3 * ECHO) + got + clip(value.removesuffix(".")) + "."


def _error(
    status: int,
    message: str,
    parameter: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": _short(message), "parameter": None if parameter is None else clip(parameter)}
    return JSONResponse(body, status_code=status, headers=headers)


def _allowed(request: Request) -> str:
    """The methods some route of the app takes at the request's path, for ``Allow``."""
    path = request.scope["path"]
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex, taken = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and taken and regex.match(path):
            methods |= set(taken)
    return ", ".join(sorted(methods))


def _body_model(request: Request) -> type[BaseModel] | None:
    """The pydantic model of the route's JSON body (``Model | None`` unwrapped)."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    """A body field by its name or its alias (``l1.strength``)."""
    fields = model.model_fields
    return fields.get(name) or next((f for f in fields.values() if f.alias == name), None)


def _parameter_info(request: Request, where: str, name: str) -> FieldInfo | None:
    """The declaration of a path or query parameter of the request's route."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    params = getattr(dependant, f"{where}_params", [])
    return next((p.field_info for p in params if p.alias == name or p.name == name), None)


def _owner(request: Request, model: type[BaseModel] | None) -> str:
    if model is not None:
        return str(model.model_config.get("title") or model.__name__)
    route = request.scope.get("route")
    return getattr(route, "name", "the request")


def _validation_message(
    request: Request, error: dict[str, Any], body: Any = None
) -> tuple[int, str, str | None]:
    """Status, message and parameter for pydantic's first complaint about a request
    (``body``: the parsed JSON body, to quote a whole list when one item is bad)."""
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return 400, f"The request body is not valid JSON ({reason}).", None
    if loc == ("body",) and kind in ("missing", "model_attributes_type", "dict_type"):
        return 400, "The request body must be a JSON object ({} takes every default).", None
    model = _body_model(request) if loc[0] == "body" else None
    owner = _owner(request, model)
    names = [clip(str(p), 60) for p in loc[1:] if isinstance(p, str)]
    name = names[0] if names else None
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, (ParameterError, ParameterTypeError)):
        match = _PARAMETER.match(str(cause))
        return 422, str(cause), name or (match.group(1) if match else None)
    if name is None:
        return 422, f"The {owner} request is invalid: {error['msg']}.", None
    if kind == "extra_forbidden":
        known = ", ".join(f.alias or n for n, f in model.model_fields.items()) if model else ""
        return 422, f"The {owner} takes no {name!r} parameter (it takes: {known}).", name
    if kind == "missing":
        return 422, f"The {name!r} parameter of {owner} must be given.", name
    info = _field(model, name) if model else None
    if info is None and loc[0] in ("path", "query"):
        info = _parameter_info(request, str(loc[0]), name)
    phrase = expected(info) if info is not None else _PHRASES.get(kind, "a valid value")
    if phrase == "a valid value" and "expected" in error.get("ctx", {}):
        phrase = "one of " + str(error["ctx"]["expected"]).replace(" or ", ", ")
    got = error.get("input")
    if loc[0] == "body" and any(isinstance(p, int) for p in loc) and isinstance(body, dict):
        got = body.get(name, got)  # one bad item of a list: quote the list
    return 422, str(fail(owner, name, phrase, got)), name


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413) and bodies of unknown length
    (411) before anything reads them, with the lab's JSON error."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            refused = None
            if length is None and b"transfer-encoding" in headers:
                refused = _error(411, "Send the request body with a Content-Length.")
            elif length is not None and (not length.isdigit() or int(length) > self.limit):
                refused = _error(413, f"The request body is over {self.limit // 1024} KiB.")
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every refused or failed request with ``{"error", "parameter"}``."""

    @app.exception_handler(LabError)
    async def _lab_error(_request: Request, exc: LabError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.parameter)

    @app.exception_handler(ParameterError)
    @app.exception_handler(ParameterTypeError)
    async def _parameter_error(_request: Request, exc: Exception) -> JSONResponse:
        match = _PARAMETER.match(str(exc))
        return _error(422, str(exc), match.group(1) if match else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = dict(exc.errors()[0])
        status, message, parameter = _validation_message(request, first, exc.body)
        return _error(status, message, parameter)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"The lab failed: {error_summary(exc)}")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        allowed = _allowed(request) if exc.status_code == 405 else ""
        messages = {
            404: "No such page or endpoint (GET /openapi.json lists the API).",
            405: f"This endpoint takes {allowed.replace(', ', ' or ')}, not "
            f"{clip(request.method, 20)} (GET /openapi.json lists the API).",
            413: f"The request body is over {MAX_BODY // 1024} KiB.",
        }
        headers = dict(exc.headers or {})
        if allowed:
            headers["Allow"] = allowed
        message = messages.get(exc.status_code, str(exc.detail))
        return _error(exc.status_code, message, headers=headers or None)
