"""``/campaigns``: the active program's campaigns, each with its status now, and its figures.

Campaigns are defined in the program file (``PUT /program`` or ``patron program apply``);
``POST`` and ``PATCH`` edit that file's ``campaigns`` section and apply it as a new program
version, exactly as ``PUT /program`` would (the answer carries the version and its diff)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, status

from patron.api.deps import Admin, Now, Reader, ReadSession, Staff, WriteSession
from patron.api.responses import raises
from patron.campaigns import editing, raffles, views
from patron.campaigns.errors import (
    CampaignExistsError,
    CampaignNotFoundError,
    NotARaffleError,
    RaffleNotEndedError,
)
from patron.campaigns.schemas import Campaign, CampaignChange, CampaignStats, Raffle, RaffleDraw
from patron.kit.errors import InvalidInputError
from patron.programs.errors import ProgramInvalidError, ProgramNotFoundError
from patron.programs.schemas import AppliedProgram
from patron.programs.service import DEFAULT_KEY, get_active_program

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Key = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


@router.get("", response_model=list[Campaign])
@raises(ProgramNotFoundError)
async def list_campaigns(session: ReadSession, _: Reader, now: Now) -> list[Campaign]:
    """Every campaign of the active program, in file order, with its status now."""
    active = await get_active_program(session)
    return await views.list_campaigns(session, active=active, now=now)


@router.get("/{key}", response_model=Campaign)
@raises(ProgramNotFoundError, CampaignNotFoundError)
async def get_campaign(key: Key, session: ReadSession, _: Reader, now: Now) -> Campaign:
    """One campaign: its definition, status now, usage and budget left."""
    active = await get_active_program(session)
    return await views.get_campaign(session, active=active, key=key, now=now)


@router.get("/{key}/stats", response_model=CampaignStats)
@raises(ProgramNotFoundError, CampaignNotFoundError)
async def campaign_stats(key: Key, session: ReadSession, _: Staff, now: Now) -> CampaignStats:
    """Participants, applications, points spent, budget left and the revenue of the purchases
    the campaign applied to."""
    active = await get_active_program(session)
    return await views.campaign_stats(session, active=active, key=key, now=now)


@router.get("/{key}/raffle", response_model=Raffle)
@raises(ProgramNotFoundError, CampaignNotFoundError, NotARaffleError)
async def raffle(key: Key, session: ReadSession, _: Staff, now: Now) -> Raffle:
    """A raffle campaign's entries and the SHA-256 of its committed seed; once drawn
    (``patron campaigns draw``), the seed, the winners and the entries they were drawn from
    (422 ``not_a_raffle`` for a campaign without ``raffle:``)."""
    active = await get_active_program(session)
    return await raffles.raffle_view(session, active=active, key=key, now=now)


@router.post("/{key}/draw", response_model=Raffle)
@raises(ProgramNotFoundError, CampaignNotFoundError, NotARaffleError, RaffleNotEndedError)
async def draw_raffle(
    key: Key,
    session: WriteSession,
    principal: Admin,
    now: Now,
    data: Annotated[RaffleDraw | None, Body()] = None,
) -> Raffle:
    """Draw a raffle's winners from its committed seed once its window is over, record them
    and give them the raffle's prize, as ``patron campaigns draw``; drawn before, the recorded
    draw is answered (whatever ``winners`` says) and nothing changes. 409
    ``raffle_not_ended`` before the window's end."""
    active = await get_active_program(session)
    return await raffles.draw_raffle(
        session,
        active=active,
        key=key,
        winners=None if data is None else data.winners,
        now=now,
        drawn_by=f"key:{principal.key_id}",
    )


CampaignBody = Annotated[
    dict[str, Any],
    Body(
        description="The campaign as the program file writes it (docs/campaigns.md), as JSON.",
        examples=[
            {
                "key": "spring-bonus",
                "name": {"en": "Spring bonus"},
                "window": {"start": "2027-03-01", "end": "2027-03-31"},
                "effect": {"bonus_points": 100},
                "budget": {"points": 10000},
            }
        ],
    ),
]
PatchBody = Annotated[
    dict[str, Any],
    Body(
        description="A JSON merge patch (RFC 7386) of the campaign as written: null removes "
        'a field (back to its default). Pause: {"status": "paused"}.',
        examples=[{"status": "paused"}],
    ),
]


async def _change(
    session: WriteSession, applied: AppliedProgram, key: str, now: datetime
) -> CampaignChange:
    active = await get_active_program(session)
    campaign = await views.get_campaign(session, active=active, key=key, now=now)
    return CampaignChange(campaign=campaign, program=applied)


@router.post("", response_model=CampaignChange, status_code=status.HTTP_201_CREATED)
@raises(ProgramNotFoundError, ProgramInvalidError, CampaignExistsError, InvalidInputError)
async def create_campaign(
    data: CampaignBody, session: WriteSession, principal: Admin, now: Now
) -> CampaignChange:
    """Add a campaign to the program: a new program version (422 ``program_invalid`` with
    every problem, 409 ``campaign_exists``)."""
    applied = await editing.create_campaign(
        session, program_key=DEFAULT_KEY, data=data, created_by=f"api:{principal.name}"
    )
    return await _change(session, applied, str(data["key"]), now)


@router.patch("/{key}", response_model=CampaignChange)
@raises(ProgramNotFoundError, ProgramInvalidError, CampaignNotFoundError, InvalidInputError)
async def change_campaign(
    key: Key, patch: PatchBody, session: WriteSession, principal: Admin, now: Now
) -> CampaignChange:
    """Change a campaign (pause it, move its window, raise its budget...): a new program
    version, or ``unchanged`` when the patch changes nothing."""
    applied = await editing.change_campaign(
        session, program_key=DEFAULT_KEY, key=key, patch=patch, created_by=f"api:{principal.name}"
    )
    return await _change(session, applied, key, now)
