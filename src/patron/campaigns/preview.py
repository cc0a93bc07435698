"""The quote's read-only preview of the campaigns a purchase would get: what
:func:`patron.campaigns.service.claim_for_purchase` would apply now, from a read of the
counters, and the hints of the campaigns still open. Never writes."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.repository import CampaignRepository
from patron.campaigns.service import NOTHING, CampaignOutcome, outcome_of, purchase_campaigns
from patron.programs.schema import Program
from patron.rules.campaigns import (
    CampaignCheck,
    campaign_hints,
    check_campaigns,
    limit_reason,
    select,
    with_usage,
)
from patron.rules.context import PurchaseContext


async def preview_for_quote(
    session: AsyncSession,
    *,
    program_id: int,
    program: Program,
    context: PurchaseContext,
    member_id: int | None,
) -> CampaignOutcome:
    """What :func:`claim_for_purchase` would apply now, from a read of the counters (nothing
    is claimed, so a purchase racing for the last of a budget may still miss it)."""
    campaigns = purchase_campaigns(program)
    if not campaigns or member_id is None:
        return NOTHING
    repository = CampaignRepository(session)
    language = program.program.default_language.value
    checks = check_campaigns(
        program, campaigns, context, has_member=True, language=language, usage={}
    )
    limited = [(c.key, c.period_key) for c in checks if c.period_key is not None]
    usage = await repository.member_usage(member_id, limited) if limited else {}
    checks = with_usage(checks, usage)
    counters = await repository.counters(program_id, [c.key for c in checks])
    refused: dict[str, str] = {
        check.key: "instant prize: drawn when the purchase is recorded"
        for check in checks
        if check.campaign.prize is not None and check.qualifies
    }
    while True:
        selection = select(checks, refused)
        for check in selection.applied:
            why = _would_refuse(check, counters.get(check.key, (0, 0)))
            if why is not None:
                refused[check.key] = why
                break
        else:
            break
    outcome = outcome_of(checks, selection, [])
    open_ = [
        check
        for check in checks
        if limit_reason(check.campaign, usage) is None
        and _would_refuse(check, counters.get(check.key, (0, 0))) is None
    ]
    return replace(outcome, hints=tuple(campaign_hints(program, open_, context)))


def _would_refuse(check: CampaignCheck, counter: tuple[int, int]) -> str | None:
    uses, spent = counter
    limits, budget = check.campaign.limits, check.campaign.budget
    if limits is not None and limits.total is not None and uses + 1 > limits.total:
        return f"usage limit reached: applied {uses} of {limits.total} times"
    if budget is not None and budget.points is not None and spent + check.points > budget.points:
        left = budget.points - spent
        return f"budget used up: {left} of {budget.points} points left, {check.points} needed"
    return None
