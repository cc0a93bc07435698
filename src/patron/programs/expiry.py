"""When an earned lot unlocks and when it expires, from the program's pending and expiry policy.

A lot earned at ``occurred_at`` unlocks ``pending_days`` later (``None``: active at once) and
expires counted from the moment it becomes active: ``after_days``/``after_months`` later,
optionally pushed to the end of that month or year in the program's time zone (the first
instant of the next local month or year, in UTC), or never.
"""

from __future__ import annotations

from datetime import date, datetime

from patron.kit.time import add_days, add_months, local, start_of_local_day
from patron.programs.schema import ExpiryRoundTo, Program


def lot_timing(program: Program, occurred_at: datetime) -> tuple[datetime | None, datetime | None]:
    """``(pending_until, expires_at)`` for points earned at ``occurred_at``."""
    days = program.earning.pending_days
    pending_until = add_days(occurred_at, days) if days > 0 else None
    return pending_until, expiry_for(program, pending_until or occurred_at)


def expiry_for(program: Program, active_from: datetime) -> datetime | None:
    """The expiry of a lot that becomes active at ``active_from`` (``None``: never)."""
    policy = program.earning.expiry
    if policy.never:
        return None
    moment = active_from
    if policy.after_days is not None:
        moment = add_days(moment, policy.after_days)
    elif policy.after_months is not None:
        moment = add_months(moment, policy.after_months)
    if policy.round_to is None:
        return moment
    day = local(moment, program.program.timezone).date()
    if policy.round_to is ExpiryRoundTo.END_OF_MONTH:
        following = (
            date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
        )
    else:
        following = date(day.year + 1, 1, 1)
    return start_of_local_day(following, program.program.timezone)
