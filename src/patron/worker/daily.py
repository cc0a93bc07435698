"""The daily jobs: unlock pending points, expire lots, announce points about to expire
(``points.expiring``, per program), review tiers, record missed ticket
targets, refresh segments, send survey invitations after purchases, analyse new feedback
texts, apply the birthday and anniversary campaigns and the schedule campaigns (one member per
unit of work, :mod:`patron.worker.campaigns`), and emit the campaigns' budget pacing alerts
(:mod:`patron.campaigns.pacing`), and qualify and reward referrals (step ``referrals``,
:mod:`patron.referrals.rewarding`). The feedback loop (tickets for detractors and negative
reviews, CSAT invitations after resolved tickets) and tier upgrades after credits are event
handlers now (:mod:`patron.worker.registry`), not scans.

Each step runs in its own unit of work and is independent of the others: a step that fails is
recorded in the report's ``failures`` with its reason (its unit of work rolls back), and the
steps after it still run. The tier review and the segments refresh are one step per program.

Each job is idempotent: activation and expiry act only on lots that are due and not yet
processed, a member's expiry date is announced once (``points_expiry_notices``), and the
tier review runs once per local day of each program. ``now`` may be given
(to catch up or to test); the jobs never look further than it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TypeVar

from patron.campaigns.pacing import run_budget_pacing
from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.ledger import service as ledger_service
from patron.programs import service as program_service
from patron.referrals.rewarding import run_referrals
from patron.support import service as support_service
from patron.tiers import service as tier_service
from patron.worker.campaigns import run_date_campaigns, run_schedule_campaigns
from patron.worker.segments import program_keys, refresh_program_segments

T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepFailure:
    """A step of the daily jobs that raised: its name, the program it ran for (None for the
    steps over all programs) and the reason, ``<code>: <message>`` of a Patron error or
    ``<ExceptionType>: <message>`` of anything else."""

    step: str
    program: str | None
    error: str


@dataclass(frozen=True, slots=True)
class DailyReport:
    now: datetime
    lots_activated: int
    lots_expired: int
    tier_reviews: dict[str, dict[str, int | bool]]
    points_expiring: dict[str, int] = field(default_factory=dict)
    """``points.expiring`` events emitted, per program key."""
    ticket_breaches: dict[str, int] = field(default_factory=dict)
    segments: dict[str, dict[str, object]] = field(default_factory=dict)
    survey_invitations: int = 0
    feedback_analysed: int = 0
    date_campaigns: dict[str, dict[str, int]] = field(default_factory=dict)
    schedule_campaigns: dict[str, dict[str, int]] = field(default_factory=dict)
    """Schedule campaigns' applications, per program key (step ``schedule_campaigns``)."""
    budget_alerts: dict[str, int] = field(default_factory=dict)
    """``campaigns.budget_alert`` (``pacing``) events emitted, per program key."""
    referrals: dict[str, dict[str, int]] = field(default_factory=dict)
    """Referrals qualified and rewarded, per program key."""
    failures: list[StepFailure] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "now": self.now.isoformat()}


def _reason(error: Exception) -> str:
    if isinstance(error, PatronError):
        return f"{error.code}: {error.message}"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}".rstrip(": ")


class _Steps:
    """Runs each step, records a failure instead of raising it, and goes on."""

    async def per_program(
        self,
        name: str,
        keys: list[str],
        step: Callable[[Database, str, datetime], Awaitable[T]],
        database: Database,
        now: datetime,
    ) -> dict[str, T]:
        """``step`` for each program, each alone; the results of those that did not fail."""
        done: dict[str, T] = {}
        for key in keys:
            result = await self.run(name, step(database, key, now), None, program=key)
            if result is not None:
                done[key] = result
        return done

    def __init__(self) -> None:
        self.failures: list[StepFailure] = []

    async def run(self, name: str, work: Awaitable[T], default: T, program: str | None = None) -> T:
        try:
            return await work
        except Exception as error:  # a failed step must not stop the others
            logger.exception("daily job step %s (program %s) failed", name, program)
            self.failures.append(StepFailure(step=name, program=program, error=_reason(error)))
            return default


async def _activate(database: Database, now: datetime) -> int:
    async with database.write() as session:
        return await ledger_service.activate_due(session, now=now)


