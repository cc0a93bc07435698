"""The campaigns of the active program as the API and the CLI show them: definitions with
their status now and budget left (:func:`list_campaigns`, :func:`get_campaign`) and figures
(:func:`campaign_stats`). Reads only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.errors import CampaignNotFoundError
from patron.campaigns.models import CampaignCounter
from patron.campaigns.prizes import drawn_campaigns, revealed_seed
from patron.campaigns.repository import CampaignRepository
from patron.campaigns.schemas import (
    Campaign,
    CampaignBudget,
    CampaignEffect,
    CampaignLimits,
    CampaignNames,
    CampaignStats,
    CampaignWindow,
)
from patron.campaigns.totals import CampaignTotalsRepository
from patron.kit.money import format_amount
from patron.programs.schema import Program
from patron.programs.schemas import ActiveProgram
from patron.rules.campaigns import campaign_effect
from patron.rules.vocabulary import Campaign as Definition
from patron.rules.vocabulary.campaign_limits import Budget


def _moment(value: date) -> str:
    return value.isoformat(" ", "minutes") if isinstance(value, datetime) else value.isoformat()


def _budget(program: Program, budget: Budget, spent: int, money: int) -> CampaignBudget:
    currency = program.currency
    points = budget.points
    found = CampaignBudget(
        points=points, spent=spent, left=None if points is None else max(points - spent, 0)
    )
    if budget.money is None:
        return found
    minor = program.minor(budget.money)
    return found.model_copy(
        update={
            "money": format_amount(minor, currency),
            "money_spent": format_amount(money, currency),
            "money_left": format_amount(max(minor - money, 0), currency),
        }
    )


def _read(
    active: ActiveProgram,
    definition: Definition,
    counter: tuple[int, int],
    now: datetime,
    seed: tuple[str | None, str | None] = (None, None),
    draws: int = 0,
    money: int = 0,
) -> Campaign:
    program = active.program
    timezone = program.program.timezone
    starts_at, ends_at = definition.window.bounds(timezone)
    kind, value = campaign_effect(definition)
    uses, spent = counter
    limits = definition.limits
    budget = definition.budget
    dumped: dict[str, Any] = definition.model_dump(mode="json", exclude_none=True)
    return Campaign(
        key=definition.key,
        name=definition.name.pick(program.program.default_language.value),
        names=CampaignNames(**definition.name.model_dump()),
        status=definition.status_at(now, timezone).value,
        written_status=definition.status.value,
        window=CampaignWindow(
            start=_moment(definition.window.start),
            end=_moment(definition.window.end),
            timezone=timezone,
            starts_at=starts_at.astimezone(UTC),
            ends_at=ends_at.astimezone(UTC),
        ),
        trigger=definition.trigger.value,
        event=definition.event,
        occasion=dumped.get("occasion"),
        referral_side=dumped.get("referral_side"),
        audience_tiers=definition.audience.tiers,
        conditions=dumped.get("when", {}),
        effect=CampaignEffect(type=kind.value, value=str(value)),
        deferred=dumped.get("deferred", []),
        priority=definition.priority,
        stacking=definition.stacking.value,
        limits=None
        if limits is None
        else CampaignLimits(
            per_member=limits.per_member, period=limits.period.value, total=limits.total
        ),
        budget=None if budget is None else _budget(program, budget, spent, money),
        uses=uses,
        description=definition.description,
        program_version=active.version,
        prize=dumped.get("prize"),
        raffle=dumped.get("raffle"),
        draws=draws,
        seed_hash=seed[0],
        seed=seed[1],
    )


async def _seed(
    session: AsyncSession, active: ActiveProgram, definition: Definition, now: datetime
) -> tuple[str | None, str | None]:
    return await revealed_seed(
        session,
        program_id=active.program_id,
        campaign=definition,
        timezone=active.program.program.timezone,
        now=now,
    )


async def _draws(session: AsyncSession, program_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(CampaignCounter.campaign_key, CampaignCounter.draws).where(
            CampaignCounter.program_id == program_id, CampaignCounter.draws > 0
        )
    )
    return {str(key): int(draws) for key, draws in rows}


async def list_campaigns(
    session: AsyncSession, *, active: ActiveProgram, now: datetime
) -> list[Campaign]:
    """The active program's campaigns in file order."""
    campaigns = active.program.campaigns
    repository = CampaignRepository(session)
    counters = await repository.counters(active.program_id, [c.key for c in campaigns])
    money = await repository.money_spent(active.program_id, [c.key for c in campaigns])
    draws = await _draws(session, active.program_id) if drawn_campaigns(active.program) else {}
    return [
        _read(
            active,
            c,
            counters.get(c.key, (0, 0)),
            now,
            await _seed(session, active, c, now),
            draws.get(c.key, 0),
            money.get(c.key, 0),
        )
        for c in campaigns
    ]


def _definition(active: ActiveProgram, key: str) -> Definition:
    found = active.program.campaign(key)
    if found is None:
        raise CampaignNotFoundError(f"the active program has no campaign {key!r}", field="key")
    return found


async def get_campaign(
    session: AsyncSession, *, active: ActiveProgram, key: str, now: datetime
) -> Campaign:
    definition = _definition(active, key)
    repository = CampaignRepository(session)
    counters = await repository.counters(active.program_id, [key])
    money = (await repository.money_spent(active.program_id, [key])).get(key, 0)
    seed = await _seed(session, active, definition, now)
    draws = (await _draws(session, active.program_id)).get(key, 0) if seed[0] else 0
    return _read(active, definition, counters.get(key, (0, 0)), now, seed, draws, money)


async def campaign_stats(
    session: AsyncSession, *, active: ActiveProgram, key: str, now: datetime
) -> CampaignStats:
    definition = _definition(active, key)
    repository = CampaignRepository(session)
    queries = CampaignTotalsRepository(session)
    totals = await queries.totals(active.program_id, key)
    currency = active.program.currency
    budget = definition.budget.points if definition.budget is not None else None
    budget_money = (
        active.program.minor(definition.budget.money)
        if definition.budget is not None and definition.budget.money is not None
        else None
    )
    claimed = (await repository.money_spent(active.program_id, [key])).get(key, 0)
    given = await queries.cashback_given(active.program_id, key)
    back = await queries.given_back(active.program_id, key)
    net = totals.points - back.points
    return CampaignStats(
        key=key,
        status=definition.status_at(now, active.program.program.timezone).value,
        participants=totals.participants,
        applications=totals.applications,
        points_spent=totals.points,
        budget_points=budget,
        budget_left=None if budget is None else max(budget - net, 0),
        usage_limit=definition.limits.total if definition.limits is not None else None,
        money_spent=format_amount(given, currency),
        revenue=format_amount(totals.revenue, currency),
        currency=currency,
        budget_money=None if budget_money is None else format_amount(budget_money, currency),
        budget_money_spent=None if budget_money is None else format_amount(claimed, currency),
        budget_money_left=(
            None
            if budget_money is None
            else format_amount(max(budget_money - claimed, 0), currency)
        ),
        points_given_back=back.points,
        points_net=net,
        money_given_back=format_amount(back.money, currency),
        uses_given_back=back.uses,
    )
