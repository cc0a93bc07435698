"""Purchase campaigns in a replay: which campaigns each member purchase gets, as the per-event
path (:func:`patron.campaigns.service.claim_for_purchase`) decides when the purchases are
recorded one by one in time order.

Given every purchase's tier, the facts (:mod:`.campaign_frame`) say which campaigns qualify
and what each adds. Then:

* **Vectorised** when no projected campaign has a per-member limit, a global limit, a budget
  or an every-N-th prize: each purchase's campaigns follow from its own facts, and the
  stacking policies (:func:`patron.rules.campaigns.select`) are column arithmetic
  (:func:`_stack`).
* **Ordered** otherwise: those make a purchase's campaigns depend on the earlier purchases
  (the member's uses in the period, the uses and points spent so far, the count of draws), so
  the purchases that such a campaign qualifies for are passed in time order (the others are
  stacked as above: they neither read nor change a counter), each through the
  per-event engine's own :func:`~patron.rules.campaigns.select` and the claims of
  :func:`patron.campaigns.service.claim_selected` (an every-N-th draw, the per-member limit,
  then the global limit and the budget; a refused claim leaves the campaign out and the
  policies choose again). Only qualifying purchases are visited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from patron.rules.campaigns import CampaignCheck, select
from patron.rules.vocabulary import Campaign, Stacking
from patron.simulator.campaign_frame import CampaignFacts


def ordered(campaign: Campaign) -> bool:
    """Whether the campaign's use depends on earlier purchases: a per-member or global
    limit, a budget, an every-N-th prize."""
    limits = campaign.limits
    if campaign.budget is not None or (
        limits is not None and (limits.per_member is not None or limits.total is not None)
    ):
        return True
    return campaign.prize is not None and campaign.prize.every is not None


def needs_order(campaigns: tuple[Campaign, ...]) -> bool:
    """Whether some purchase's campaigns depend on earlier purchases (the module docstring)."""
    return any(ordered(campaign) for campaign in campaigns)


@dataclass(frozen=True, slots=True)
class CampaignRun:
    """``applied[i][c]``: campaign ``c`` applied to purchase ``i``; ``points[i]``: what the
    campaigns added to it; ``exhausted_at[c]``: the time (microseconds) of the first purchase
    the campaign's points budget refused, or ``None`` (``money_exhausted_at[c]``: its money
    budget); ``ordered``: whether the ordered pass ran."""

    applied: np.ndarray
    points: np.ndarray
    exhausted_at: tuple[int | None, ...]
    ordered: bool
    money_exhausted_at: tuple[int | None, ...] = ()


def _stack(
    campaigns: tuple[Campaign, ...], qualifies: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """:func:`patron.rules.campaigns.select` on every row at once (no refusals)."""
    count = qualifies.shape[0]
    rows = np.arange(count)

    def of(policy: Stacking) -> np.ndarray:
        mask = np.asarray([campaign.stacking is policy for campaign in campaigns], dtype=bool)
        found: np.ndarray = qualifies & mask
        return found

    applied = of(Stacking.STACKABLE)
    best = of(Stacking.BEST_OF)
    winner = np.where(best, points, np.iinfo(np.int64).min).argmax(axis=1)  # first of ties
    has = best.any(axis=1)
    applied[rows[has], winner[has]] = True
    first = of(Stacking.PRIORITY)
    has = first.any(axis=1)
    applied[rows[has], first.argmax(axis=1)[has]] = True
    exclusive = of(Stacking.EXCLUSIVE)
    has = exclusive.any(axis=1)
    applied[has] = False
    applied[rows[has], exclusive.argmax(axis=1)[has]] = True
    return applied


class _Counters:
    """The counters the per-event path keeps in ``campaign_counters``,
    ``campaign_member_usage`` and the draws, for the ordered pass."""

    def __init__(self, count: int) -> None:
        self.uses = [0] * count
        self.spent = [0] * count
        self.money = [0] * count
        self.draws = [0] * count
        self.usage: dict[tuple[str, int, str], int] = defaultdict(int)
        self.exhausted: list[int | None] = [None] * count
        self.money_exhausted: list[int | None] = [None] * count
        # select's answers by (qualifying columns, points of the best_of ones)
        self.selections: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}