async def _expire(database: Database, now: datetime) -> int:
    async with database.write() as session:
        return await ledger_service.expire_due(session, now=now)


async def _announce(database: Database, key: str, now: datetime) -> int:
    async with database.write() as session:
        active = await program_service.get_active_program(session, key=key)
        return await ledger_service.announce_expiring(
            session,
            program_id=active.program_id,
            timezone=active.program.program.timezone,
            notice_days=active.program.earning.expiry.notice_days,
            now=now,
        )


async def _review(database: Database, key: str, now: datetime) -> dict[str, int | bool]:
    async with database.write() as session:
        active = await program_service.get_active_program(session, key=key)
        result = await tier_service.review_tiers(
            session, program_id=active.program_id, program=active.program, now=now
        )
        return asdict(result)


async def _breaches(database: Database, now: datetime) -> dict[str, int]:
    async with database.write() as session:
        return asdict(await support_service.detect_breaches(session, now=now))


async def _invite(database: Database, now: datetime) -> int:
    async with database.write() as session:
        return await feedback_service.invite_after_purchases(session, now=now)


async def _analyse(database: Database, now: datetime) -> int:
    async with database.write() as session:
        return (await feedback_service.analyse_pending(session, now=now)).analysed


async def _segments(database: Database, key: str, now: datetime) -> dict[str, object]:
    report = await refresh_program_segments(database, key=key, now=now)
    return report.model_dump(mode="json")


async def _date_campaigns(database: Database, key: str, now: datetime) -> dict[str, int]:
    return asdict(await run_date_campaigns(database, key=key, now=now))


async def _schedule_campaigns(database: Database, key: str, now: datetime) -> dict[str, int]:
    return asdict(await run_schedule_campaigns(database, key=key, now=now))


async def _pacing(database: Database, key: str, now: datetime) -> int:
    return await run_budget_pacing(database, key=key, now=now)


async def _referrals(database: Database, key: str, now: datetime) -> dict[str, int]:
    return await run_referrals(database, key=key, now=now)


async def run_daily_jobs(database: Database, *, now: datetime) -> DailyReport:
    """Run every daily job as of ``now``, each step in its own unit of work; a failed step is
    in the report's ``failures`` and the other steps still run."""
    steps = _Steps()
    activated = await steps.run("activate_pending", _activate(database, now), 0)
    expired = await steps.run("expire_lots", _expire(database, now), 0)
    no_keys: list[str] = []
    keys = await steps.run("list_programs", program_keys(database), no_keys)
    expiring: dict[str, int] = {}
    for key in keys:
        announced = await steps.run(
            "announce_expiring", _announce(database, key, now), None, program=key
        )
        if announced is not None:
            expiring[key] = announced
    reviews: dict[str, dict[str, int | bool]] = {}
    for key in keys:
        review = await steps.run("review_tiers", _review(database, key, now), None, program=key)
        if review is not None:
            reviews[key] = review
    no_breaches: dict[str, int] = {}
    breaches = await steps.run("ticket_breaches", _breaches(database, now), no_breaches)
    segments: dict[str, dict[str, object]] = {}
    for key in keys:
        refreshed = await steps.run(
            "refresh_segments", _segments(database, key, now), None, program=key
        )
        if refreshed is not None:
            segments[key] = refreshed
    dated = await steps.per_program("date_campaigns", keys, _date_campaigns, database, now)
    scheduled = await steps.per_program(
        "schedule_campaigns", keys, _schedule_campaigns, database, now
    )
    paced = await steps.per_program("budget_pacing", keys, _pacing, database, now)
    referred = await steps.per_program("referrals", keys, _referrals, database, now)
    invited = analysed = 0
    if program_service.DEFAULT_KEY in keys:  # the feedback jobs serve the default program
        invited = await steps.run("survey_invitations", _invite(database, now), 0)
        analysed = await steps.run("analyse_feedback", _analyse(database, now), 0)
    return DailyReport(
        now=now,
        lots_activated=activated,
        lots_expired=expired,
        tier_reviews=reviews,
        points_expiring=expiring,
        ticket_breaches=breaches,
        segments=segments,
        survey_invitations=invited,
        feedback_analysed=analysed,
        date_campaigns=dated,
        schedule_campaigns=scheduled,
        budget_alerts=paced,
        referrals=referred,
        failures=steps.failures,
    )
