"""``/surveys``: definitions (program file and API), invitations, responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from patron.api.deps import Admin, Now, ReadSession, Staff, WriteSession
from patron.api.paging import PageCursor
from patron.api.params import QueryBool
from patron.api.responses import raises
from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.feedback.errors import (
    DuplicateQuestionIdError,
    SurveyDefinedInProgramError,
    SurveyExistsError,
    SurveyInactiveError,
    SurveyNotFoundError,
)
from patron.kit.errors import InvalidInputError
from patron.kit.strict import DIGITS
from patron.members.errors import MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.segments.errors import UnknownSegmentError

router = APIRouter(prefix="/surveys", tags=["surveys"])

SurveyKey = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("", response_model=list[schemas.Survey])
@raises(ProgramNotFoundError)
async def list_surveys(session: WriteSession, _: Staff, now: Now) -> list[schemas.Survey]:
    """Every survey of the program: from the program file (``source: program``) and the API."""
    return await feedback_service.list_surveys(session, now=now)


@router.post("", response_model=schemas.Survey, status_code=status.HTTP_201_CREATED)
@raises(ProgramNotFoundError, SurveyExistsError, DuplicateQuestionIdError)
async def create_survey(
    data: schemas.SurveyCreate, session: WriteSession, _: Admin, now: Now
) -> schemas.Survey:
    """Add a survey (NPS 0-10, CSAT 1-5, CES 1-7 and free-text questions); 409
    ``survey_exists`` when the key is taken."""
    return await feedback_service.create_survey(session, data=data, now=now)


@router.get("/{key}", response_model=schemas.Survey)
@raises(ProgramNotFoundError, SurveyNotFoundError)
async def get_survey(key: SurveyKey, session: WriteSession, _: Staff, now: Now) -> schemas.Survey:
    return await feedback_service.get_survey(session, key=key, now=now)


@router.patch("/{key}", response_model=schemas.Survey)
@raises(
    ProgramNotFoundError,
    SurveyNotFoundError,
    SurveyDefinedInProgramError,
    DuplicateQuestionIdError,
)
async def update_survey(
    key: SurveyKey, data: schemas.SurveyUpdate, session: WriteSession, _: Admin, now: Now
) -> schemas.Survey:
    """Change an API survey (``is_active: false`` retires it); program-file surveys change in
    the program file (409 ``survey_in_program_file``)."""
    return await feedback_service.update_survey(session, key=key, data=data, now=now)


@router.post("/{key}/invitations", response_model=schemas.InvitationBatch)
@raises(
    ProgramNotFoundError,
    SurveyNotFoundError,
    SurveyInactiveError,
    MemberNotFoundError,
    InvalidInputError,
    UnknownSegmentError,
)
async def invite(
    key: SurveyKey,
    data: schemas.InvitationRequest,
    session: WriteSession,
    _: Staff,
    now: Now,
) -> schemas.InvitationBatch:
    """Invite the listed members (``member_ids``) or every active member of a ``tier``. The
    same ``source_ref`` again returns the existing invitations (``created: false``)."""
    return await feedback_service.invite_members(session, survey_key=key, request=data, now=now)


@router.get("/{key}/invitations", response_model=list[schemas.Invitation])
@raises(ProgramNotFoundError, SurveyNotFoundError)
async def list_invitations(
    key: SurveyKey,
    session: WriteSession,
    _: Staff,
    now: Now,
    pending: QueryBool = True,
    limit: Annotated[int, Query(ge=1, le=1000), DIGITS] = 100,
) -> list[schemas.Invitation]:
    """Invitations with their links (pending ones by default: not answered, not expired)."""
    return await feedback_service.list_invitations(
        session, survey_key=key, pending_only=pending, now=now, limit=limit
    )


@router.get("/{key}/responses", response_model=schemas.SurveyResponsePage)
@raises(ProgramNotFoundError, SurveyNotFoundError)
async def list_responses(
    key: SurveyKey,
    session: ReadSession,
    _: Staff,
    now: Now,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=200), DIGITS] = 50,
) -> schemas.SurveyResponsePage:
    """Responses with their answers and the answers' text analysis, in id order."""
    return await feedback_service.list_responses(
        session,
        survey_key=key,
        now=now,
        after=schemas.SurveyResponsePage.resume(cursor, after),
        limit=limit,
    )
