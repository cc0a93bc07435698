"""What a caller is shown of a member: a till (``pos`` key) sees the name, tier and points,
not the personal fields (email, phone, birth date, attributes) unless the program's
``access.pos_member_fields`` grants them (docs/program.md, docs/security.md), nor abuse flags."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.models import Role
from patron.access.schemas import Principal
from patron.members.overview import MemberOverview
from patron.programs.access_settings import PersonalField
from patron.programs.service import get_active_program

_EMPTY: dict[PersonalField, Any] = {
    PersonalField.EMAIL: None,
    PersonalField.PHONE: None,
    PersonalField.BIRTH_DATE: None,
    PersonalField.ATTRIBUTES: {},
}


async def shown_to(
    session: AsyncSession, caller: Principal, member: MemberOverview
) -> MemberOverview:
    """``member`` as ``caller`` may see it."""
    if caller.role is not Role.POS:
        return member
    active = await get_active_program(session)
    granted = set(active.program.access.pos_member_fields)
    hidden: dict[str, Any] = {
        field.value: empty for field, empty in _EMPTY.items() if field not in granted
    }
    if member.flagged_at is not None:  # abuse flags are the staff's business, not the till's
        hidden.update(flagged_at=None, flags=[])
    return member.model_copy(update=hidden) if hidden else member
