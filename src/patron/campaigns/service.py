"""Campaigns in the purchase path: claim what a purchase qualifies for, give claims back,
record the applications (the quote's read-only preview: :mod:`patron.campaigns.preview`).
Never commits.

:func:`claim_for_purchase` runs in the purchase's unit of work after the member's account is
locked: the pure part (:mod:`patron.rules.campaigns`) says which live campaigns qualify and
what each adds; each campaign the stacking policies keep is then *claimed* (its member usage
row and its counter row, each one atomic upsert, :mod:`patron.campaigns.repository`). A
refused claim (a budget or a limit used up by someone else in the meantime) leaves the
campaign out, the claims of that pass are given back, and the policies choose again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.events import CampaignApplied, CampaignBudgetAlert
from patron.campaigns.money_budget import NO_MONEY, Money, money_alert, money_of
from patron.campaigns.prizes import PrizeDraws
from patron.campaigns.raffles import add_entries
from patron.campaigns.repository import Applied, CampaignRepository
from patron.kit.money import format_amount
from patron.kit.outbox import emit
from patron.programs.schema import Program
from patron.rules.campaigns import (
    CampaignCheck,
    Selection,
    check_campaigns,
    select,
    with_usage,
)
from patron.rules.context import PurchaseContext
from patron.rules.engine import DeferredAction
from patron.rules.hints import Hint
from patron.rules.trace import BreakdownRow
from patron.rules.vocabulary import Campaign, Raffle, Trigger
from patron.rules.vocabulary.campaign_limits import alert_share
from patron.rules.vocabulary.prizes import raffle_entries


@dataclass(frozen=True, slots=True)
class Claim:
    key: str
    points: int
    counter: bool  # the campaign's counter row was counted
    period_key: str | None  # the member's usage row of this period was counted
    spent: int | None = None  # the campaign's points spent with this claim (a budget's)
    budget: int | None = None  # the campaign's budget in points
    alert_at: int | None = None  # the points spent from which the budget's alert is due
    money: int = 0  # the cashback (minor units) claimed from the money budget
    money_spent: int | None = None  # the campaign's money spent with this claim
    money_budget: int | None = None  # the campaign's money budget (minor units)
    money_alert_at: int | None = None  # the money spent from which its alert is due
    currency: str = ""  # the program's, for the money alert
    cashback: int = 0  # what its credit_wallet effects will credit for this purchase
    rewards: tuple[str, ...] = ()  # the reward codes its issue_reward effects give a coupon of


@dataclass(frozen=True, slots=True)
class CampaignOutcome:
    """What the campaigns did to one purchase: ``points`` added, breakdown ``rows`` (one per
    campaign applied or left out, ``rule_id`` ``campaign:<key>``), the ``claims`` made and the
    applied campaigns' deferred effects."""

    points: int = 0
    rows: tuple[BreakdownRow, ...] = ()
    claims: tuple[Claim, ...] = ()
    deferred: tuple[DeferredAction, ...] = field(default=())
    hints: tuple[Hint, ...] = ()  # the quote's: campaigns that almost applied
    draws: tuple[str, ...] = ()  # every-N-th prize campaigns this purchase was counted by
    entries: tuple[tuple[str, int], ...] = ()  # raffle entries earned: (campaign key, entries)

    @property
    def applied(self) -> tuple[tuple[str, int], ...]:
        return tuple((claim.key, claim.points) for claim in self.claims)


NOTHING = CampaignOutcome()


def outcome_of(
    checks: list[CampaignCheck],
    selection: Selection,
    claims: list[Claim],
    draws: PrizeDraws | None = None,
) -> CampaignOutcome:
    return CampaignOutcome(
        points=selection.points,
        draws=tuple(draws.counted) if draws is not None else (),
        rows=tuple(selection.rows(checks)),
        claims=tuple(claims),
        deferred=tuple(
            DeferredAction(f"campaign:{key}", effect) for key, effect in selection.deferred()
        ),
    )


def purchase_campaigns(program: Program) -> tuple[Campaign, ...]:
    """The program's campaigns that a purchase triggers."""
    return tuple(c for c in program.campaigns if c.trigger is Trigger.PURCHASE)


