"""The audit row of a console action: the acting user and role, in the action's unit of work
(the console's counterpart of the API's ``audit_request``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron.access.schemas import ConsoleSession
from patron.audit import service as audit_service
from patron.kit.time import utcnow


async def audited(
    session: Any,  # an AsyncSession (the web package holds no database code)
    console: ConsoleSession,
    action: str,
    target: str,
    *,
    now: datetime | None = None,
) -> None:
    """Append the audit row of ``console``'s ``action`` on ``target`` to ``session``."""
    await audit_service.record(
        session,
        actor=audit_service.ACTOR_USER,
        action=action,
        target=target,
        now=now or utcnow(),
        user_id=console.user.id,
        role=console.user.role.value,
    )