def _cost(facts: CampaignFacts, row: int, column: int) -> int:
    """The purchase's cashback for a campaign with a money budget (0 for the others)."""
    costs = facts.cost[column] if facts.cost else None
    return 0 if costs is None else int(costs[row])


def _refusal(
    facts: CampaignFacts, row: int, column: int, points: int, counters: _Counters
) -> str | None:
    """Why the global limit, the points budget or the money budget refuses the claim (in
    the order of the counter's claim), or ``None``; a budget's first refusal is noted."""
    campaign = facts.campaigns[column]
    limits, budget = campaign.limits, campaign.budget
    if limits is not None and limits.total is not None and counters.uses[column] + 1 > limits.total:
        return "usage limit reached"
    if (
        budget is not None
        and budget.points is not None
        and counters.spent[column] + points > budget.points
    ):
        if counters.exhausted[column] is None:
            counters.exhausted[column] = int(facts.at[row])
        return "budget used up"
    money = facts.money_budgets[column] if facts.money_budgets else None
    if money is not None and counters.money[column] + _cost(facts, row, column) > money:
        if counters.money_exhausted[column] is None:
            counters.money_exhausted[column] = int(facts.at[row])
        return "money budget used up"
    return None


def _count(facts: CampaignFacts, row: int, column: int, counters: _Counters) -> None:
    """Count the claim of campaign ``column`` for purchase ``row``."""
    counters.uses[column] += 1
    counters.spent[column] += int(facts.points[row, column])
    counters.money[column] += _cost(facts, row, column)
    periods = facts.periods[column]
    if periods is not None:
        counters.usage[(str(facts.member[row]), column, periods[row])] += 1


def _held_back(
    facts: CampaignFacts, row: int, column: int, member: str, counters: _Counters
) -> bool:
    """Whether the member's per-member limit holds the campaign back for purchase ``row``."""
    periods = facts.periods[column]
    limits = facts.campaigns[column].limits
    if periods is None or limits is None or limits.per_member is None:
        return False
    return counters.usage[(member, column, periods[row])] >= limits.per_member


def _selected(
    facts: CampaignFacts, row: int, columns: tuple[int, ...], counters: _Counters
) -> tuple[int, ...]:
    """What :func:`patron.rules.campaigns.select` applies of the qualifying ``columns``, in
    evaluation order. It reads the columns' stacking and the points of the ``best_of`` ones
    only, so its answers are kept by those."""
    best = tuple(
        int(facts.points[row, column])
        for column in columns
        if facts.campaigns[column].stacking is Stacking.BEST_OF
    )
    found = counters.selections.get((columns, best))
    if found is None:
        checks = [
            CampaignCheck(
                facts.campaigns[column],
                facts.campaigns[column].key,
                int(facts.points[row, column]),
                None,
                None,
            )
            for column in columns
        ]
        index = {facts.campaigns[column].key: column for column in columns}
        found = tuple(index[check.key] for check in select(checks, {}).applied)
        counters.selections[(columns, best)] = found
    return found


def _wins(campaign: Campaign, column: int, drawn: dict[int, bool], counters: _Counters) -> bool:
    """Whether the purchase wins an every-N-th prize (always, for other campaigns); drawn
    once per purchase (``drawn``), as :class:`patron.campaigns.prizes.PrizeDraws`."""
    prize = campaign.prize
    if prize is None or prize.every is None:
        return True
    if column not in drawn:
        counters.draws[column] += 1
        drawn[column] = counters.draws[column] % prize.every == 0
    return drawn[column]


def _claim_alone(facts: CampaignFacts, row: int, column: int, counters: _Counters) -> list[int]:
    """:func:`_claim_row` of a purchase that one campaign qualifies for."""
    campaign = facts.campaigns[column]
    member = str(facts.member[row])
    periods = facts.periods[column]
    period = periods[row] if periods is not None else None
    if period is not None:
        per_member = campaign.limits.per_member if campaign.limits is not None else None
        if per_member is not None and counters.usage[(member, column, period)] >= per_member:
            return []
    if not _wins(campaign, column, {}, counters):
        return []
    if _refusal(facts, row, column, int(facts.points[row, column]), counters) is not None:
        return []
    _count(facts, row, column, counters)
    return [column]


