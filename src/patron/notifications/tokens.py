"""Signed unsubscribe tokens: ``<member id>.<channel>.<signature>``, where the signature is
the first 16 bytes of HMAC-SHA256 over ``unsubscribe:<member id>:<channel>`` with the
database's signing key (:class:`~patron.notifications.models.SigningKey`), base64url.

The token needs no row of its own and never expires: whoever holds a message can always
unsubscribe its recipient from that channel, and nobody can forge one for another member.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.raw import Sql, raw_of
from patron.notifications.models import SigningKey

_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([a-z]{1,16})\.([A-Za-z0-9_-]{22})$")
_KEY_ID = 1
_SECRET = Sql("SELECT secret FROM message_signing_keys WHERE id = $1")
_SESSION_KEY = "patron.notifications.signing_key"
_MADE_HERE = "patron.notifications.signing_key_made"


async def existing_key(session: AsyncSession) -> bytes | None:
    """The signing key, None before the first message was queued."""
    secret = await session.scalar(select(SigningKey.secret).where(SigningKey.id == _KEY_ID))
    return None if secret is None else secret.encode()


async def signing_key(session: AsyncSession, now: datetime) -> bytes:
    """The signing key, made on first use (concurrent first uses agree: one insert wins).

    Read once a unit of work (a handler's batch of messages) when it was there already: a
    key committed is never changed. One this unit of work made is read every time, as a
    savepoint rolled back may take it away again."""
    known: bytes | None = session.info.get(_SESSION_KEY)
    if known is not None:
        return known
    row = await (await raw_of(session)).one(_SECRET, _KEY_ID)
    if row is not None:
        key = str(row[0]).encode()
        if not session.info.get(_MADE_HERE):
            session.info[_SESSION_KEY] = key
        return key
    session.info[_MADE_HERE] = True
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(SigningKey)
        .values(id=_KEY_ID, secret=secrets.token_urlsafe(48), created_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    secret = await session.scalar(select(SigningKey.secret).where(SigningKey.id == _KEY_ID))
    assert secret is not None
    return secret.encode()


def _signature(key: bytes, member_id: int, channel: str) -> str:
    digest = hmac.new(key, f"unsubscribe:{member_id}:{channel}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")


def make_token(key: bytes, member_id: int, channel: str) -> str:
    return f"{member_id}.{channel}.{_signature(key, member_id, channel)}"


def read_token(key: bytes, token: str) -> tuple[int, str] | None:
    """``(member_id, channel)`` of a genuine token, else None."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    member_id, channel = int(match[1]), match[2]
    if not hmac.compare_digest(_signature(key, member_id, channel), match[3]):
        return None
    return member_id, channel
