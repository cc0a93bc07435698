"""Every error leaves the API as ``{"error": {"code", "message", "field", "params"}}``.

``params`` are the values the English ``message`` names (``kit.errors``), so a client can
write the error in its own words and language. Payload validation errors answer 422 with code
``validation_error`` and the path of the first field at fault (``lines[0].unit_price``); the
full list is under ``error.details``, each with its ``field``, ``message``, ``code`` (what is
wrong: ``missing``, ``greater_than``, ``string_too_long``, ... as pydantic names it) and
``params`` (the bound: ``{"gt": 0}``); the top-level ``params`` are the first detail's. A
statement that waited past SQLite's busy timeout for a lock another process held answers 503
``database_busy`` with ``Retry-After`` (kit/sqlite_inline.py); nothing was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path

from patron.kit.errors import Param, PatronError
from patron.kit.sqlite_inline import DatabaseBusyError

_HTTP_CODES = {
    400: "invalid_body",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def field_path(location: Sequence[Any]) -> str:
    """``("body", "lines", 0, "unit_price")`` -> ``lines[0].unit_price``."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(error: dict[str, Any]) -> str:
    text = str(error.get("msg", "invalid value"))
    return text.replace("Value error, ", "").replace("Input should be", "must be")


async def _patron_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PatronError)
    return JSONResponse(error.to_dict(), status_code=error.status)


def _scalar(value: Any) -> Param:
    """A pydantic context value as JSON: numbers and text as they are, anything else as text
    (a ``Decimal`` bound, a pattern, an exception's message)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors as ``{"field", "message", "code", "params"}``."""
    return [
        {
            "field": field_path(e.get("loc", ())),
            "message": _message(e),
            "code": str(e.get("type", "invalid")),
            "params": {
                name: _scalar(value)
                for name, value in (e.get("ctx") or {}).items()
                if name != "error"
            },
        }
        for e in errors
    ]


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = validation_details(error.errors())
    first = details[0] if details else {"field": None, "message": "invalid request", "params": {}}
    body = {
        "error": {
            "code": "validation_error",
            "message": f"{first['field']}: {first['message']}"
            if first["field"]
            else first["message"],
            "field": first["field"] or None,
            "params": first["params"],
            "details": details,
        }
    }
    return JSONResponse(body, status_code=422)


def _api_routes(app_routes: Sequence[Any]) -> list[tuple[str, set[str]]]:
    """``(path, methods)`` of every route with methods, but the 405 stand-ins below."""
    return [
        (route.path, set(route.methods))
        for route in iter_route_contexts(list(app_routes))
        if route.path is not None and route.methods and route.endpoint is not _refuse_method
    ]


def allowed_methods(request: Request) -> str:
    """Every method of the path, for ``Allow``: Starlette names only those of the first route
    whose path matches, and ``GET /members`` and ``POST /members`` are two routes. A path
    written out (``/members/batch``) is its own routes' only, though ``/members/{member_id}``
    matches it too."""
    path = request.url.path
    routes = _api_routes(request.app.router.routes)
    exact = [methods for route_path, methods in routes if route_path == path]
    matching = exact or [
        methods for route_path, methods in routes if compile_path(route_path)[0].match(path)
    ]
    return ", ".join(sorted(set().union(*matching)))


STAND_IN_405 = "method_not_allowed"
"""The name of the routes :func:`install_shadowed_405` adds: no operation of their own."""


async def _refuse_method(_request: Request) -> None:
    raise StarletteHTTPException(status_code=405)


def install_shadowed_405(app: FastAPI) -> None:
    """``PATCH /members/batch`` answers 405, not what ``PATCH /members/{member_id}`` would
    make of ``batch`` (422): for a path written out, the methods only a parameter route
    sharing it has get a stand-in, ahead of every route, that answers 405 with ``Allow``."""
    routes = _api_routes(app.router.routes)
    literal: dict[str, set[str]] = {}
    for path, methods in routes:
        if "{" not in path:
            literal.setdefault(path, set()).update(methods)
    stand_ins: list[Route] = []
    for path, own in sorted(literal.items()):
        shadowing: set[str] = set()
        for other, methods in routes:
            if "{" in other and compile_path(other)[0].match(path):
                shadowing |= methods
        refused = shadowing - own - ({"HEAD"} if "GET" in own else set())
        if refused:
            stand_ins.append(
                Route(
                    path,
                    _refuse_method,
                    methods=sorted(refused),
                    name=STAND_IN_405,
                    include_in_schema=False,
                )
            )
    app.router.routes[0:0] = stand_ins


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    body: dict[str, Any] = {
        "error": {"code": code, "message": str(error.detail), "field": None, "params": {}}
    }
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return JSONResponse(body, status_code=error.status_code, headers=headers)


BUSY_RETRY_AFTER_SECONDS = 1


async def _database_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OperationalError)
    if not isinstance(error.orig, DatabaseBusyError):
        raise error  # any other database failure is the server's (500, logged)
    body: dict[str, Any] = {
        "error": {
            "code": "database_busy",
            "message": "the database is busy; try again shortly",
            "field": None,
            "params": {},
        }
    }
    headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=503, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PatronError, _patron_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
