"""Service-level targets: when a ticket is due, and when it has missed its targets.

The clock runs in calendar hours from the ticket's creation, around the clock, and does not
stop while the ticket waits for the member: the promise is to the customer, who waits too.
A target is met when the answer (the first staff reply) or the resolution comes strictly
before the due time; at the due time itself it is missed (``created + 24 h`` is late).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_

from patron.programs.schema import Program
from patron.programs.support_settings import Support, SupportTargets
from patron.support.models import Ticket
from patron.support.states import ACTIVE_STATUSES

PRIORITY_SUPPORT_PERK = "priority_support"
DEFAULT_SUPPORT = Support()


def settings(program: Program) -> Support:
    """The program's ``support`` section, or the defaults (24 h and 24 h, cap 1000)."""
    return program.support or DEFAULT_SUPPORT


def has_priority_support(program: Program, tier_id: str | None) -> bool:
    """Whether the tier ``tier_id`` carries the ``priority_support`` perk."""
    level = program.tiers.level(tier_id) if program.tiers else None
    return level is not None and PRIORITY_SUPPORT_PERK in level.perks


def targets(program: Program, *, priority_support: bool) -> SupportTargets:
    support = settings(program)
    if priority_support and support.priority_targets is not None:
        return support.priority_targets
    return support.targets


def due_times(created_at: datetime, chosen: SupportTargets) -> tuple[datetime, datetime]:
    """``(first_response_due_at, resolution_due_at)`` for a ticket opened at ``created_at``."""
    return (
        created_at + timedelta(hours=chosen.first_response_hours),
        created_at + timedelta(hours=chosen.resolution_hours),
    )


def is_late(done_at: datetime, due_at: datetime) -> bool:
    return done_at >= due_at


def missed(done_at: datetime | None, due_at: datetime, *, is_active: bool, now: datetime) -> bool:
    """The same rule as :func:`first_response_missed` / :func:`resolution_missed`, for one
    ticket in memory: late, or still waiting (open or pending) at the due time."""
    if due_at > now:
        return False
    return is_late(done_at, due_at) if done_at is not None else is_active


def first_response_missed(now: datetime) -> ColumnElement[bool]:
    """Tickets whose first response came late, or that are still unanswered at ``now``
    past their due time (a closed ticket that was never answered is not counted)."""
    return and_(
        Ticket.first_response_due_at <= now,
        or_(
            and_(Ticket.first_response_at.is_(None), Ticket.status.in_(ACTIVE_STATUSES)),
            and_(
                Ticket.first_response_at.is_not(None),
                Ticket.first_response_at >= Ticket.first_response_due_at,
            ),
        ),
    )


def resolution_missed(now: datetime) -> ColumnElement[bool]:
    """Tickets resolved late, or unresolved (open or pending) at ``now`` past their due time."""
    return and_(
        Ticket.resolution_due_at <= now,
        or_(
            and_(Ticket.resolved_at.is_(None), Ticket.status.in_(ACTIVE_STATUSES)),
            and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at >= Ticket.resolution_due_at),
        ),
    )


def breached(now: datetime) -> ColumnElement[bool]:
    """A recorded breach of either target, or one that holds as of ``now``. Every term is
    true or false, never NULL, so that its negation lists exactly the other tickets."""
    return or_(
        Ticket.first_response_breached_at.is_not(None),
        Ticket.resolution_breached_at.is_not(None),
        first_response_missed(now),
        resolution_missed(now),
    )
