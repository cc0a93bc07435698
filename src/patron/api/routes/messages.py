"""``/messages``: the message log (admin and staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import ReadSession, Staff
from patron.api.paging import PageCursor
from patron.kit.strict import DIGITS
from patron.notifications import service as notification_service
from patron.notifications.schemas import MessageKind, MessagePage, MessageStatus
from patron.notifications.sender import waiting

router = APIRouter(prefix="/messages", tags=["messages"])


@router.get("", response_model=MessagePage)
async def list_messages(
    session: ReadSession,
    _: Staff,
    member_id: Annotated[int | None, Query(ge=1, le=2**63 - 1), DIGITS] = None,
    status: MessageStatus | None = None,
    kind: MessageKind | None = None,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
) -> MessagePage:
    """Messages newest first: queued, sent, skipped (no consent, no address) or failed, with
    why in ``last_error``; ``waiting`` says why a channel's queued messages are not sent
    (e.g. ``PATRON_SMTP_URL is not set``). Pass ``next_after`` back as ``after``."""
    return await notification_service.list_messages(
        session,
        member_id=member_id,
        status=status,
        kind=kind,
        after=MessagePage.resume(cursor, after),
        limit=limit,
        waiting=waiting(),
    )
