"""Schedule campaigns: which members are due for the latest occurrence of each live
``trigger: schedule`` campaign (the daily job's step, :mod:`patron.worker.campaigns`).

An occurrence (``schedule:2027-01-04``) is due once its moment (the local date at the
schedule's ``at``) has come, inside the campaign's window, at most
:data:`patron.rules.vocabulary.schedules.CATCH_UP_DAYS` days late. Its members are the
program's active members enrolled by the occurrence's moment who were not yet credited every
campaign of that occurrence (and, when every campaign of it names tiers, of those tiers); the
audience, the limits and the budget are checked when each member's campaigns are applied
(:func:`patron.campaigns.triggers.apply_trigger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import CampaignAward
from patron.campaigns.occasions import Due
from patron.members.models import Member, MemberStatus
from patron.rules.vocabulary import Campaign, CampaignStatus, Trigger
from patron.rules.vocabulary.schedules import latest_due, occurrence_name


def occurrences_due(
    campaigns: Sequence[Campaign], timezone: str, now: datetime
) -> dict[tuple[str, datetime], list[Campaign]]:
    """``(occurrence, its moment)`` to the campaigns due for it, of the schedule campaigns
    written to run."""
    groups: dict[tuple[str, datetime], list[Campaign]] = {}
    for campaign in campaigns:
        if campaign.schedule is None or campaign.status not in (
            CampaignStatus.ACTIVE,
            CampaignStatus.SCHEDULED,
        ):
            continue
        starts_at, ends_at = campaign.window.bounds(timezone)
        found = latest_due(
            campaign.schedule, starts_at=starts_at, ends_at=ends_at, timezone=timezone, now=now
        )
        if found is not None:
            day, moment = found
            groups.setdefault((occurrence_name(day), moment), []).append(campaign)
    return groups


def _tiers(campaigns: Sequence[Campaign]) -> set[str] | None:
    """The tiers that may get any of ``campaigns`` when each names its tiers (a prefilter of
    the members read), else ``None``."""
    found: set[str] = set()
    for campaign in campaigns:
        if campaign.audience.tiers is None:
            return None
        found.update(campaign.audience.tiers)
    return found


async def schedules_due(
    session: AsyncSession,
    *,
    program_id: int,
    campaigns: Sequence[Campaign],
    timezone: str,
    now: datetime,
) -> list[tuple[Due, datetime]]:
    """Each member due, with the occurrence's moment (the moment the campaigns are checked
    at), ordered by occurrence and member id."""
    due: list[tuple[Due, datetime]] = []
    for (occurrence, moment), group in sorted(occurrences_due(campaigns, timezone, now).items()):
        keys = [campaign.key for campaign in group]
        credited = (
            select(CampaignAward.member_id)
            .where(
                CampaignAward.program_id == program_id,
                CampaignAward.occurrence == occurrence,
                CampaignAward.campaign_key.in_(keys),
            )
            .group_by(CampaignAward.member_id)
            .having(func.count() >= len(keys))
        )
        query = select(Member.id).where(
            Member.program_id == program_id,
            Member.status == MemberStatus.ACTIVE,
            Member.erased_at.is_(None),
            Member.enrolled_at <= moment,
            Member.id.not_in(credited),
        )
        tiers = _tiers(group)
        if tiers is not None:
            query = query.where(Member.tier_id.in_(sorted(tiers)))
        rows = await session.scalars(query.order_by(Member.id))
        due += [(Due(int(m), Trigger.SCHEDULE, occurrence, tuple(group)), moment) for m in rows]
    return due
