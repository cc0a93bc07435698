"""``points.expiring``: the daily job announces points about to expire, once per member and
expiry date.

For one program, :func:`announce_expiring` reads the active lots with points left whose
``expires_at`` is after ``now`` and before the end of the local day ``notice_days`` from today
(the program's time zone), groups them by member and local expiry date, leaves out the dates
already announced (``points_expiry_notices``) and, for each new one, writes a notice row and
emits ``points.expiring`` in the caller's unit of work. The notice's unique key
``(member_id, expires_on)`` makes the job idempotent: a second run the same day, or the next
day, finds the date announced and emits nothing for it (so points that start expiring on an
announced date later are not announced again); a concurrent run that raced it fails on the
key and rolls back with its events.

What counts is what is left now (a lot partly spent counts its ``remaining``); pending lots
(the activation step runs first in the daily job) and lots due or written off are not
counted; nor are erased members. Members are a sibling domain: the ledger reads their
``program_id``, ``external_id`` and ``erased_at`` columns and imports nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import emit_many
from patron.kit.raw import Raw, Sql, raw_of, read_time
from patron.kit.time import local, start_of_local_day
from patron.ledger.events import PointsExpiring

WRITE_BATCH = 1000
"""Notices (and events) written per driver call."""

_LOTS = Sql(
    "SELECT l.member_id, l.expires_at, l.remaining, m.external_id"
    " FROM lots l JOIN members m ON m.id = l.member_id"
    " WHERE l.remaining > 0 AND NOT l.is_expired AND l.is_active"
    " AND l.expires_at > $2 AND l.expires_at < $3"
    " AND m.program_id = $1 AND m.erased_at IS NULL"
)
_ANNOUNCED = Sql(
    "SELECT n.member_id, n.expires_on FROM points_expiry_notices n"
    " JOIN members m ON m.id = n.member_id"
    " WHERE m.program_id = $1 AND n.expires_on >= $2 AND n.expires_on <= $3"
)
_INSERT = Sql(
    "INSERT INTO points_expiry_notices (member_id, expires_on, points, expires_at, created_at)"
    " VALUES ($1, $2, $3, $4, $5)"
)


@dataclass(frozen=True, slots=True)
class Expiring:
    """Points of one member expiring on one local date."""

    member_id: int
    external_id: str
    expires_on: date
    expires_at: datetime  # the first moment of that date at which some of them expire
    points: int


def group_expiring(rows: Sequence[tuple[int, datetime, int, str]], timezone: str) -> list[Expiring]:
    """``(member_id, expires_at, remaining, external_id)`` rows summed per member and local
    expiry date, in member then date order."""
    found: dict[tuple[int, date], Expiring] = {}
    for member_id, expires_at, remaining, external_id in rows:
        key = (member_id, local(expires_at, timezone).date())
        seen = found.get(key)
        if seen is None:
            found[key] = Expiring(member_id, external_id, key[1], expires_at, remaining)
        else:
            found[key] = Expiring(
                member_id,
                external_id,
                key[1],
                min(seen.expires_at, expires_at),
                seen.points + remaining,
            )
    return [found[key] for key in sorted(found)]


def window(now: datetime, timezone: str, notice_days: int) -> tuple[date, date, datetime]:
    """``(today, last day, end)``: the local dates announced at ``now`` run from today to
    ``notice_days`` later; ``end`` is the first instant after the last one."""
    today = local(now, timezone).date()
    last = today + timedelta(days=notice_days)
    return today, last, start_of_local_day(last + timedelta(days=1), timezone)


async def announce_expiring(
    session: AsyncSession,
    *,
    program_id: int,
    timezone: str,
    notice_days: int,
    now: datetime,
) -> int:
    """Emit ``points.expiring`` for each member of the program and each local date from today
    to ``notice_days`` later on which some of the member's points expire, unless that date was
    announced before. Returns how many events were emitted. Never commits."""
    if notice_days <= 0:
        return 0
    today, last, end = window(now, timezone, notice_days)
    raw = await raw_of(session)
    rows = [
        (int(row[0]), _time(row[1]), int(row[2]), str(row[3]))
        for row in await raw.all(_LOTS, program_id, now, end)
    ]
    if not rows:
        return 0
    announced = {
        (int(row[0]), _date(row[1])) for row in await raw.all(_ANNOUNCED, program_id, today, last)
    }
    fresh = [
        item
        for item in group_expiring(rows, timezone)
        if (item.member_id, item.expires_on) not in announced
    ]
    for start in range(0, len(fresh), WRITE_BATCH):
        await _write(session, raw, fresh[start : start + WRITE_BATCH], program_id, today, now)
    return len(fresh)


async def _write(
    session: AsyncSession,
    raw: Raw,
    items: Sequence[Expiring],
    program_id: int,
    today: date,
    now: datetime,
) -> None:
    await raw.many(
        _INSERT,
        [(item.member_id, item.expires_on, item.points, item.expires_at, now) for item in items],
    )
    events = [
        PointsExpiring(
            member_id=item.member_id,
            points=item.points,
            expires_at=item.expires_at,
            days=(item.expires_on - today).days,
            external_id=item.external_id,
            expires_on=item.expires_on,
        )
        for item in items
    ]
    await emit_many(session, events, program_id=program_id, occurred_at=now)


def _time(value: datetime | str) -> datetime:
    moment = read_time(value)
    if moment is None:  # the query asks for lots with an expiry
        raise ValueError("a lot without an expiry")
    return moment


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
