"""What the outbox's operations answer through the API (`/events/dead`, `/events/dead/retry`,
`/events/stats`): the request and answer models beside `patron.kit.outbox_ops`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.strict import WHOLE
from patron.kit.text import NO_NUL


class DeadLetter(BaseModel):
    run_id: int
    event_id: int
    event: str = Field(description="The event's public id (evt_<id>).")
    type: str
    member_id: int | None
    handler: str
    attempts: int
    last_error: str | None
    failed_at: datetime


class RetryRequest(BaseModel):
    """Which dead runs to retry; every one when no field is given."""

    model_config = ConfigDict(extra="forbid")
    run_id: Annotated[int, Field(ge=1, le=2**53, strict=True), WHOLE] | None = None
    event_id: Annotated[int, Field(ge=1, le=2**53, strict=True), WHOLE] | None = None
    handler: str | None = Field(default=None, min_length=1, max_length=64, pattern=NO_NUL)


class RetryResult(BaseModel):
    retried: int = Field(description="Dead handler runs queued again (0: none matched).")


class EventStats(BaseModel):
    pending: int
    oldest_pending_seconds: float | None
    retrying: int
    dead: int
    dispatched_last_hour: int
    lag_p50_ms: float | None
    lag_p99_ms: float | None
    failures_by_handler: dict[str, int]
