"""The payloads of ``POST /events``: a custom event of a member, and the answer."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from patron.kit.instant import Instant
from patron.kit.strict import WHOLE
from patron.kit.text import NO_NUL
from patron.members.schemas import Attributes

EVENT_TYPE = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


def _exactly_one(first: str, second: str) -> dict[str, Any]:
    """The JSON schema of "``first`` or ``second``, exactly one" (null is not given)."""
    given = {"not": {"type": "null"}}
    return {
        "not": {"required": [first, second], "properties": {first: given, second: given}},
        "anyOf": [
            {"required": [first], "properties": {first: given}},
            {"required": [second], "properties": {second: given}},
        ],
    }


class CustomEventCreate(BaseModel):
    """A custom event of a member (a social share, an app install, a completed profile).
    ``type`` must be the ``event`` of a campaign of the active program. Idempotent on
    ``idempotency_key``: the same body again answers the first result (200) and credits
    nothing; another body with the same key is 409 ``idempotency_conflict``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_exactly_one("member_id", "member_external_id")
    )

    member_id: Annotated[int, Field(gt=0, le=2**53, strict=True), WHOLE] | None = None
    member_external_id: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None
    ) = None
    type: Annotated[
        str, Field(min_length=1, max_length=64, pattern=EVENT_TYPE, examples=["social_share"])
    ]
    occurred_at: Instant  # in UTC, within the range every time zone can show
    idempotency_key: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    attributes: Attributes = {}

    @model_validator(mode="after")
    def _one_member_reference(self) -> Self:
        if (self.member_id is None) == (self.member_external_id is None):
            raise ValueError("give member_id or member_external_id, exactly one")
        return self

    def fingerprint(self) -> str:
        body = self.model_dump(mode="json")
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


class CampaignApplied(BaseModel):
    """One campaign of the event's type: applied with ``points``, or not and ``reason``."""

    key: str
    applied: bool
    points: int
    reason: str | None


class CustomEventRead(BaseModel):
    """The event as recorded and what it gave: ``points`` in all, per campaign."""

    id: int
    member_id: int
    type: str
    occurred_at: datetime
    idempotency_key: str
    attributes: dict[str, Any]
    points: int
    campaigns: list[CampaignApplied]
