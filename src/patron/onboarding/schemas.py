"""The members batch API's request and answer (``POST /api/v1/members/batch``).

A member is written with the columns of the file import (docs/import.md) as JSON values:
text, whole numbers or true/false, and ``attributes`` as an object. Each is checked as a
file row is; a refused member does not stop the others.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from patron.kit.text import NO_NUL
from patron.onboarding.members import RowStatus

MAX_BATCH = 500
# no NUL in text: PostgreSQL cannot hold one
Value = Annotated[StrictStr, Field(pattern=NO_NUL)] | StrictInt | StrictBool | None


class MemberImport(BaseModel):
    """One member as a file row gives it (every field but ``external_id`` optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: Value = None
    name: Value = None
    email: Value = None
    phone: Value = None
    birth_date: Value = None
    language: Value = None
    enrolled_at: Value = None
    consent_email: Value = None
    consent_sms: Value = None
    consent_push: Value = None
    attributes: dict[StrictStr, Any] = {}
    opening_points: Value = None
    opening_points_expire_at: Value = None
    tier: Value = None
    tier_until: Value = None


class MemberBatch(BaseModel):
    """Up to 500 members; ``dry_run`` answers what would happen and writes nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: Annotated[list[MemberImport], Field(max_length=MAX_BATCH)]
    dry_run: StrictBool = False


class MemberProblem(BaseModel):
    field: str
    code: str
    message: str


class MemberBatchItem(BaseModel):
    """``status``: ``new``, ``unchanged``, ``updated`` or ``refused`` (then ``errors``)."""

    external_id: str | None
    status: RowStatus
    errors: list[MemberProblem] = []


class MemberBatchResult(BaseModel):
    items: list[MemberBatchItem]
    new: int
    unchanged: int
    updated: int
    refused: int
