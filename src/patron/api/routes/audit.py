"""``/audit``: the audit log of writes by staff and admin keys and by the CLI (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import Admin, ReadSession
from patron.api.paging import PageCursor
from patron.audit import service as audit_service
from patron.audit.schemas import AuditPage
from patron.kit.strict import DIGITS

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
async def audit_log(
    session: ReadSession,
    _: Admin,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    target: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> AuditPage:
    """The log newest first, filtered by ``action`` (e.g. ``members.erase``) and ``target``
    (e.g. ``member:5``); pass ``next_after`` back as ``after`` for the older rows."""
    return await audit_service.list_entries(
        session, after=AuditPage.resume(cursor, after), limit=limit, action=action, target=target
    )
