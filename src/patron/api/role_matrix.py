"""The app's role matrix, read from its routes: every operation and the roles that may call it.

Each API route declares its roles with an :class:`~patron.api.deps.Allow` dependency; a route
without one is public (no key asked). The tests hold every operation to an entry of their
matrix and ``docs/api.md`` to this table, so a new route cannot ship without both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from patron.access.models import Role
from patron.api.deps import Allow
from patron.api.errors import STAND_IN_405
from patron.web import CONSOLE_PATHS, CONSOLE_ROOT, PORTAL_PATHS

# Starlette answers HEAD wherever it answers GET; HEAD is not an operation of its own.
_IMPLIED_METHODS = frozenset({"HEAD"})


@dataclass(frozen=True, order=True)
class Operation:
    """One method on one path template (``/api/v1/members/{member_id}``). ``roles`` is
    ``None`` for a public operation, which asks for no key."""

    method: str
    path: str
    roles: frozenset[Role] | None

    @property
    def is_public(self) -> bool:
        return self.roles is None


def declared_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles of the :class:`Allow` among ``dependant``'s dependencies (searched depth
    first), or ``None`` when it has none. Two different declarations on one route are a bug:
    :class:`ValueError`."""
    found = {call.roles for call in _calls(dependant) if isinstance(call, Allow)}
    if len(found) > 1:
        raise ValueError(f"{dependant.path}: more than one role declaration {sorted(found)}")
    return next(iter(found), None)


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def is_console_path(path: str) -> bool:
    """Whether ``path`` is the web console's (``patron.web``): its pages are authorized by
    the staff session, not by a key, and are held by ``tests/web`` instead of this matrix."""
    return path == CONSOLE_ROOT or any(
        path == prefix or path.startswith(prefix + "/") for prefix in CONSOLE_PATHS
    )


def is_portal_path(path: str) -> bool:
    """Whether ``path`` is the member portal's: its pages are authorized by the member
    session and held by ``tests/web/test_portal.py`` instead of this matrix."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PORTAL_PATHS)


def role_matrix(app: FastAPI) -> list[Operation]:
    """Every operation ``app`` answers, sorted by path then method: API routes with their
    declared roles, and the pages outside the API (``/docs``, ``/openapi.json``, mounted
    static files as ``GET <mount>/{path}``) as public. The web console's and the member
    portal's paths are left out (:func:`is_console_path`, :func:`is_portal_path`)."""
    operations: set[Operation] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if context.name == STAND_IN_405:
            continue  # a 405 answer for a method the path does not have
        template = str(context.path_format or context.path or "")
        if is_console_path(template) or is_portal_path(template):
            continue
        if isinstance(route, Mount):
            operations.add(Operation("GET", context.path_format or route.path, None))
            continue
        dependant: Dependant | None = getattr(context, "dependant", None)
        roles = None if dependant is None else declared_roles(dependant)
        path = context.path_format or context.path or ""
        for method in sorted((context.methods or set()) - _IMPLIED_METHODS):
            operations.add(Operation(method, path, roles))
    return sorted(operations, key=lambda operation: (operation.path, operation.method))
