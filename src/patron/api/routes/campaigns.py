"""``/campaigns``: the active program's campaigns, each with its status now, and its figures.

Campaigns are defined in the program file (``PUT /program`` or ``patron program apply``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from patron.api.deps import Now, Reader, ReadSession, Staff
from patron.api.responses import raises
from patron.campaigns import views
from patron.campaigns.errors import CampaignNotFoundError
from patron.campaigns.schemas import Campaign, CampaignStats
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program

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
