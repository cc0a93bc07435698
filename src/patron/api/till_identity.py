"""A till acts only for a member it has identified.

Patron's member ids are sequential: a till (``pos`` key) that could act for any id it names
could read every member's points and redeem them. So a request from a ``pos`` key that names a
member by numeric id (in the path, the query or the body) presents how the till identified the
member, in one of these headers:

- ``X-Patron-Member-Token``: the card token the member showed as a QR code (``/portal/card``,
  :mod:`patron.members.card`);
- ``X-Patron-Member-External-Id``: the shop's customer id (the card number);
- ``X-Patron-Member-Phone``: the phone, in international format (one member must have it).

The member it names must be the one the request names; otherwise, and without any of them,
the answer is 403 ``member_not_identified`` and nothing changes. A token that is not genuine
or has expired is 422 ``member_token_invalid``. Staff and admin keys present nothing; the
program's ``access.pos_member_id: true`` lets tills act by id alone (the old behaviour).

:data:`TillIdentityDep` reads the headers (no database work, so it can sit beside any unit of
work); the route then calls :meth:`TillIdentity.check` with its own session and the member id
the request names, once the body is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.errors import MemberNotIdentifiedError
from patron.access.models import Role
from patron.access.schemas import Principal
from patron.api.deps import principal
from patron.api.responses import raises
from patron.kit.errors import NotFoundError
from patron.kit.text import NO_NUL
from patron.members import card
from patron.members import service as member_service
from patron.members.errors import MemberTokenInvalidError, PhoneNotUniqueError
from patron.members.schemas import normalise_phone
from patron.notifications import tokens
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program

TOKEN_HEADER = "X-Patron-Member-Token"
EXTERNAL_ID_HEADER = "X-Patron-Member-External-Id"
PHONE_HEADER = "X-Patron-Member-Phone"


@dataclass(frozen=True)
class TillIdentity:
    """Who the caller is and what it presented (at most one of the three is used: the token
    first, then the card number, then the phone)."""

    caller: Principal
    token: str | None = None
    external_id: str | None = None
    phone: str | None = None

    @property
    def presented(self) -> bool:
        return bool(self.token or self.external_id or self.phone)

    async def check(
        self,
        session: AsyncSession,
        member_id: int | None,
        *,
        now: datetime,
        field: str = "member_id",
    ) -> None:
        """Let the request act for ``member_id`` (``None``: it names no member by id), or
        raise 403 ``member_not_identified`` / 422 ``member_token_invalid``."""
        if member_id is None or self.caller.role is not Role.POS:
            return
        active = await get_active_program(session)
        if not self.presented:
            if active.program.access.pos_member_id:
                return
            raise MemberNotIdentifiedError(
                f"a till acts for a member it has identified: send the card token "
                f"({TOKEN_HEADER}), the card number ({EXTERNAL_ID_HEADER}) or the phone "
                f"({PHONE_HEADER}) with the member's id",
                field=field,
            )
        identified, header = await self._identified(session, program_id=active.program_id, now=now)
        if identified != member_id:
            raise MemberNotIdentifiedError(
                f"the member the till identified ({header}) is not the member of this request",
                field=field,
                params={"header": header},
            )

    async def _identified(
        self, session: AsyncSession, *, program_id: int, now: datetime
    ) -> tuple[int | None, str]:
        """The id of the member the headers name (``None``: nobody, or several by phone)."""
        if self.token:
            key = await tokens.existing_key(session)
            member = await card.member_of_token(
                session, key, self.token, program_id=program_id, now=now, field=TOKEN_HEADER
            )
            return member.id, TOKEN_HEADER
        try:
            if self.external_id:
                found = await member_service.get_member_by_external_id(
                    session, program_id=program_id, external_id=self.external_id
                )
                return found.id, EXTERNAL_ID_HEADER
            found = await member_service.get_member_by_phone(
                session, program_id=program_id, phone=normalise_phone(self.phone or "")
            )
            return found.id, PHONE_HEADER
        except (NotFoundError, PhoneNotUniqueError, ValueError):
            return None, EXTERNAL_ID_HEADER if self.external_id else PHONE_HEADER


@raises(MemberNotIdentifiedError, MemberTokenInvalidError, ProgramNotFoundError)
async def till_identity(
    caller: Annotated[Principal, Depends(principal)],
    # optional, never null: a header is sent with a value or not at all; what it holds is
    # checked when the request names a member (a phone that is not one identifies nobody)
    token: Annotated[
        str, Header(alias=TOKEN_HEADER, max_length=card.MAX_TOKEN, pattern=NO_NUL)
    ] = "",
    external_id: Annotated[
        str, Header(alias=EXTERNAL_ID_HEADER, max_length=128, pattern=NO_NUL)
    ] = "",
    phone: Annotated[str, Header(alias=PHONE_HEADER, max_length=40, pattern=NO_NUL)] = "",
) -> TillIdentity:
    """What the till presented with the request (see the module's docstring)."""
    if caller.role is not Role.POS:
        return TillIdentity(caller=caller)
    return TillIdentity(
        caller=caller, token=token or None, external_id=external_id or None, phone=phone or None
    )


TillIdentityDep = Annotated[TillIdentity, Depends(till_identity)]


def till_of_headers(caller: Principal, headers: Mapping[str, str]) -> TillIdentity | None:
    """:func:`till_identity` for a route that reads its request itself (the paced batch of
    :mod:`patron.api.routes.purchases`): ``None`` when a header is longer than the dependency
    allows (the standard handler then answers 422 for it)."""
    if caller.role is not Role.POS:
        return TillIdentity(caller=caller)
    token = headers.get(TOKEN_HEADER, "")
    external_id = headers.get(EXTERNAL_ID_HEADER, "")
    phone = headers.get(PHONE_HEADER, "")
    if len(token) > card.MAX_TOKEN or len(external_id) > 128 or len(phone) > 40:
        return None
    if "\x00" in token + external_id + phone:
        return None
    return TillIdentity(
        caller=caller, token=token or None, external_id=external_id or None, phone=phone or None
    )
