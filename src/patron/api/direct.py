"""Routes that serve their common case without FastAPI's per-request machinery.

FastAPI solves a route's dependency graph, validates the body through its own field wrapper and
then validates and serialises the answer again on every request: about a millisecond of CPU on
the purchase route, a quarter of its whole cost. A *direct* route is still declared with the
usual decorator (so ``/openapi.json`` documents it from the endpoint's signature and models),
but its handler first tries a hand-written fast path; whenever that path does not accept the
request as it is (another content type, invalid JSON, a field at fault), it hands the request
to the standard FastAPI handler, so every answer outside the fast path (the 422 with its field
at fault, for one) is exactly the one FastAPI gives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

Handler = Callable[[Request], Awaitable[Response]]
FastPath = Callable[[Request, Handler], Awaitable[Response]]


def direct_route(fast_path: FastPath) -> type[APIRoute]:
    """A route class (``route_class_override=``) whose requests go to ``fast_path(request,
    standard)``; ``standard`` is FastAPI's own handler of the route, to call when the fast path
    declines. The request's body, once read, is cached on the request, so ``standard`` can
    read it again."""

    class DirectRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Any]:
            standard: Handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                return await fast_path(request, standard)

            return handle

    return DirectRoute


def is_json(request: Request) -> bool:
    """The request says its body is plain JSON (``application/json``, any parameters)."""
    kind = request.headers.get("content-type", "")
    return kind.partition(";")[0].strip().lower() == "application/json"
