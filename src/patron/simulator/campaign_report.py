"""The per-campaign section of a simulation report: what each projected purchase campaign did
over the history (applications, participants, points, its budget) and the deferred effects
it would have left behind (coupons, wallet money, messages), its instant prizes and raffle
entries (docs/simulator.md, "Campaigns")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from patron.programs.schema import Program
from patron.rules.campaigns import campaign_effect
from patron.rules.vocabulary import Campaign
from patron.simulator.campaign_frame import CampaignFacts, CampaignPlan, cashback, money_budget
from patron.simulator.campaigns import CampaignRun
from patron.simulator.schemas import CampaignReport, NotProjectedReport

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _entries(program: Program, campaign: Campaign, total: np.ndarray) -> int | None:
    raffle = campaign.raffle
    if raffle is None:
        return None
    if raffle.per_purchase is not None:
        return raffle.per_purchase * len(total)
    assert raffle.per_amount is not None
    return int((total // program.minor(raffle.per_amount)).sum())


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def campaign_reports(
    program: Program, found: CampaignPlan, facts: CampaignFacts | None, run: CampaignRun | None
) -> tuple[list[CampaignReport], list[NotProjectedReport]]:
    """The report's ``campaigns`` and ``campaigns_not_projected``."""
    skipped = [NotProjectedReport(item.key, item.trigger, item.reason) for item in found.skipped]
    language = program.program.default_language.value
    reports: list[CampaignReport] = []
    for column, campaign in enumerate(found.campaigns):
        if facts is not None and run is not None:
            applied = run.applied[:, column]
            points = int(facts.points[applied, column].sum())
            members = len(set(facts.member[applied].tolist()))
            paid, total = facts.paid[applied], facts.total[applied]
            exhausted = _moment(run.exhausted_at[column])
            money_exhausted = (
                _moment(run.money_exhausted_at[column]) if run.money_exhausted_at else None
            )
            ordered = run.ordered
        else:  # no member purchase in the history
            applied = np.zeros(0, dtype=bool)
            points, members, exhausted, ordered = 0, 0, None, False
            money_exhausted = None
            paid = total = np.zeros(0, dtype=np.int64)
        count = int(applied.sum())
        budget = campaign.budget.points if campaign.budget is not None else None
        limits = campaign.limits
        effect = campaign_effect(campaign)[0].value if campaign.effect is not None else None
        reports.append(
            CampaignReport(
                key=campaign.key,
                name=campaign.name.pick(language),
                effect=effect,
                stacking=campaign.stacking.value,
                method="ordered" if ordered else "vectorised",
                applications=count,
                participants=members,
                points_issued=points,
                usage_limit=limits.total if limits is not None else None,
                budget_points=budget,
                budget_consumed=points if budget is not None else None,
                budget_left=budget - points if budget is not None else None,
                budget_exhausted_at=exhausted,
                coupons_issued=count * sum(1 for d in campaign.deferred if d.issue_reward),
                wallet_credited=int(cashback(program, campaign, paid).sum()),
                messages=count * sum(1 for d in campaign.deferred if d.send_message),
                prizes_won=count if campaign.prize is not None else None,
                raffle_entries=_entries(program, campaign, total),
                budget_money=money_budget(program, campaign),
                budget_money_exhausted_at=money_exhausted,
            )
        )
    return reports, skipped
