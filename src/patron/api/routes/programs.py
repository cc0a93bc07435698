"""``/program``: the active loyalty program, its versions, and applying a new one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from patron.api.deps import Admin, Reader, ReadSession, WriteSession
from patron.api.responses import raises
from patron.campaigns.prizes import commit_active_seeds
from patron.kit.strict import DIGITS
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.errors import (
    ProgramInvalidError,
    ProgramNotFoundError,
    ProgramVersionNotFoundError,
)
from patron.programs.schemas import AppliedProgram, ProgramVersionDetail, ProgramVersionSummary

router = APIRouter(prefix="/program", tags=["program"])


@router.get("", response_model=ProgramVersionDetail)
@raises(ProgramNotFoundError)
async def active_program(session: ReadSession, _: Reader) -> ProgramVersionDetail:
    """The active version of the program, with its source YAML and normalised document."""
    active = await program_service.get_active_program(session)
    return await program_service.get_version(session, version=active.version)


@router.put(
    "",
    response_model=AppliedProgram,
    openapi_extra={
        "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
)
@raises(ProgramInvalidError)
async def apply_program(
    principal: Admin,
    session: WriteSession,
    text: Annotated[str, Body(media_type="application/yaml", max_length=1_000_000)],
) -> AppliedProgram:
    """Validate the program file (YAML body) and make it the active version; the answer lists
    the field-level changes. 422 ``program_invalid`` lists every problem."""
    applied = await program_service.apply_program(
        session, text=text, created_by=f"api:{principal.name}"
    )
    # instant prizes and raffles: their seeds are committed with the version (docs/campaigns.md)
    await commit_active_seeds(session, program_key=applied.key, now=utcnow())
    return applied


@router.get("/versions", response_model=list[ProgramVersionSummary])
async def versions(session: ReadSession, _: Reader) -> list[ProgramVersionSummary]:
    """Every version, newest first."""
    return await program_service.list_versions(session)


@router.get("/versions/{version}", response_model=ProgramVersionDetail)
@raises(ProgramVersionNotFoundError)
async def version(
    version: Annotated[int, Path(gt=0, le=2**31 - 1), DIGITS], session: ReadSession, _: Reader
) -> ProgramVersionDetail:
    """One version of the program."""
    return await program_service.get_version(session, version=version)
