"""The daily jobs: unlock pending points, expire lots, review tiers, record missed ticket
targets, refresh segments, send survey invitations after purchases, analyse new feedback
texts, and close the feedback loop (:mod:`patron.worker.followups`: tickets for detractors and
negative reviews, CSAT invitations after resolved tickets).

Each job is idempotent: activation and expiry act only on lots that are due and not yet
processed, and the tier review runs once per local day of each program. ``now`` may be given
(to catch up or to test); the jobs never look further than it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.programs import service as program_service
from patron.support import service as support_service
from patron.tiers import service as tier_service
from patron.worker.followups import run_follow_ups
from patron.worker.segments import refresh_segments


@dataclass(frozen=True, slots=True)
class DailyReport:
    now: datetime
    lots_activated: int
    lots_expired: int
    tier_reviews: dict[str, dict[str, int | bool]]
    ticket_breaches: dict[str, int] = field(default_factory=dict)
    segments: dict[str, dict[str, object]] = field(default_factory=dict)
    survey_invitations: int = 0
    feedback_analysed: int = 0
    follow_up_tickets: int = 0
    csat_invitations: int = 0

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "now": self.now.isoformat()}


async def run_daily_jobs(database: Database, *, now: datetime) -> DailyReport:
    """Run every daily job as of ``now``, each in its own unit of work."""
    async with database.write() as session:
        activated = await ledger_service.activate_due(session, now=now)
    async with database.write() as session:
        expired = await ledger_service.expire_due(session, now=now)
    reviews: dict[str, dict[str, int | bool]] = {}
    async with database.write() as session:
        for key in await program_service.program_keys(session):
            active = await program_service.get_active_program(session, key=key)
            result = await tier_service.review_tiers(
                session, program_id=active.program_id, program=active.program, now=now
            )
            reviews[key] = asdict(result)
    async with database.write() as session:
        breaches = await support_service.detect_breaches(session, now=now)
    segments = await refresh_segments(database, now=now)
    invited, analysed = await _feedback_jobs(database, now, list(reviews))
    follow_ups = await run_follow_ups(database, now=now)
    return DailyReport(
        now=now,
        lots_activated=activated,
        lots_expired=expired,
        tier_reviews=reviews,
        ticket_breaches=asdict(breaches),
        segments={key: report.model_dump(mode="json") for key, report in segments.items()},
        survey_invitations=invited,
        feedback_analysed=analysed,
        follow_up_tickets=follow_ups.tickets_opened,
        csat_invitations=follow_ups.csat_invitations,
    )


async def _feedback_jobs(database: Database, now: datetime, keys: list[str]) -> tuple[int, int]:
    """Survey invitations due after purchases, then the analysis of new feedback texts (the
    default program's)."""
    if program_service.DEFAULT_KEY not in keys:
        return 0, 0
    async with database.write() as session:
        invited = await feedback_service.invite_after_purchases(session, now=now)
    async with database.write() as session:
        run = await feedback_service.analyse_pending(session, now=now)
    return invited, run.analysed
