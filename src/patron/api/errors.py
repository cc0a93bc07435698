"""Every error leaves the API as ``{"error": {"code", "message", "field"}}``.

Payload validation errors answer 422 with code ``validation_error`` and the path of the first
field at fault (``lines[0].unit_price``); the full list is under ``error.details``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from patron.kit.errors import PatronError

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


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = [
        {"field": field_path(e.get("loc", ())), "message": _message(e)} for e in error.errors()
    ]
    first = details[0] if details else {"field": None, "message": "invalid request"}
    body = {
        "error": {
            "code": "validation_error",
            "message": f"{first['field']}: {first['message']}"
            if first["field"]
            else first["message"],
            "field": first["field"] or None,
            "details": details,
        }
    }
    return JSONResponse(body, status_code=422)


def allowed_methods(request: Request) -> str:
    """Every method of the path, for ``Allow``: Starlette names only those of the first route
    whose path matches, and ``GET /members`` and ``POST /members`` are two routes."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.path is not None and route.methods:
            pattern, _, _ = compile_path(route.path)
            if pattern.match(request.url.path):
                methods |= route.methods
    return ", ".join(sorted(methods))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    body = {"error": {"code": code, "message": str(error.detail), "field": None}}
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PatronError, _patron_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
