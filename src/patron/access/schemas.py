from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.access.models import Role


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
