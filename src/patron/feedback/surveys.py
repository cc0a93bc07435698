"""Survey definitions and invitations.

Definitions come from the program file (`surveys:`) and from the API. The program's surveys
are copied into the `surveys` table whenever the survey services read definitions
(`sync_program_surveys`): a survey removed from the file becomes inactive, one changed in the
file changes here. API surveys change through the API only; a program survey with the same
key takes an API survey over.

An invitation is a single-use link `/s/{token}` with a `secrets` token, valid `valid_days`.
Inviting is idempotent per (survey, member, source_ref): the same request again returns the
first invitation, also under concurrency (a unique constraint decides).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback import schemas
from patron.feedback.errors import (
    SurveyDefinedInProgramError,
    SurveyExistsError,
    SurveyInactiveError,
    SurveyNotFoundError,
)
from patron.feedback.events import SurveysInvited
from patron.feedback.models import Survey, SurveyInvitation, SurveySource
from patron.feedback.repository import SurveyRepository
from patron.kit.errors import InvalidInputError
from patron.kit.outbox import emit
from patron.members.errors import MemberNotFoundError
from patron.programs import service as program_service
from patron.programs.errors import ProgramNotFoundError
from patron.programs.feedback_settings import SurveyDefinition, SurveyTrigger
from patron.programs.schemas import ActiveProgram

TOKEN_BYTES = 32
LINK_PREFIX = "/s/"
PURCHASE_LOOKBACK_DAYS = 7
"""The purchase job looks this many days behind each survey's delay, so a missed day is
caught up; older purchases are not surveyed any more."""


def _definition_values(definition: SurveyDefinition) -> dict[str, Any]:
    return {
        "name": definition.name,
        "questions": [question.model_dump(mode="json") for question in definition.questions],
        "trigger": definition.trigger,
        "delay_days": definition.delay_days,
        "valid_days": definition.valid_days,
        "points": definition.points,
        "follow_up_detractors": definition.follow_up_detractors,
    }


async def sync_program_surveys(
    session: AsyncSession, *, active: ActiveProgram, now: datetime
) -> list[Survey]:
    """Copy the program file's surveys into the table; returns every survey of the program."""
    repository = SurveyRepository(session)
    rows = {row.key: row for row in await repository.all(active.program_id)}
    in_file = {definition.key: definition for definition in active.program.surveys}
    for key, definition in in_file.items():
        values = _definition_values(definition)
        row = rows.get(key)
        if row is None:
            row = Survey(program_id=active.program_id, key=key, source=SurveySource.PROGRAM)
            row.created_at = now
            _assign(row, values, now, is_active=True)
            if await repository.try_insert_survey(row):
                rows[key] = row
                continue
            raced = await repository.get(active.program_id, key)
            assert raced is not None  # the unique constraint refused the insert
            rows[key] = row = raced
        if row.source is not SurveySource.PROGRAM or _differs(row, values) or not row.is_active:
            row.source = SurveySource.PROGRAM
            _assign(row, values, now, is_active=True)
    for row in rows.values():
        if row.source is SurveySource.PROGRAM and row.key not in in_file and row.is_active:
            row.is_active = False
            row.updated_at = now
    await session.flush()
    return sorted(rows.values(), key=lambda row: row.key)


def _differs(row: Survey, values: dict[str, Any]) -> bool:
    return any(getattr(row, name) != value for name, value in values.items())


def _assign(row: Survey, values: dict[str, Any], now: datetime, *, is_active: bool) -> None:
    for name, value in values.items():
        setattr(row, name, value)
    row.is_active = is_active
    row.updated_at = now


async def list_surveys(session: AsyncSession, *, now: datetime) -> list[schemas.Survey]:
    """Every survey of the active program, by key."""
    active = await program_service.get_active_program(session)
    rows = await sync_program_surveys(session, active=active, now=now)
    return [schemas.Survey.model_validate(row) for row in rows]


async def require_survey(session: AsyncSession, *, key: str, now: datetime) -> Survey:
    """The survey row of the active program (after syncing the program file's surveys)."""
    active = await program_service.get_active_program(session)
    rows = await sync_program_surveys(session, active=active, now=now)
    found = next((row for row in rows if row.key == key), None)
    if found is None:
        raise SurveyNotFoundError(key)
    return found


async def get_survey(session: AsyncSession, *, key: str, now: datetime) -> schemas.Survey:
    return schemas.Survey.model_validate(await require_survey(session, key=key, now=now))


