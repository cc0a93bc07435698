"""Query parameters of days and moments that take exactly what ``/openapi.json`` says.

Pydantic alone reads ``?to=0.5`` as a Unix time (1970-01-01T00:00:00.5Z), which the schema
(``format: date-time``) calls invalid, and ``?published=0`` as false. These types take only
ISO 8601 text: a day ``2026-03-01``, a moment in RFC 3339 with its offset,
``2026-03-01T09:30:00Z``, both within the range of :mod:`patron.kit.instant`. Where a route
also bounds the year, :func:`years` writes the bound into the schema as a ``pattern``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator

from patron.kit.instant import YEARS_IN_SCHEMA, checked_day, checked_instant
from patron.kit.strict import DIGITS

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MOMENT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
# 1970 to 2200: the years the analytics accept (see analytics.kpis.service.EARLIEST/LATEST)
YEARS_1970_2200 = r"^(19[7-9][0-9]|2[01][0-9][0-9]|2200)-"


def _matching(pattern: re.Pattern[str], example: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"must be written like {example}")
        if not isinstance(value, str | date):
            raise ValueError(f"must be written like {example}")
        return value

    return check


IsoDay = Annotated[
    date,
    BeforeValidator(_matching(_DAY, "2026-03-01")),
    AfterValidator(checked_day),
    YEARS_IN_SCHEMA,
]
"""A day in a year from 0002 to 9998 (:mod:`patron.kit.instant`)."""
IsoMoment = Annotated[
    datetime,
    BeforeValidator(_matching(_MOMENT, "2026-03-01T09:30:00Z")),
    AfterValidator(checked_instant),
    YEARS_IN_SCHEMA,
]
"""A moment, in UTC once read, that every time zone can show (:mod:`patron.kit.instant`):
``0001-01-01T00:00:00+14:00`` is the year 0 in UTC and answered 500 (issue 16)."""


def _true_or_false(value: Any) -> Any:
    if value in ("true", "false") or isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]
"""A query flag: ``true`` or ``false`` as the schema says (pydantic alone also reads ``0``,
``1``, ``yes``, ``off`` ...)."""


def years(pattern: str) -> dict[str, Any]:
    """``json_schema_extra`` of a parameter whose year the route bounds."""
    return {"pattern": pattern}


PathId = Annotated[int, Path(gt=0, le=2**63 - 1), DIGITS]
"""A row's id in a path (``/members/{member_id}``): 1 to 2^63 - 1, in plain digits."""
