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


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    name: str
    role: Role
    key: str
    expires_at: datetime | None = None
