"""What the tier services answer through the API."""

from __future__ import annotations

from pydantic import BaseModel


class TierChangeRead(BaseModel):
    from_tier: str | None
    to_tier: str | None
    reason: str
    metric: int
    occurred_at: str
