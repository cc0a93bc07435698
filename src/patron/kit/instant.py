"""Instants that every time zone can show: the validated datetime of the API's input.

Python's ``datetime`` spans the years 1 to 9999 of the wall clock, not of an instant:
``0001-01-01T00:00:00+14:00`` parses, but it is a moment of the year 0 in UTC
(``astimezone`` raises ``OverflowError``), and ``9999-12-31T23:59:59Z`` read in a program's
time zone east of UTC is in the year 10000. Each such value answered 500 somewhere (issue 16).
An :data:`Instant` is therefore an aware moment whose UTC value lies within
:data:`EARLIEST` and :data:`LATEST`, a day inside the calendar at both ends, so that reading it
in any time zone (offsets stay within a day) and a day's arithmetic on it stay representable.
A naive value is taken as UTC, as :func:`patron.kit.time.ensure_utc` does.

The rule a client sees is simpler and is the one ``/openapi.json`` states (a ``pattern`` on the
year, :data:`YEARS`): a moment or a day is written in a year from 0002 to 9998. Whatever its
offset, such a moment lies within :data:`EARLIEST` and :data:`LATEST` in UTC. (Bounding the UTC
value alone refused ``0001-01-01T00:00:00Z``, which the schema's ``format: date-time`` calls
valid: schemathesis found it.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
FIRST_YEAR, LAST_YEAR = 2, 9998
RANGE_TEXT = "in a year from 0002 to 9998"
YEARS = (
    r"^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
)
"""The schema's ``pattern`` of a day or moment: its year, as written, from 0002 to 9998."""
YEARS_IN_SCHEMA = Field(json_schema_extra={"pattern": YEARS})


def checked_instant(value: datetime) -> datetime:
    """``value`` in UTC if it is written in a year from 0002 to 9998 (then it lies within
    :data:`EARLIEST` and :data:`LATEST` in UTC), else :class:`ValueError` (a pydantic
    validator's refusal: 422 naming the field)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be a moment {RANGE_TEXT}")
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise ValueError(f"must be a moment {RANGE_TEXT}")
    return moment


def checked_day(value: date) -> date:
    """``value`` if it is in a year from 0002 to 9998 (a day's shift either way stays in the
    calendar), else :class:`ValueError`."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be a day {RANGE_TEXT}")
    return value


def checked_local(value: date) -> date:
    """A wall-clock day or moment (a campaign window's, read later in the program's time
    zone) if its day is in a year from 0002 to 9998, else
    :class:`ValueError`: then the zone's offset and a day added for an end stay
    representable."""
    checked_day(value.date() if isinstance(value, datetime) else value)
    return value


def shifted(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, clamped to :data:`EARLIEST` and :data:`LATEST` (an open period's end a
    year after a moment near the end of the calendar, say)."""
    try:
        return min(max(moment + by, EARLIEST), LATEST)
    except OverflowError:
        return LATEST if by > timedelta(0) else EARLIEST


def _as_written(value: Any) -> Any:
    """A moment as the schema writes it (RFC 3339 text), not a number read as a Unix time."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be a moment such as 2026-03-01T09:30:00Z")
    return value


Instant = Annotated[
    datetime, BeforeValidator(_as_written), AfterValidator(checked_instant), YEARS_IN_SCHEMA
]
"""A moment given as RFC 3339 text (or a ``datetime``), in UTC once read, that every time
zone can show (see the module): the type of every moment in a request body."""

Day = Annotated[date, AfterValidator(checked_day), YEARS_IN_SCHEMA]
"""A day a time zone's shift keeps in the calendar."""
