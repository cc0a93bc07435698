"""Routes that serve their common case without FastAPI's per-request machinery.

FastAPI solves a route's dependency graph, validates the body through its own field wrapper and
then validates and serialises the answer again on every request: about a millisecond of CPU on
the purchase route, a quarter of its whole cost. A *direct* route is still declared with the
usual decorator (so ``/openapi.json`` documents it from the endpoint's signature and models),
but its handler first tries a hand-written fast path; whenever that path does not accept the
request as it is (another content type, invalid JSON, a field at fault), it hands the request
to the standard FastAPI handler, so every answer outside the fast path (the 422 with its field
at fault, for one) is exactly the one FastAPI gives.

:class:`DirectLane` (installed by :func:`install_direct_lane`) goes one step further for the
direct routes it is given by method and parameterless path: their requests skip the inner
middleware layers and FastAPI's routing (about 55 microseconds of CPU per request here, 4 % of
a purchase) and go straight to the fast path. Its errors are answered by the app's own
exception handlers, as ``ExceptionMiddleware`` would answer them, and a request the fast path
declines is replayed, body included, through the whole stack, where the route's standard
handler answers it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron.api.observe import ROUTE_TEMPLATE_SCOPE_KEY

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


class _DeclinedError(Exception):
    """The fast path handed the request to the standard handler (inside :class:`DirectLane`)."""


async def _decline(_request: Request) -> Response:
    raise _DeclinedError


class DirectLane:
    """ASGI middleware (inside the app's outer layers, outside ``ExceptionMiddleware``): a
    request whose method and path are a direct route's goes to its fast path at once; any
    other goes on through the stack (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, owner: FastAPI, lanes: dict[tuple[str, str], FastPath]
    ) -> None:
        self.app = app
        self.owner = owner
        self.lanes = lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        fast_path = self.lanes.get((scope["method"], path))
        if fast_path is None:
            await self.app(scope, receive, send)
            return
        # the request log's route (api/observe.py): the direct route's path is its template
        scope.setdefault("state", {})[ROUTE_TEMPLATE_SCOPE_KEY] = path
        request = Request(scope, receive, send)
        try:
            response = await fast_path(request, _decline)
        except _DeclinedError:
            await self.app(scope, _replay(await request.body(), receive), send)
            return
        except Exception as error:
            handler = self._handler(error)
            if handler is None:
                raise
            response = await handler(request, error)
        await response(scope, receive, send)

    def _handler(self, error: Exception) -> Callable[[Request, Any], Awaitable[Response]] | None:
        """The app's handler of ``error``'s class, looked up as ``ExceptionMiddleware`` does
        (the nearest class in its MRO; the app registers no status-code handlers)."""
        handlers = self.owner.exception_handlers
        for kind in type(error).__mro__:
            if kind in handlers and kind is not Exception:
                handler: Any = handlers[kind]
                return handler  # type: ignore[no-any-return]
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with the body already read given back first."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def install_direct_lane(app: FastAPI, lanes: dict[tuple[str, str], FastPath]) -> None:
    """Serve the direct routes ``lanes`` names (``(method, full path)`` to the fast path the
    route was declared with) through :class:`DirectLane`."""
    app.add_middleware(DirectLane, owner=app, lanes=lanes)
