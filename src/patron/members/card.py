"""Member card tokens: what the portal's card page (``/portal/card``) shows as a QR code, and
what a till scans to identify the member (``GET /api/v1/members/by-token/{token}``, or the
``X-Patron-Member-Token`` header of a request that acts for the member).

A token is ``<member id>.<expiry, Unix seconds>.<signature>``: the signature is the first 16
bytes of HMAC-SHA256 over ``patron-card:<member id>:<expiry>``, base64url without padding,
under the database's signing key (the one that signs unsubscribe links,
``patron.notifications.tokens``; the ``patron-card:`` prefix keeps the two kinds apart). It
needs no row of its own: it is good until its expiry, :data:`CARD_MINUTES` after the page
showed it, and a new one is made each time the page is shown. So a screenshot of the card
stops working within minutes, and nobody can make one for another member.

This module takes the key as bytes: the members package sits below ``notifications``, so the
caller (the portal page, the API) fetches the key and passes it in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.members import service as member_service
from patron.members.errors import MemberNotFoundError, MemberTokenInvalidError
from patron.members.schemas import Member

CARD_MINUTES = 10
"""How long a card token is good for after the card page made it."""
_SKEW_SECONDS = 60
"""A token may say it expires up to this much later than :data:`CARD_MINUTES` from now (the
page's server clock and the till's may differ a little)."""
MAX_TOKEN = 64
_TOKEN = re.compile(r"^([1-9][0-9]{0,17})\.([1-9][0-9]{0,10})\.([A-Za-z0-9_-]{22})$")


def _signature(key: bytes, member_id: int, expires: int) -> str:
    digest = hmac.new(key, f"patron-card:{member_id}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")


def expiry_of_new_token(now: datetime) -> datetime:
    """When a token made ``now`` stops working (whole seconds)."""
    return (now + timedelta(minutes=CARD_MINUTES)).replace(microsecond=0)


def sign_card_token(key: bytes, *, member_id: int, expires_at: datetime) -> str:
    """The card token of the member, good until ``expires_at``."""
    expires = int(expires_at.timestamp())
    return f"{member_id}.{expires}.{_signature(key, member_id, expires)}"


def read_card_token(key: bytes | None, token: str, *, now: datetime) -> int | None:
    """The member id of a genuine, unexpired card token; ``None`` for anything else (no key
    yet, a malformed or forged token, an expiry passed or too far ahead)."""
    if key is None or len(token) > MAX_TOKEN:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    member_id, expires = int(match[1]), int(match[2])
    if not hmac.compare_digest(_signature(key, member_id, expires), match[3]):
        return None
    moment = now.timestamp()
    if not moment < expires <= moment + CARD_MINUTES * 60 + _SKEW_SECONDS:
        return None
    return member_id


async def member_of_token(
    session: AsyncSession,
    key: bytes | None,
    token: str,
    *,
    program_id: int,
    now: datetime,
    field: str = "token",
) -> Member:
    """The member a card token names: 422 ``member_token_invalid`` (``field``) when the token
    is not genuine, has expired, or names a member who is not in the program or was erased."""
    member_id = read_card_token(key, token, now=now)
    if member_id is not None:
        try:
            member = await member_service.get_member(session, member_id=member_id)
        except MemberNotFoundError:
            member = None
        if member is not None and member.program_id == program_id and member.erased_at is None:
            return member
    raise MemberTokenInvalidError(
        "the member's card token is not valid: ask the member to open the card page again",
        field=field,
    )
