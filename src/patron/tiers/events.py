"""The tiers' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from typing import Literal

from patron.kit.outbox import DomainEvent


class TiersChanged(DomainEvent):
    type = "tiers.changed"
    member_id: int
    from_tier: str | None
    to_tier: str | None
    direction: Literal["up", "down"]
    reason: str