async def create_survey(
    session: AsyncSession, *, data: SurveyDefinition, now: datetime
) -> schemas.Survey:
    """Add an API survey; 409 `survey_exists` when the key is taken."""
    active = await program_service.get_active_program(session)
    rows = await sync_program_surveys(session, active=active, now=now)
    if any(row.key == data.key for row in rows):
        raise SurveyExistsError(data.key)
    row = Survey(program_id=active.program_id, key=data.key, source=SurveySource.API)
    row.created_at = now
    _assign(row, _definition_values(data), now, is_active=True)
    await SurveyRepository(session).add(row)
    return schemas.Survey.model_validate(row)


async def update_survey(
    session: AsyncSession, *, key: str, data: schemas.SurveyUpdate, now: datetime
) -> schemas.Survey:
    """Change the fields present in `data` of an API survey (program surveys: 409)."""
    row = await require_survey(session, key=key, now=now)
    if row.source is SurveySource.PROGRAM:
        raise SurveyDefinedInProgramError(key)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "questions" in changes:
        merged = SurveyDefinition.model_validate(
            {"key": key, "name": row.name, "questions": changes["questions"]}
        )
        changes["questions"] = [q.model_dump(mode="json") for q in merged.questions]
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    await session.flush()
    return schemas.Survey.model_validate(row)


def to_invitation(row: SurveyInvitation, survey_key: str, *, created: bool) -> schemas.Invitation:
    return schemas.Invitation(
        id=row.id,
        survey_key=survey_key,
        member_id=row.member_id,
        token=row.token,
        link=f"{LINK_PREFIX}{row.token}",
        trigger=row.trigger,
        source_ref=row.source_ref,
        store=row.store,
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        created=created,
    )


async def invite(
    session: AsyncSession,
    *,
    survey_key: str,
    member_id: int,
    trigger: SurveyTrigger,
    source_ref: str,
    now: datetime,
    store: str | None = None,
) -> schemas.Invitation:
    """Invite one member to an active survey; idempotent per (survey, member, source_ref).

    Used by the ticket integration with `trigger=ticket_resolved` and
    `source_ref=f"ticket:{ticket_id}"`. Raises `survey_not_found`, `survey_inactive`,
    `member_not_found`.
    """
    survey = await require_survey(session, key=survey_key, now=now)
    return await _invite(session, survey, member_id, trigger, source_ref, store, now)


async def _invite(
    session: AsyncSession,
    survey: Survey,
    member_id: int,
    trigger: SurveyTrigger,
    source_ref: str,
    store: str | None,
    now: datetime,
) -> schemas.Invitation:
    if not survey.is_active:
        raise SurveyInactiveError(survey.key)
    if not 1 <= len(source_ref) <= 128:
        raise InvalidInputError("source_ref must have 1 to 128 characters", field="source_ref")
    repository = SurveyRepository(session)
    existing = await repository.invitation(survey.id, member_id, source_ref)
    if existing is not None:
        return to_invitation(existing, survey.key, created=False)
    member = await repository.member(member_id)
    if member is None or member.program_id != survey.program_id:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    row = SurveyInvitation(
        survey_id=survey.id,
        member_id=member_id,
        token=secrets.token_urlsafe(TOKEN_BYTES),
        trigger=trigger,
        source_ref=source_ref,
        store=store,
        created_at=now,
        expires_at=now + timedelta(days=survey.valid_days),
    )
    if await repository.try_insert_invitation(row):
        invited = SurveysInvited(
            member_id=member_id,
            survey_key=survey.key,
            invitation_id=row.id,
            path=f"{LINK_PREFIX}{row.token}",
            expires_at=row.expires_at,
        )
        await emit(session, invited, program_id=survey.program_id, occurred_at=now)
        return to_invitation(row, survey.key, created=True)
    raced = await repository.invitation(survey.id, member_id, source_ref)
    assert raced is not None  # the unique constraint refused the insert
    return to_invitation(raced, survey.key, created=False)


async def invite_for_trigger(
    session: AsyncSession,
    *,
    trigger: SurveyTrigger,
    member_id: int,
    source_ref: str,
    now: datetime,
) -> list[schemas.Invitation]:
    """Invite the member to every active survey with `trigger` (none: an empty list).

    The ticket integration calls it with `trigger=ticket_resolved`."""
    active = await program_service.get_active_program(session)
    rows = await sync_program_surveys(session, active=active, now=now)
    return [
        await _invite(session, row, member_id, trigger, source_ref, None, now)
        for row in rows
        if row.is_active and row.trigger is trigger
    ]