async def _checks(
    repository: CampaignRepository,
    program: Program,
    campaigns: Sequence[Campaign],
    context: PurchaseContext,
    member_id: int,
) -> list[CampaignCheck]:
    """The live campaigns checked; the member's usage is read (one query) only when a campaign
    with a per-member limit otherwise qualifies."""
    language = program.program.default_language.value
    checks = check_campaigns(
        program, campaigns, context, has_member=True, language=language, usage={}
    )
    limited = [(c.key, c.period_key) for c in checks if c.period_key is not None and c.qualifies]
    if not limited:
        return checks
    return with_usage(checks, await repository.member_usage(member_id, limited))


async def _claim(
    repository: CampaignRepository,
    program_id: int,
    member_id: int,
    check: CampaignCheck,
    money: Money = NO_MONEY,
) -> Claim | str:
    """Claim one campaign for the purchase: the claim, or why it was refused."""
    campaign = check.campaign
    limits, budget = campaign.limits, campaign.budget
    period_key: str | None = None
    if limits is not None and limits.per_member is not None and check.period_key is not None:
        if not await repository.claim_member(
            member_id, check.key, check.period_key, limits.per_member
        ):
            return f"limit reached: {limits.per_member} per member per {limits.period.value}"
        period_key = check.period_key
    total = limits.total if limits is not None else None
    budget_points = budget.points if budget is not None else None
    budget_money = money.budgets.get(check.key)
    cost = money.costs.get(check.key, 0)
    counted = total is not None or budget is not None
    spent: tuple[int, int] | None = None
    if counted:
        spent = await repository.claim_counter(
            program_id, check.key, check.points, total, budget_points, cost, budget_money
        )
        if spent is None:
            if period_key is not None:
                await repository.release_member(member_id, check.key, period_key)
            return await _refusal(repository, program_id, check, total, budget_points, money)
    return Claim(
        check.key,
        check.points,
        counted,
        period_key,
        spent=spent[0] if spent is not None and budget_points is not None else None,
        budget=budget_points,
        alert_at=budget.alert_at if budget is not None else None,
        money=cost if counted else 0,
        cashback=cost,
        money_spent=spent[1] if spent is not None and budget_money is not None else None,
        money_budget=budget_money,
        money_alert_at=(
            alert_share(budget_money, budget.percent)
            if budget is not None and budget_money is not None
            else None
        ),
        currency=money.currency,
        rewards=tuple(campaign.rewards_issued),
    )


async def alert_spent(
    session: AsyncSession,
    *,
    program_id: int,
    claims: Iterable[Claim],
    now: datetime,
) -> None:
    """Emit ``campaigns.budget_alert`` (``spent``) for each claim that took its campaign's
    spending across ``budget.alert_percent``: once per campaign (a later crossing, after
    points were given back, emits nothing). Called for claims that stand: a new purchase's, a
    trigger's credits."""
    repository = CampaignRepository(session)
    for claim in claims:
        spent, due, budget = claim.spent, claim.alert_at, claim.budget
        crossed = spent is not None and due is not None and spent - claim.points < due <= spent
        if crossed and await repository.mark_alert(program_id, claim.key, "spent", now):
            assert spent is not None
            assert budget is not None
            alert = CampaignBudgetAlert(
                campaign_key=claim.key,
                alert="spent",
                budget_points=budget,
                spent_points=spent,
                percent_spent=spent * 100 // budget,
            )
            await emit(session, alert, program_id=program_id, occurred_at=now)
        money = money_alert(
            claim.key,
            spent=claim.money_spent,
            cost=claim.money,
            due=claim.money_alert_at,
            budget=claim.money_budget,
            currency=claim.currency,
        )
        if money is not None and await repository.mark_alert(
            program_id, claim.key, "money_spent", now
        ):
            await emit(session, money, program_id=program_id, occurred_at=now)


async def _refusal(
    repository: CampaignRepository,
    program_id: int,
    check: CampaignCheck,
    total: int | None,
    budget: int | None,
    money: Money,
) -> str:
    uses, spent = (await repository.counters(program_id, [check.key])).get(check.key, (0, 0))
    if total is not None and uses + 1 > total:
        return f"usage limit reached: applied {uses} of {total} times"
    if budget is not None and spent + check.points > budget:
        return f"budget used up: {budget - spent} of {budget} points left, {check.points} needed"
    money_budget = money.budgets.get(check.key, 0)
    used = (await repository.money_spent(program_id, [check.key])).get(check.key, 0)
    left, need = format_amount(money_budget - used, money.currency), money.costs.get(check.key, 0)
    return (
        f"money budget used up: {left} of {format_amount(money_budget, money.currency)} "
        f"{money.currency} left, {format_amount(need, money.currency)} needed"
    )


