"""Flag a member for return cycles directly (the abuse check's own write), for the tests of
what shows a flag: the console's member page, ``patron members show``."""

from __future__ import annotations

from datetime import datetime

from patron.kit.db import Database
from patron.members import flags
from patron.programs import service as program_service

DETAILS = {"full_returns": 3, "days": 30, "threshold": 3}


async def flag(
    database: Database,
    member_id: int,
    *,
    now: datetime,
    reason: str = "return_cycles",
    details: dict[str, int] | None = None,
) -> None:
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await flags.flag_member(
            session,
            program_id=active.program_id,
            member_id=member_id,
            reason=reason,
            details=DETAILS if details is None else details,
            block=False,
            now=now,
        )
