"""Dependencies shared by the routes: the database, units of work and the caller's role.

A route declares the roles it admits with ``Depends(allow(Role.POS))``; admin is always
admitted. The declaration is data: :class:`Allow` keeps its roles, so the app's role matrix
(:mod:`patron.api.role_matrix`) can be read from the routes themselves. A unit of work
(``WriteSession``) commits after the route returns and before its answer is sent (FastAPI's
``scope="function"``: by default a ``yield`` dependency's exit runs after the response has
left, so a client could read a 201's resource before its commit, and a commit that failed
could no longer change the answer); it rolls back if the route raises. A write by a
staff or admin key is recorded in the audit log in that same unit of work (see
:func:`write_session`); writes by pos keys are not (the tills' purchases, enrolments and
redemptions are the high-volume path and are kept whole in their own tables).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.errors import ApiKeyInvalidError, ApiKeyMissingError, RoleForbiddenError
from patron.access.models import Role
from patron.access.schemas import Principal
from patron.api.direct import is_json
from patron.api.guard import PRINCIPAL_SCOPE_KEY, authenticate_headers
from patron.api.responses import raises
from patron.audit import service as audit_service
from patron.kit.db import Database
from patron.kit.group_commit import WriteGroups
from patron.kit.time import utcnow


# Dependencies are ``async`` even where they do not await: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread switch per call on every request.
async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


WRITE_GROUPS_ENV = "PATRON_WRITE_GROUPS"
_MOST_WRITE_GROUPS = 64


def write_group_limit(value: str | None) -> int:
    """How many purchase groups a server process writes at a time on PostgreSQL
    (``PATRON_WRITE_GROUPS``; default 1). One gives the largest groups, hence the least CPU
    per purchase, with PostgreSQL on the same machine (measured in ``docs/benchmarks.md``);
    more overlap one group's round trips with another's when each round trip is slow (a
    database on another host). SQLite has one writer: always 1 there."""
    if value is None or not value.strip():
        return 1
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MOST_WRITE_GROUPS:
        raise ValueError(
            f"{WRITE_GROUPS_ENV} must be a whole number from 1 to {_MOST_WRITE_GROUPS}, "
            f"not {value!r}"
        )
    return limit


def write_groups(request: Request, database: Database) -> WriteGroups:
    """The app's group commit over ``database`` (made on first use: one writer group at a time
    on SQLite, ``app.state.write_group_limit`` on PostgreSQL)."""
    groups: WriteGroups | None = getattr(request.app.state, "write_groups", None)
    if groups is None or groups.database is not database:
        limit: int = getattr(request.app.state, "write_group_limit", 1)
        groups = WriteGroups(database, max_groups=1 if database.is_sqlite else limit)
        request.app.state.write_groups = groups
    return groups


AUDITED_ROLES = frozenset({Role.ADMIN, Role.STAFF})
# path parameters whose name does not say what they point at
_TARGET_KINDS = {"code": "coupon", "key": "survey"}


async def write_session(request: Request, database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """The unit of work of a writing route. When the route returns and the caller is a staff
    or admin key, its audit row is added before the commit, so that the row and the change
    commit (or roll back) together; a route that raises records nothing."""
    async with database.write() as session:
        yield session
        await audit_request(session, request)


async def audit_request(session: AsyncSession, request: Request) -> None:
    """Add the audit row of ``request`` to ``session``'s unit of work when its caller is a
    staff or admin key (for routes that run their own unit of work, as the batch does)."""
    caller: Principal | None = getattr(request.state, "principal", None)
    if caller is not None and caller.role in AUDITED_ROLES:
        action, target = audit_action(request)
        await audit_service.record(
            session,
            actor=audit_service.ACTOR_KEY,
            action=action,
            target=target,
            now=utcnow(),
            key_id=caller.key_id,
            role=caller.role.value,
        )


def audit_action(request: Request) -> tuple[str, str]:
    """The audit action (``<tag>.<endpoint>``, e.g. ``members.erase``) and target (from the
    path parameters, e.g. ``member:5``; the route's tag when it has none) of a request."""
    route = request.scope.get("route")
    tags = getattr(route, "tags", None) or ["api"]
    tag = str(tags[0])
    action = f"{tag}.{getattr(route, 'name', request.method.lower())}"
    parameters = [
        f"{_TARGET_KINDS.get(name, name.removesuffix('_id'))}:{value}"
        for name, value in request.path_params.items()
    ]
    return action, ",".join(parameters) or tag


async def read_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    async with database.read() as session:
        yield session


WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(read_session)]


async def now() -> datetime:
    return utcnow()


Now = Annotated[datetime, Depends(now)]