async def give_back(
    session: AsyncSession, *, program_id: int, member_id: int, outcome: CampaignOutcome
) -> None:
    """Undo the claims of ``outcome`` (in the same transaction)."""
    repository = CampaignRepository(session)
    for key in outcome.draws:
        await repository.release_draw(program_id, key)
    for claim in outcome.claims:
        if claim.counter:
            await repository.release_counter(program_id, claim.key, claim.points, claim.money)
        if claim.period_key is not None:
            await repository.release_member(member_id, claim.key, claim.period_key)


async def claim_for_purchase(
    session: AsyncSession,
    *,
    program_id: int,
    program: Program,
    context: PurchaseContext,
    member_id: int | None,
    reference: str = "",
    wallet_paid: int = 0,
) -> CampaignOutcome:
    """Apply the purchase campaigns to a member's purchase (see the module docstring);
    ``reference`` is the purchase's external id (an instant prize's draw reads it);
    ``wallet_paid`` what the wallet pays of it (the cashback is on the rest)."""
    if not program.campaigns or member_id is None:
        return NOTHING
    repository = CampaignRepository(session)
    checks = await _checks(repository, program, purchase_campaigns(program), context, member_id)
    draws = PrizeDraws(reference)
    money = money_of(program, checks, context.total - context.shipping - wallet_paid)
    selection, claims = await claim_selected(session, program_id, member_id, checks, draws, money)
    outcome = outcome_of(checks, selection, claims, draws)
    entries = tuple(
        (check.key, count)
        for check in selection.applied
        if check.campaign.raffle is not None
        and (count := _entries(program, check.campaign.raffle, context.total)) > 0
    )
    return replace(outcome, entries=entries)


def _entries(program: Program, raffle: Raffle, total: int) -> int:
    per_amount = None if raffle.per_amount is None else program.minor(raffle.per_amount)
    return raffle_entries(raffle, total, per_amount)


async def claim_selected(
    session: AsyncSession,
    program_id: int,
    member_id: int,
    checks: list[CampaignCheck],
    draws: PrizeDraws | None = None,
    money: Money = NO_MONEY,
) -> tuple[Selection, list[Claim]]:
    """Claim what the stacking policies keep of ``checks``; a refused claim (or an instant
    prize not won, drawn by ``draws``) leaves its campaign out, gives the pass's claims back
    and lets the policies choose again."""
    repository = CampaignRepository(session)
    refused: dict[str, str] = {}
    while True:
        selection = select(checks, refused)
        claims: list[Claim] = []
        for check in selection.applied:
            if draws is not None and check.campaign.prize is not None:
                lost = await draws.lost(session, program_id, check)
                if lost is not None:
                    refused[check.key] = lost
                    break
            claimed = await _claim(repository, program_id, member_id, check, money)
            if isinstance(claimed, str):
                refused[check.key] = claimed
                break
            claims.append(claimed)
        else:
            return selection, claims
        await give_back(
            session,
            program_id=program_id,
            member_id=member_id,
            outcome=CampaignOutcome(claims=tuple(claims)),
        )


async def record_applications(
    session: AsyncSession,
    *,
    program_id: int,
    purchase_id: int,
    member_id: int,
    outcome: CampaignOutcome,
    revenue: int,
    occurred_at: datetime,
    now: datetime,
    currency: str = "",
) -> None:
    """One ``campaign_applications`` row per campaign applied to the purchase, the budget
    alerts its claims made due, and a ``campaigns.applied`` per campaign."""
    if outcome.claims:
        await CampaignRepository(session).add_applications(
            program_id,
            purchase_id,
            member_id,
            [Applied(c.key, c.points, c.counter, c.money, c.period_key) for c in outcome.claims],
            revenue,
            occurred_at,
            now,
        )
        await alert_spent(session, program_id=program_id, claims=outcome.claims, now=now)
        for claim in outcome.claims:
            applied = CampaignApplied(
                campaign_key=claim.key,
                member_id=member_id,
                trigger="purchase",
                occurrence=f"purchase:{purchase_id}",
                points=claim.points,
                purchase_id=purchase_id,
                cashback=format_amount(claim.cashback, currency or claim.currency),
                currency=currency or claim.currency,
                rewards=list(claim.rewards),
            )
            await emit(session, applied, program_id=program_id, occurred_at=now)
    if outcome.entries:
        await add_entries(
            session,
            program_id=program_id,
            purchase_id=purchase_id,
            member_id=member_id,
            entries=outcome.entries,
            now=now,
        )
