"""Every operation of ``/openapi.json`` lists the errors it can answer, with the error body.

A route, or a dependency it uses, declares the domain errors it can raise with
:func:`raises`::

    @router.get("/{member_id}", response_model=MemberOverview)
    @raises(MemberNotFoundError)
    async def read_member(...): ...

:func:`install_error_responses` then writes, for each operation, one response per status
(``404``, ``409``, ``422``, ...) whose schema is the error body with ``error.code`` limited to
the codes declared for that status. Found without a declaration:

- ``422 validation_error`` on every operation that takes parameters or a body;
- ``400 invalid_body`` on every operation that takes a JSON body (bytes that are not text),
  and ``413 payload_too_large`` (a body above the limit of :mod:`patron.api.guard`, stated
  in bytes as the response's ``x-max-body-bytes``: a body's size in bytes is no rule a
  JSON schema can state, as a JSON body's size is not its length in characters);
- ``404 not_found`` on a path with a typed parameter (``{purchase_id:int}``: ``/purchases/x``
  matches no route);
- whatever the route's dependencies declare: ``principal`` answers ``401 missing_api_key`` and
  ``401 invalid_api_key``, a role check ``403 forbidden``.

An operation that can answer 401 takes a key: it declares the HTTP bearer security scheme
(``components.securitySchemes.bearerAuth``, the "Authorize" button of ``/docs``); the pages
without a key (``/s/{token}``, ``/u/{token}``) declare none.

A 422 that is not ``validation_error`` is a rule no JSON schema can state (a field against
another field, or against the stored state, such as ``currency_mismatch``): the schema states
every rule it can, so a request the schema accepts is refused only with one of these declared
codes. The schemathesis test holds the API to that (``tests/api/test_schemathesis.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from patron.kit.errors import PatronError
from patron.kit.text import NO_NUL

F = TypeVar("F", bound=Callable[..., Any])

VALIDATION_ERROR = "validation_error"
NOT_FOUND = "not_found"
INVALID_BODY = "invalid_body"
PAYLOAD_TOO_LARGE = "payload_too_large"
TOO_MANY_REQUESTS = "too_many_requests"
RULE_CODES = "x-rule-codes"
BEARER_SCHEME = "bearerAuth"
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`patron keys create`), sent as `Authorization: Bearer <key>`.",
}
MAX_BODY_BYTES = "x-max-body-bytes"

_DECLARED: dict[Callable[..., Any], tuple[type[PatronError], ...]] = {}
_STATUS_TEXT = {
    400: "The body is not text",
    401: "No API key, or an unknown or revoked one",
    403: "The caller may not do this",
    404: "Not found",
    409: "Conflicts with the stored state",
    410: "Gone",
    413: "The body is larger than the server accepts",
    422: "Not valid",
    429: (
        "Too many requests: failed attempts from this client (see Retry-After), or a "
        "member's actions in the last hour (`velocity_exceeded`)"
    ),
}


def raises(*errors: type[PatronError]) -> Callable[[F], F]:
    """Declare the errors ``function`` (a route's endpoint or a dependency) can raise."""

    def declare(function: F) -> F:
        _DECLARED[function] = _DECLARED.get(function, ()) + errors
        return function

    return declare


def declared_errors(function: Callable[..., Any]) -> tuple[type[PatronError], ...]:
    return _DECLARED.get(function, ())


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def _takes_input(dependant: Dependant) -> bool:
    if dependant.path_params or dependant.query_params or dependant.header_params:
        return True
    if dependant.body_params or dependant.cookie_params:
        return True
    return any(_takes_input(dependency) for dependency in dependant.dependencies)


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[RouteContext]:
    """The API routes of ``routes`` (included routers' routes with their full path)."""
    for context in iter_route_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute):
            yield context


def route_codes(route: RouteContext) -> dict[int, list[str]]:
    """The error codes ``route`` can answer, by HTTP status, in declaration order."""
    codes: dict[int, list[str]] = {}

    def add(status: int, code: str) -> None:
        known = codes.setdefault(status, [])
        if code not in known:
            known.append(code)

    for call in _calls(route.dependant):
        for error in declared_errors(call):
            add(error.status, error.code)
    if route.path_format != route.path:
        # a typed path parameter (``{purchase_id:int}``): another value matches no route
        add(404, NOT_FOUND)
    if route.body_field is not None:
        add(400, INVALID_BODY)
        add(413, PAYLOAD_TOO_LARGE)
    if _takes_input(route.dependant):
        add(422, VALIDATION_ERROR)
    if 401 in codes or (route.path or "").startswith(("/s/", "/u/")):
        # the guard's throttles (:mod:`patron.api.throttle`): bad keys, codes and tokens
        add(429, TOO_MANY_REQUESTS)
    return dict(sorted(codes.items()))


def error_schema(codes: Iterable[str]) -> dict[str, Any]:
    """The error body, ``error.code`` being one of ``codes``."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "enum": list(codes)},
                    "message": {"type": "string"},
                    "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "params": {
                        "type": "object",
                        "description": "The values the message names (JSON scalars).",
                    },
                    "details": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
    }


def _response(status: int, codes: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{code}`" for code in codes)
    response: dict[str, Any] = {
        "description": f"{_STATUS_TEXT.get(status, 'Error')}: {listed}",
        "content": {"application/json": {"schema": error_schema(codes)}},
    }
    rules = [code for code in codes if code != VALIDATION_ERROR]
    if status == 422 and rules:
        response[RULE_CODES] = rules
    return response


def _no_nul(schema: dict[str, Any]) -> None:
    """Write ``refuse_unstorable_text`` (``api/deps.py``) into a parameter's schema: a string with
    no other pattern, enum or format takes no NUL."""
    for option in schema.get("anyOf", ()):
        _no_nul(option)
    if schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & set(schema):
        schema["pattern"] = NO_NUL


def _document(app: FastAPI, body_limit: Callable[[str], int]) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        path = str(route.path_format)
        item = document["paths"][path]
        for method in route.methods or ():
            for parameter in item[method.lower()].get("parameters", ()):
                if parameter.get("in") in ("path", "query"):
                    _no_nul(parameter.get("schema", {}))
            responses = item[method.lower()]["responses"]
            responses.pop("422", None)
            codes_by_status = route_codes(route)
            for status, codes in codes_by_status.items():
                responses[str(status)] = _response(status, codes)
            if 401 in codes_by_status:
                item[method.lower()]["security"] = [{BEARER_SCHEME: []}]
            if "413" in responses:
                limit = body_limit(path)
                responses["413"][MAX_BODY_BYTES] = limit
                responses["413"]["description"] += f" (a body of more than {limit} bytes)"
    document.setdefault("components", {})["securitySchemes"] = {BEARER_SCHEME: BEARER}
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_error_responses(app: FastAPI, body_limit: Callable[[str], int]) -> None:
    """Make ``app.openapi()`` list every operation's errors (see the module docstring);
    ``body_limit`` gives the most bytes of body a path takes (``BodyLimits.for_path``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app, body_limit)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