@raises(ApiKeyMissingError, ApiKeyInvalidError)
async def principal(request: Request, database: DatabaseDep) -> Principal:
    """The caller: the principal :class:`~patron.api.guard.RequestGuard` found before the
    body was read, or (outside the guard) the key's principal looked up now."""
    found: Principal | None = request.scope.get("state", {}).get(PRINCIPAL_SCOPE_KEY)
    if found is not None:
        return found
    return await authenticate_headers(request.headers, database)


def admit(caller: Principal, admitted: frozenset[Role]) -> Principal:
    """``caller`` if its role is among ``admitted``, else :class:`RoleForbiddenError`."""
    if caller.role not in admitted:
        raise RoleForbiddenError(
            f"the {caller.role.value} role may not do this", params={"role": caller.role.value}
        )
    return caller


def admitted_roles(*roles: Role) -> frozenset[Role]:
    """The roles a route admits: ``roles`` and always admin."""
    return frozenset({Role.ADMIN, *roles})


@dataclass(frozen=True)
class Allow:
    """A route's authorization, as a dependency: the caller's principal if its role is among
    ``roles`` (401 without a valid key, 403 ``forbidden`` for another role)."""

    roles: frozenset[Role]

    async def __call__(
        self, request: Request, caller: Annotated[Principal, Depends(principal)]
    ) -> Principal:
        """Admit the caller and remember it on the request (the audit log names it)."""
        request.state.principal = admit(caller, self.roles)
        return caller


def allow(*roles: Role) -> Allow:
    """The dependency that admits ``roles`` and always admin (it declares 403 ``forbidden``
    in the OpenAPI document)."""
    return raises(RoleForbiddenError)(Allow(admitted_roles(*roles)))


Admin = Annotated[Principal, Depends(allow())]
Staff = Annotated[Principal, Depends(allow(Role.STAFF))]
Reader = Annotated[Principal, Depends(allow(Role.STAFF, Role.POS))]
Pos = Annotated[Principal, Depends(allow(Role.POS))]


def _parameter_names(dependant: Dependant, place: str) -> set[str]:
    """The aliases of the ``place`` ("path" or "query") parameters of ``dependant`` and of
    every dependency under it."""
    params = dependant.path_params if place == "path" else dependant.query_params
    names = {param.alias for param in params}
    for dependency in dependant.dependencies:
        names |= _parameter_names(dependency, place)
    return names


# a JSON escape of a surrogate: only a body holding one is parsed again and walked
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE_TEXT = "must not contain a lone surrogate (\\ud800 to \\udfff)"


def _first_lone_surrogate(value: Any, at: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The place of the first text in a JSON value (names included: then the object's place,
    the name itself cannot be written back) that holds a lone surrogate, or ``None``."""
    if isinstance(value, str):
        return at if _LONE_SURROGATE.search(value) else None
    items: Iterable[tuple[str | int, Any]] = ()
    if isinstance(value, dict):
        if any(_LONE_SURROGATE.search(key) for key in value):
            return at
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _first_lone_surrogate(item, (*at, key))
        if found is not None:
            return found
    return None


def _refuse(place: tuple[str | int, ...], reason: str) -> NoReturn:
    raise RequestValidationError([{"loc": place, "msg": reason, "type": "value_error"}])


async def refuse_unstorable_text(request: Request) -> None:
    """Refuse text that no database can store, where the route reads it (422
    ``validation_error`` naming the field; without this check such text answered 500):

    - a NUL byte in a path or query parameter (PostgreSQL's text cannot hold one; in a body,
      each string's schema refuses it with its ``pattern``, ``patron.kit.text.NO_NUL``);
    - a lone surrogate anywhere in a JSON body (``"\\ud800"``: half of a pair, which has no
      UTF-8, so neither database stores it nor an encoder writes it back). Pydantic refuses
      it in typed text, but not inside free-form values (``attributes``, a campaign).

    An app-wide dependency, so that every route and page has it; query parameters the route
    does not read are ignored, as FastAPI ignores them, and a body is looked at only where the
    route reads one (and walked only when its bytes hold a surrogate's escape)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if not isinstance(dependant, Dependant):
        return
    for place in ("path", "query"):
        for name in sorted(_parameter_names(dependant, place)):
            if place == "query":
                found = request.query_params.getlist(name)
            else:
                found = [str(request.path_params.get(name, ""))]
            if any("\x00" in value for value in found):
                _refuse((place, name), "must not contain a NUL character")
    if dependant.body_params and is_json(request):
        body = await request.body()
        if _SURROGATE_ESCAPE.search(body):
            try:
                parsed = json.loads(body)
            except ValueError:
                return  # not JSON: the route's own parsing answers
            where = _first_lone_surrogate(parsed, ("body",))
            if where is not None:
                _refuse(where, _LONE_SURROGATE_TEXT)
