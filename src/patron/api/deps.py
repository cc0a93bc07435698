"""Dependencies shared by the routes: the database, units of work and the caller's role.

A route declares the roles it admits with ``Depends(allow(Role.ADMIN, Role.POS))``; admin is
always admitted. A unit of work (``WriteSession``) commits after the route returns and rolls
back if it raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access import service as access_service
from patron.access.errors import ApiKeyInvalidError, ApiKeyMissingError, RoleForbiddenError
from patron.access.models import Role
from patron.access.schemas import Principal
from patron.api.responses import raises
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


async def write_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    async with database.write() as session:
        yield session


async def read_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    async with database.read() as session:
        yield session


WriteSession = Annotated[AsyncSession, Depends(write_session)]
ReadSession = Annotated[AsyncSession, Depends(read_session)]


async def now() -> datetime:
    return utcnow()


Now = Annotated[datetime, Depends(now)]


@raises(ApiKeyMissingError, ApiKeyInvalidError)
async def principal(request: Request, database: DatabaseDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiKeyMissingError("send an API key as 'Authorization: Bearer <key>'")
    secret = secret.strip()
    known = access_service.cached_principal(secret)
    if known is not None:
        return known
    async with database.read() as session:
        return await access_service.authenticate(session, secret=secret)


def admit(caller: Principal, admitted: frozenset[Role]) -> Principal:
    """``caller`` if its role is among ``admitted``, else :class:`RoleForbiddenError`."""
    if caller.role not in admitted:
        raise RoleForbiddenError(f"the {caller.role.value} role may not do this")
    return caller


def admitted_roles(*roles: Role) -> frozenset[Role]:
    """The roles a route admits: ``roles`` and always admin."""
    return frozenset({Role.ADMIN, *roles})


def allow(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    admitted = admitted_roles(*roles)

    @raises(RoleForbiddenError)
    async def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        return admit(caller, admitted)

    return check


Admin = Annotated[Principal, Depends(allow())]
Staff = Annotated[Principal, Depends(allow(Role.STAFF))]
Reader = Annotated[Principal, Depends(allow(Role.STAFF, Role.POS))]
Pos = Annotated[Principal, Depends(allow(Role.POS))]
