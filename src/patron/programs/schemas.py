"""What the programs services return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from patron.programs.schema import Program


class ApplyStatus(StrEnum):
    CREATED = "created"  # the program's first version
    UPDATED = "updated"  # a new version replaced the active one
    UNCHANGED = "unchanged"  # the document equals the active version's; nothing was written


class AppliedProgram(BaseModel):
    """The outcome of applying a program file. ``changes`` lists the field-level differences
    from the version that was active before (empty for a new program or no change)."""

    model_config = ConfigDict(frozen=True)

    program_id: int
    key: str
    version: int
    previous_version: int | None
    status: ApplyStatus
    changes: list[str]

    @property
    def diff(self) -> str:
        return "\n".join(self.changes)


@dataclass(frozen=True, slots=True)
class ActiveProgram:
    """The active version of a program, parsed (shared between requests: do not mutate)."""

    program_id: int
    key: str
    version: int
    checksum: str
    program: Program


class ProgramVersionSummary(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    version: int
    checksum: str
    is_active: bool
    created_at: datetime
    created_by: str


class ProgramVersionDetail(ProgramVersionSummary):
    key: str
    source_yaml: str
    document: dict[str, Any]
