"""Every request seen: a request id, one log line and the request metrics (issue 16, part 4).

:class:`RequestObserver` is the outermost layer of the app. For each HTTP request it

- takes the client's ``X-Request-ID`` when it is 1 to 64 characters of ``A-Z a-z 0-9 . _ : -``,
  else makes one (16 hex digits), and echoes it in the answer's ``X-Request-ID``;
- writes one line to the ``patron.request`` logger: ``request_id``, ``method``, ``route`` (the
  route's template, ``/api/v1/members/{member_id}``, never the raw path, which can hold a
  phone number, a coupon code or a page token; ``null`` when no route matched), ``status``,
  ``duration_ms`` and ``key_id`` (the API key's id, when one was given and known). Refusals
  are named: ``event`` is ``auth_failed`` (401, ``reason`` the error code), ``refused``
  (413 and 429, ``reason`` ``payload_too_large`` or ``too_many_requests``) or ``error`` (an
  exception: level ``error``, with its traceback, see :mod:`patron.kit.logs`), else
  ``request``. No query string, header, body or client address is written;
- counts the request in ``patron_http_requests_total`` and its time in
  ``patron_http_request_duration_seconds`` (:mod:`patron.kit.metrics`).

An exception that escapes the app is logged here and not passed on to the server (which would
log it again, message included): the client has its 500 already, or gets one.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron.api.guard import PRINCIPAL_SCOPE_KEY, REFUSAL_SCOPE_KEY
from patron.kit import metrics

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_SCOPE_KEY = "patron.request_id"
# the template of a route served without FastAPI's routing (api/direct.py), on scope["state"]
ROUTE_TEMPLATE_SCOPE_KEY = "patron.route"
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")

log = logging.getLogger("patron.request")
_REASONS = {413: "payload_too_large", 429: "too_many_requests"}


def request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` if it is a safe one, else a new id."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _VALID_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return os.urandom(8).hex()


class RouteTemplates:
    """The full template of each route of an app (its router's prefix included: FastAPI puts
    the included route itself on the scope, whose own path lacks the prefix), found once."""

    def __init__(self, app: Any) -> None:
        self.contexts = list(iter_route_contexts(getattr(app, "routes", [])))
        self.by_route: dict[int, str] = {}
        for context in self.contexts:
            template = _template(context, context.original_route)
            if template is not None:
                self.by_route.setdefault(id(context.original_route), template)

    def of(self, scope: Scope) -> str | None:
        """The template of the route that answered the request, or of the first route that
        matches it (a request the guard refused never reached the router)."""
        route = scope.get("route")
        if route is not None:
            return self.by_route.get(id(route))
        return self.walk(scope)

    def walk(self, scope: Scope) -> str | None:
        """The template of the first route that matches (a walk over every route)."""
        partial = None
        probe = {**scope, "type": "http"}
        for context in self.contexts:
            try:
                match, _child = context.matches(probe)
            except Exception:  # a route kind that cannot tell: not this one
                continue
            if match is Match.FULL:
                return self.by_route.get(id(context.original_route))
            if match is Match.PARTIAL and partial is None:
                partial = context
        return None if partial is None else self.by_route.get(id(partial.original_route))


def _template(context: RouteContext, route: Any) -> str | None:
    path = context.path_format or context.path
    if not path:
        return None
    return f"{path}/{{path}}" if isinstance(route, Mount) else str(path)


class RequestObserver:
    """ASGI middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.templates: RouteTemplates | None = None

    def route_template(self, scope: Scope) -> str | None:
        direct: str | None = scope["state"].get(ROUTE_TEMPLATE_SCOPE_KEY)
        if direct is not None:
            return direct
        if self.templates is None:  # the app's routes are all there by its first request
            self.templates = RouteTemplates(scope.get("app"))
        return self.templates.of(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        identity = request_id(scope)
        state = scope.setdefault("state", {})
        state[REQUEST_ID_SCOPE_KEY] = identity
        echoed = (REQUEST_ID_HEADER, identity.encode("ascii"))
        status = 0

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        error: Exception | None = None
        try:
            await self.app(scope, receive, observed)
        except Exception as caught:
            error = caught
            if status == 0:
                status = 500
                await _internal_error(send, echoed)
        finally:
            self._record(scope, state, identity, status or 499, started, error)

    def _record(
        self,
        scope: Scope,
        state: dict[str, Any],
        identity: str,
        status: int,
        started: float,
        error: Exception | None,
    ) -> None:
        seconds = time.perf_counter() - started
        method: str = scope["method"]
        route = self.route_template(scope)
        metrics.REQUESTS.labels(method, route or "none", str(status)).inc()
        metrics.REQUEST_SECONDS.labels(method, route or "none").observe(seconds)
        if error is not None or status >= 500:
            level, event = logging.ERROR, "error"
        elif status == 401:
            level, event = logging.WARNING, "auth_failed"
        elif status in (413, 429):
            level, event = logging.WARNING, "refused"
        else:
            level, event = logging.INFO, "request"
        if not log.isEnabledFor(level):
            return
        principal = state.get(PRINCIPAL_SCOPE_KEY)
        fields: dict[str, Any] = {
            "event": event,
            "request_id": identity,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "key_id": getattr(principal, "key_id", None),
        }
        if event != "request" and event != "error":
            fields["reason"] = state.get(REFUSAL_SCOPE_KEY) or _REASONS.get(status)
        log.log(level, event, extra=fields, exc_info=error)


async def _internal_error(send: Send, echoed: tuple[bytes, bytes]) -> None:
    body = (
        b'{"error":{"code":"internal_error","message":"internal error","field":null,"params":{}}}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                echoed,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
