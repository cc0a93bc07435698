"""What audiences read of a member (:class:`patron.rules.vocabulary.audience.MemberFacts`):
the tier, the RFM segment and behavioural groups of the last daily refresh, the attributes
(those that are ``true`` as flags, and all of them for a campaign's attribute filter) and the
enrolment's moment (a campaign's ``new_members``).

The segments table belongs to :mod:`patron.segments`, a layer above this one, so it is read
here by name, as a plain query of the five columns an audience needs."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from patron.members.models import Member
from patron.rules.vocabulary.audience import MemberFacts, flags_of

_GROUPS = ("high_value", "regular", "category_lover", "at_risk")
_SEGMENT = text(
    "SELECT rfm_segment, is_high_value, is_regular, is_category_lover, is_at_risk "
    "FROM member_segments WHERE member_id = :member_id"
)


async def member_facts(session: AsyncSession, *, member_id: int) -> MemberFacts:
    """The member's facts as stored now (two small reads by primary key)."""
    found = (
        await session.execute(
            select(Member.tier_id, Member.attributes, Member.enrolled_at).where(
                Member.id == member_id
            )
        )
    ).one_or_none()
    if found is None:
        return MemberFacts()
    tier_id, attributes, enrolled_at = found
    segments: set[str] = set()
    row = (await session.execute(_SEGMENT, {"member_id": member_id})).one_or_none()
    if row is not None:
        segments.add(row[0])
        segments.update(group for group, held in zip(_GROUPS, row[1:], strict=True) if held)
    return MemberFacts(
        tier_id=tier_id,
        segments=frozenset(segments),
        flags=flags_of(attributes),
        attributes=dict(attributes or {}),
        enrolled_at=enrolled_at,
    )