async def invite_members(
    session: AsyncSession, *, survey_key: str, request: schemas.InvitationRequest, now: datetime
) -> schemas.InvitationBatch:
    """Invite the listed members, or every active member of a tier or of an RFM segment
    (blocked and unknown members of the list are skipped)."""
    chosen = [request.member_ids, request.tier, request.segment]
    if sum(1 for choice in chosen if choice is not None) != 1:
        raise InvalidInputError(
            "give exactly one of member_ids, tier or segment", field="member_ids"
        )
    survey = await require_survey(session, key=survey_key, now=now)
    if not survey.is_active:
        raise SurveyInactiveError(survey.key)
    member_ids = await SurveyRepository(session).active_member_ids(
        survey.program_id, request.member_ids, request.tier, request.segment
    )
    invitations = [
        await _invite(
            session, survey, member_id, SurveyTrigger.MANUAL, request.source_ref, None, now
        )
        for member_id in member_ids
    ]
    created = sum(1 for invitation in invitations if invitation.created)
    return schemas.InvitationBatch(
        created=created, existing=len(invitations) - created, invitations=invitations
    )


async def invite_after_purchases(session: AsyncSession, *, now: datetime) -> int:
    """The daily job: for each active `after_purchase` survey, invite the members whose
    purchase happened `delay_days` ago (looking `PURCHASE_LOOKBACK_DAYS` further back), one
    invitation per purchase (`source_ref` = `purchase:{id}`), skipping members who hold an
    open invitation of that survey. Returns the number of new invitations."""
    active = await program_service.get_active_program(session)
    repository = SurveyRepository(session)
    created = 0
    for survey in await sync_program_surveys(session, active=active, now=now):
        if not survey.is_active or survey.trigger is not SurveyTrigger.AFTER_PURCHASE:
            continue
        end = now - timedelta(days=survey.delay_days)
        start = end - timedelta(days=PURCHASE_LOOKBACK_DAYS)
        purchases = await repository.purchases_between(active.program_id, start, end)
        created += await _invite_purchases(session, survey, purchases, now)
    return created


async def invite_now_after_purchase(
    session: AsyncSession, *, member_id: int, purchase_id: int, now: datetime
) -> int:
    """Invite the member of a purchase to the active ``after_purchase`` surveys without a
    delay (the handler of ``purchases.recorded``); the number of new invitations."""
    return await invite_now_after_purchases(session, [(purchase_id, member_id, now)])


async def invite_now_after_purchases(
    session: AsyncSession, purchases: Sequence[tuple[int, int, datetime]]
) -> int:
    """:func:`invite_now_after_purchase` for many ``(purchase_id, member_id, now)`` in order
    (the program's surveys synced once): a member with two purchases in the list is invited
    once, as if they came one by one."""
    if not purchases:
        return 0
    active = await program_service.get_active_program(session)
    surveys = [
        survey
        for survey in await sync_program_surveys(session, active=active, now=purchases[0][2])
        if survey.is_active
        and survey.trigger is SurveyTrigger.AFTER_PURCHASE
        and survey.delay_days == 0
    ]
    created = 0
    for purchase_id, member_id, now in purchases:
        for survey in surveys:
            created += await _invite_purchases(
                session, survey, [(purchase_id, member_id, None)], now
            )
    return created


async def invites_now_after_purchase(session: AsyncSession) -> bool:
    """Whether :func:`invite_now_after_purchase` could invite anyone: the program file or
    the table has an active ``after_purchase`` survey without a delay (read only; the
    dispatcher's screen, so that a program without one costs its purchases nothing)."""
    try:
        active = await program_service.get_active_program(session)
    except ProgramNotFoundError:
        return True  # the handler itself says what is wrong
    if any(
        definition.trigger is SurveyTrigger.AFTER_PURCHASE and definition.delay_days == 0
        for definition in active.program.surveys
    ):
        return True
    return await SurveyRepository(session).has_own_immediate(
        active.program_id, SurveyTrigger.AFTER_PURCHASE
    )


async def _invite_purchases(
    session: AsyncSession,
    survey: Survey,
    purchases: Sequence[tuple[int, int, str | None]],
    now: datetime,
) -> int:
    repository = SurveyRepository(session)
    created = 0
    for purchase_id, member_id, store in purchases:
        source_ref = f"purchase:{purchase_id}"
        if await repository.invitation(survey.id, member_id, source_ref) is not None:
            continue
        if await repository.has_open_invitation(survey.id, member_id, now):
            continue
        invitation = await _invite(
            session, survey, member_id, SurveyTrigger.AFTER_PURCHASE, source_ref, store, now
        )
        created += int(invitation.created)
    return created


async def list_invitations(
    session: AsyncSession, *, survey_key: str, pending_only: bool, now: datetime, limit: int
) -> list[schemas.Invitation]:
    """Invitations of a survey by id (pending: not answered and not expired), to deliver."""
    survey = await require_survey(session, key=survey_key, now=now)
    rows = await SurveyRepository(session).invitations(
        survey.id, pending_at=now if pending_only else None, limit=limit
    )
    return [to_invitation(row, survey.key, created=False) for row in rows]
