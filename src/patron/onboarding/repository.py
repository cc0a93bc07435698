"""Queries of the members import: lookups by external id and the bulk insert of new members.
Statements go straight to the driver (:mod:`patron.kit.raw`): an import writes millions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.raw import Sql, json_text, raw_of
from patron.members.repository import MEMBER_COLUMNS

LOOKUP_CHUNK = 500
_INSERT = Sql(
    f"INSERT INTO members ({', '.join(MEMBER_COLUMNS)}) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(MEMBER_COLUMNS) + 1))
    + ") ON CONFLICT DO NOTHING"
)
_PROFILE = ("name", "email", "phone", "birth_date", "language", "enrolment_checksum")
_UPDATE = Sql(
    "UPDATE members SET "
    + ", ".join(f"{name} = ${n}" for n, name in enumerate(_PROFILE, start=1))
    + f", attributes = ${len(_PROFILE) + 1}, updated_at = ${len(_PROFILE) + 2}"
    # the birthday campaigns' abuse guard: when the birth date changes, remember when
    + ", birth_date_changed_at = CASE WHEN birth_date = $4 OR (birth_date IS NULL AND $4 IS NULL)"
    + f" THEN birth_date_changed_at ELSE ${len(_PROFILE) + 2} END"
    + f" WHERE id = ${len(_PROFILE) + 3}"
)


def _lookup(count: int) -> Sql:
    marks = ", ".join(f"${n}" for n in range(2, count + 2))
    return Sql(
        "SELECT external_id, id, enrolment_checksum, tier_id, tier_until FROM members "
        f"WHERE program_id = $1 AND external_id IN ({marks})"
    )


class ImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def members(
        self, program_id: int, external_ids: Sequence[str]
    ) -> dict[str, tuple[Any, ...]]:
        """``external_id -> (id, checksum, tier, tier_until)`` of the members that exist."""
        raw = await raw_of(self.session)
        found: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(external_ids), LOOKUP_CHUNK):
            chunk = external_ids[start : start + LOOKUP_CHUNK]
            for row in await raw.all(_lookup(len(chunk)), program_id, *chunk):
                found[row[0]] = tuple(row[1:])
        return found

    async def insert_members(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert members (each row the values of :data:`MEMBER_COLUMNS` in order, the
        attributes as JSON text); a row whose external id or referral code is taken is left
        out without error (the caller looks them up)."""
        raw = await raw_of(self.session)
        await raw.many(_INSERT, rows)

    async def update_profile(self, member_id: int, values: dict[str, Any]) -> None:
        raw = await raw_of(self.session)
        await raw.run(
            _UPDATE,
            *(values[name] for name in _PROFILE),
            json_text(values["attributes"]),
            values["updated_at"],
            member_id,
        )
