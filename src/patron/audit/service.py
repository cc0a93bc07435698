"""Recording and reading the audit log.

A write is recorded by its unit of work, in the same transaction as the change, so that the
row commits or rolls back with it: the API's write session records every successful write by
a staff or admin key (:mod:`patron.api.deps`), the CLI records the operator's writes with
actor ``cli``. The code that makes a change may describe it first with :func:`note` (its
target, ``before`` and ``after``, or that it changed nothing); the note rides on the session
until the unit of work records it. Notes cost a dictionary write, so services call
:func:`note` whether or not their caller records anything (the jobs do not).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import models, schemas
from patron.audit.repository import AuditRepository
from patron.kit.errors import InvalidInputError

_NOTE = "patron.audit.note"
MAX_PAGE_SIZE = 500
ACTOR_KEY = "key"
ACTOR_CLI = "cli"
ACTOR_USER = "user"


def note(
    session: AsyncSession,
    *,
    target: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    changed: bool | None = None,
) -> None:
    """Describe the change this unit of work is making, for its audit row (later notes add
    to or replace earlier ones field by field)."""
    found: dict[str, Any] = session.info.setdefault(_NOTE, {})
    given = {"target": target, "before": before, "after": after, "changed": changed}
    found.update({name: value for name, value in given.items() if value is not None})


def noted(session: AsyncSession) -> dict[str, Any]:
    """What :func:`note` recorded on ``session`` so far (empty when nothing)."""
    found: dict[str, Any] = session.info.get(_NOTE, {})
    return dict(found)


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    key_id: int | None = None,
    role: str | None = None,
    user_id: int | None = None,
) -> None:
    """Append the audit row of this unit of work; a target, ``before``/``after`` or
    ``changed`` given by :func:`note` take precedence over ``target`` here."""
    details = session.info.pop(_NOTE, {})
    entry = models.AuditEntry(
        occurred_at=now,
        actor=actor,
        key_id=key_id,
        user_id=user_id,
        role=role,
        action=action[:64],
        target=str(details.get("target", target))[:128],
        changed=bool(details.get("changed", True)),
        before=details.get("before"),
        after=details.get("after"),
    )
    await AuditRepository(session).add(entry)


async def list_entries(
    session: AsyncSession,
    *,
    after: int | None = None,
    limit: int = 50,
    action: str | None = None,
    target: str | None = None,
) -> schemas.AuditPage:
    """The log newest first, ``limit`` (1 to 500) at a time; ``after`` is the ``next_after``
    of the page before (the rows older than that id)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"limit must be from 1 to {MAX_PAGE_SIZE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE_SIZE},
        )
    rows = await AuditRepository(session).page(
        before_id=after, limit=limit + 1, action=action, target=target
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = [schemas.AuditEntry.model_validate(row) for row in rows]
    return schemas.AuditPage(items=items, next_after=rows[-1].id if has_more else None)