def _claim_row(
    facts: CampaignFacts, row: int, columns: list[int], counters: _Counters
) -> list[int]:
    """The campaigns the per-event path applies to purchase ``row`` (``columns``: those that
    qualify before limits), counted in ``counters``: the stacking policies choose among those
    the member's limits do not hold back; a claim refused (a prize not won, a global limit or
    a budget used up) leaves its campaign out and they choose again, as
    :func:`patron.campaigns.service.claim_selected` does."""
    member = str(facts.member[row])
    if len(columns) == 1:  # what select keeps of one qualifying campaign: that campaign
        return _claim_alone(facts, row, columns[0], counters)
    open_ = [column for column in columns if not _held_back(facts, row, column, member, counters)]
    drawn: dict[int, bool] = {}
    while True:
        applied = _selected(facts, row, tuple(open_), counters)
        refused = None
        for column in applied:
            campaign = facts.campaigns[column]
            if not _wins(campaign, column, drawn, counters):
                refused = column
                break
            if _refusal(facts, row, column, int(facts.points[row, column]), counters):
                refused = column
                break
        if refused is None:
            for column in applied:
                _count(facts, row, column, counters)
            return list(applied)
        open_.remove(refused)


def run_campaigns(facts: CampaignFacts, tiers: np.ndarray, order: np.ndarray) -> CampaignRun:
    """The campaigns of every purchase, each with the tier of ``tiers`` (object array of tier
    ids or ``None``); ``order``: the rows in time order (for the ordered pass)."""
    qualifies = facts.admitted(tiers)
    campaigns = facts.campaigns
    applied = _stack(campaigns, qualifies, facts.points)
    if not needs_order(campaigns):
        points = (facts.points * applied).sum(axis=1)
        return CampaignRun(applied, points, (None,) * len(campaigns), ordered=False)
    # only purchases that an ordered campaign qualifies for are passed in order: the others'
    # campaigns neither read nor change a counter
    limited = np.asarray([ordered(campaign) for campaign in campaigns], dtype=bool)
    visit: np.ndarray = np.asarray((qualifies & limited).any(axis=1), dtype=bool)
    applied[visit] = False
    counters = _Counters(len(campaigns))
    for row in order[visit[order]].tolist():
        columns = np.flatnonzero(qualifies[row]).tolist()
        for column in _claim_row(facts, row, columns, counters):
            applied[row, column] = True
    points = (facts.points * applied).sum(axis=1)
    return CampaignRun(
        applied,
        points,
        tuple(counters.exhausted),
        ordered=True,
        money_exhausted_at=tuple(counters.money_exhausted),
    )


class CampaignScorer:
    """Campaign points per purchase for the replay's scoring: computed once when no projected
    campaign reads the tier, else with the tiers given (see :mod:`.replay`)."""

    def __init__(self, facts: CampaignFacts, order: np.ndarray) -> None:
        self.facts, self.order = facts, order
        self.reads_tier = any(allowed is not None for allowed in facts.tiers)
        self.ordered = needs_order(facts.campaigns)
        count = facts.candidate.shape[0]
        self._fixed: np.ndarray | None = None
        if not self.reads_tier:
            nothing = np.full(count, None, dtype=object)
            self._fixed = run_campaigns(facts, nothing, order).points

    @property
    def tier_dependent_order(self) -> bool:
        """Whether a purchase's campaign points can depend on earlier purchases' tiers (the
        replay then scores again with the walked tiers until both agree)."""
        return self.reads_tier and self.ordered

    def points(self, tiers: list[str | None], rows: np.ndarray | None) -> np.ndarray:
        """Campaign points of the purchases at ``rows`` (default all) with their ``tiers``;
        the other purchases count with no tier (a guess the fixed point corrects)."""
        if self._fixed is not None:
            return self._fixed if rows is None else self._fixed[rows]
        full = np.full(self.facts.candidate.shape[0], None, dtype=object)
        if rows is None:
            full[:] = tiers
        else:
            full[rows] = tiers
        found = run_campaigns(self.facts, full, self.order).points
        return found if rows is None else found[rows]
