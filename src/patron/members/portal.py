"""The member portal's logins: one-time links and member sessions (``/portal``).

Staff make a link at the till (``patron portal link MEMBER_ID``): a random 256-bit token,
valid for :data:`LINK_MINUTES` minutes and for one use; the database keeps only its SHA-256.
Using it starts a member session of :data:`SESSION_DAYS` days: another random token (the
``patron_member`` cookie), stored as its SHA-256 with the session's CSRF token. Member
sessions are apart from the console's ``user_sessions``: neither opens the other's pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.ids import random_token, sha256_hex
from patron.kit.outbox import emit
from patron.members.errors import MemberErasedError, MemberNotFoundError
from patron.members.events import MemberLoginRequested
from patron.members.models import Member, PortalLink, PortalSession

LINK_MINUTES = 15
SESSION_DAYS = 30
MAX_TOKEN = 200
MAX_LOGIN_MEMBERS = 3
"""Members one email may ask links for at once (one email shared by a family's cards)."""


@dataclass(frozen=True, slots=True)
class MemberLogin:
    """A live member session: whose, and the CSRF token its forms carry. ``token`` (the
    cookie's value) is set only when the session has just been started."""

    member_id: int
    csrf_token: str
    expires_at: datetime
    token: str | None = None


async def create_link(session: AsyncSession, *, member_id: int, now: datetime) -> str:
    """A new one-time login token for the member (shown once; only its hash is kept)."""
    member = await session.get(Member, member_id)
    if member is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    if member.erased_at is not None:
        raise MemberErasedError(
            f"member {member_id} was erased", field="member_id", params={"member_id": member_id}
        )
    await session.execute(delete(PortalLink).where(PortalLink.expires_at <= now))
    token = random_token(32)
    session.add(
        PortalLink(
            member_id=member_id,
            token_hash=sha256_hex(token),
            created_at=now,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
        )
    )
    await session.flush()
    return token


def _addresses(email: str) -> list[str]:
    """How a typed email may be stored: as members' emails are (domain in lower case), and
    all in lower case."""
    value = email.strip()
    if not 3 <= len(value) <= 254 or value.count("@") != 1 or any(c.isspace() for c in value):
        return []
    local, domain = value.split("@")
    if not local or not domain:
        return []
    stored = f"{local}@{domain.lower()}"
    return sorted({stored, stored.lower()})


async def request_login(
    session: AsyncSession, *, email: str, program_ids: list[int], now: datetime
) -> int:
    """Ask for login links for the members of ``program_ids`` with this email (at most
    :data:`MAX_LOGIN_MEMBERS`, not erased): one ``members.login_requested`` each, which the
    notifications handler turns into an email with a fresh link. Returns how many; the page
    never says (it answers the same for an email that belongs to nobody)."""
    addresses = _addresses(email)
    if not addresses or not program_ids:
        return 0
    rows = await session.execute(
        select(Member.id, Member.program_id)
        .where(
            Member.program_id.in_(program_ids),
            Member.email.in_(addresses),
            Member.erased_at.is_(None),
        )
        .order_by(Member.id)
        .limit(MAX_LOGIN_MEMBERS)
    )
    found = list(rows)
    for member_id, program_id in found:
        requested = MemberLoginRequested(member_id=member_id, channel="email")
        await emit(session, requested, program_id=program_id, occurred_at=now)
    return len(found)


async def _start(session: AsyncSession, member_id: int, now: datetime) -> MemberLogin:
    await session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))
    token, csrf = random_token(32), random_token(32)
    expires_at = now + timedelta(days=SESSION_DAYS)
    session.add(
        PortalSession(
            member_id=member_id,
            token_hash=sha256_hex(token),
            csrf_token=csrf,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return MemberLogin(member_id=member_id, csrf_token=csrf, expires_at=expires_at, token=token)


async def link_usable(session: AsyncSession, *, token: str, now: datetime) -> bool:
    """The login link is known, unused, unexpired and its member not erased: a read, so that
    a guessed or spent token never takes the write lock (:func:`use_link` checks again)."""
    if not token or len(token) > MAX_TOKEN:
        return False
    found = await session.execute(
        select(PortalLink.id)
        .join(Member, Member.id == PortalLink.member_id)
        .where(
            PortalLink.token_hash == sha256_hex(token),
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > now,
            Member.erased_at.is_(None),
        )
    )
    return found.first() is not None


async def use_link(session: AsyncSession, *, token: str, now: datetime) -> MemberLogin | None:
    """Spend a login link and start a session; ``None`` when the token is unknown, used,
    expired or its member erased (alike: the answer tells nothing more). Two concurrent uses
    of one link: the conditional update lets only one through."""
    if not token or len(token) > MAX_TOKEN:
        return None
    spent = await session.execute(
        update(PortalLink)
        .where(
            PortalLink.token_hash == sha256_hex(token),
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(PortalLink.member_id)
    )
    member_id = spent.scalar_one_or_none()
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    if member is None or member.erased_at is not None:
        return None
    return await _start(session, member_id, now)


async def start_session(session: AsyncSession, *, member_id: int, now: datetime) -> MemberLogin:
    """A member session started by another proof of who the member is (an embed token)."""
    member = await session.get(Member, member_id)
    if member is None or member.erased_at is not None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    return await _start(session, member_id, now)


async def current_session(
    session: AsyncSession, *, token: str, now: datetime
) -> MemberLogin | None:
    """The live session of ``token``: ``None`` when unknown, expired or its member erased."""
    if not token or len(token) > MAX_TOKEN:
        return None
    found = (
        await session.execute(
            select(PortalSession, Member.erased_at)
            .join(Member, Member.id == PortalSession.member_id)
            .where(PortalSession.token_hash == sha256_hex(token))
        )
    ).one_or_none()
    if found is None:
        return None
    row, erased_at = found
    if row.expires_at <= now or erased_at is not None:
        return None
    return MemberLogin(
        member_id=row.member_id, csrf_token=row.csrf_token, expires_at=row.expires_at
    )


async def log_out(session: AsyncSession, *, token: str) -> None:
    if token and len(token) <= MAX_TOKEN:
        await session.execute(
            delete(PortalSession).where(PortalSession.token_hash == sha256_hex(token))
        )


async def end_sessions(session: AsyncSession, *, member_id: int) -> None:
    """End every portal session and unused link of the member (erasure)."""
    await session.execute(delete(PortalSession).where(PortalSession.member_id == member_id))
    await session.execute(delete(PortalLink).where(PortalLink.member_id == member_id))


# Embed tokens: a shop that shows the portal inside its own site signs, on its server, a token
# naming the member its own login has identified: ``<member id>.<expiry, Unix seconds>.<HMAC>``,
# the HMAC-SHA256 (base64url, no padding) of ``patron-portal:<member id>:<expiry>`` under the
# shared secret ``PATRON_PORTAL_SECRET``. A token is good until its expiry, which may be at
# most :data:`EMBED_MAX_MINUTES` ahead (a leaked token is soon worthless).
EMBED_MAX_MINUTES = 10
MIN_SECRET_LENGTH = 32


def _embed_signature(secret: str, member_id: int, expires: int) -> str:
    message = f"patron-portal:{member_id}:{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_embed_token(secret: str, *, member_id: int, expires_at: datetime) -> str:
    """The embed token of the member, good until ``expires_at`` (what the shop's server does;
    ``patron portal embed-token`` and the tests use it too)."""
    expires = int(expires_at.timestamp())
    return f"{member_id}.{expires}.{_embed_signature(secret, member_id, expires)}"


def verify_embed_token(secret: str, token: str, *, now: datetime) -> int | None:
    """The member id of a valid, unexpired embed token; ``None`` for anything else (a wrong
    signature, an expiry passed or more than :data:`EMBED_MAX_MINUTES` ahead)."""
    if len(secret) < MIN_SECRET_LENGTH or not token or len(token) > MAX_TOKEN:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()):
        return None
    if not (parts[1].isascii() and parts[1].isdigit()) or len(parts[0]) > 18:
        return None
    member_id, expires = int(parts[0]), int(parts[1])
    expected = _embed_signature(secret, member_id, expires)
    if not hmac.compare_digest(expected.encode(), parts[2].encode()):
        return None
    moment = now.timestamp()
    if not moment < expires <= moment + EMBED_MAX_MINUTES * 60:
        return None
    return member_id
