"""A member's open surveys, answered where the member is already known (the portal) rather
than through the invitation's link: the same form and the same single submission as the link
(:mod:`~patron.feedback.answers`), reached by the invitation's id, which is refused unless
the invitation is the member's. The survey's points are earned once per survey and member,
whichever way it is answered (the ledger key of :func:`~patron.feedback.answers.submit`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.answers import Submitted, SurveyForm, open_form, submit
from patron.feedback.errors import InvitationNotFoundError
from patron.feedback.models import SurveyInvitation
from patron.feedback.repository import SurveyRepository

MAX_OPEN = 20


@dataclass(frozen=True)
class OpenSurvey:
    """An invitation the member can answer now; ``points``: what answering it earns (0 when
    the survey gives none or the member already earned them)."""

    invitation_id: int
    survey_name: str
    questions: int
    points: int
    expires_at: datetime


async def open_surveys(
    session: AsyncSession, *, member_id: int, now: datetime, limit: int = MAX_OPEN
) -> list[OpenSurvey]:
    """The member's invitations not answered and not expired, soonest to expire first."""
    repository = SurveyRepository(session)
    found: list[OpenSurvey] = []
    for invitation, survey in await repository.open_invitations_of(member_id, now, limit):
        earned = survey.points > 0 and await repository.rewarded_response_exists(
            survey.id, member_id
        )
        points = 0 if earned else survey.points
        questions = len(survey.questions)
        found.append(
            OpenSurvey(invitation.id, survey.name, questions, points, invitation.expires_at)
        )
    return found


async def _members(session: AsyncSession, member_id: int, invitation_id: int) -> SurveyInvitation:
    invitation = await SurveyRepository(session).invitation_by_id(invitation_id)
    if invitation is None or invitation.member_id != member_id:
        raise InvitationNotFoundError()  # another member's is as unknown as none
    return invitation


async def member_form(
    session: AsyncSession, *, member_id: int, invitation_id: int, now: datetime
) -> SurveyForm:
    """The form of the member's open invitation; `invitation_not_found` for none or another
    member's, `invitation_used` or `invitation_expired` as for the link."""
    invitation = await _members(session, member_id, invitation_id)
    return await open_form(session, token=invitation.token, now=now)


async def member_submit(
    session: AsyncSession,
    *,
    member_id: int,
    invitation_id: int,
    values: Mapping[str, str],
    now: datetime,
) -> Submitted:
    """Store the member's answers once, as the link's submission does (its points once)."""
    invitation = await _members(session, member_id, invitation_id)
    return await submit(session, token=invitation.token, values=values, now=now)
