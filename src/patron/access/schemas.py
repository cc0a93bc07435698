from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from patron.access.models import Role
from patron.kit.instant import Instant
from patron.kit.text import NO_NUL


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key with a role (a member principal comes with the portal)."""

    key_id: int
    name: str
    role: Role
    partner_id: str | None = None  # the partner a ``partner`` key acts for


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    name: str
    role: Role
    key: str
    expires_at: datetime | None = None
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserRead:
    """A console user as listed (never the password hash)."""

    id: int
    email: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A logged-in console session: who, and the CSRF token its forms carry. ``token`` (the
    cookie's value) is set only when the session has just been started."""

    user: UserRead
    csrf_token: str
    expires_at: datetime
    token: str | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    """Who or what uses the key, e.g. ``till-3``."""
    role: Role
    expires_at: Instant | None = None
    """After this instant the key answers 401 ``invalid_api_key``; none: it never expires."""
    partner_id: Annotated[str, Field(min_length=1, max_length=48, pattern=NO_NUL)] | None = None
    """The partner (the program's ``partners[].id``) a ``partner`` key acts for; required for
    that role, refused for the others."""


class Key(BaseModel):
    """A key without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    partner_id: str | None = None
    prefix: str
    """The first characters of the key, to recognise it."""
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    """Noted when a server process reads the key (at most about a minute behind)."""
