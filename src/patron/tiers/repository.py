"""Queries of the tiers domain: qualification metrics, member tiers, history, reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from patron.kit.outbox import emit
from patron.kit.raw import Sql, raw_of
from patron.ledger.kinds import EntryKind
from patron.ledger.models import LedgerEntry
from patron.members.models import Member
from patron.purchases.models import Purchase
from patron.tiers.events import TiersChanged
from patron.tiers.models import TierChange, TierReview

_EARNED_KINDS = (EntryKind.EARN, EntryKind.BONUS, EntryKind.REVERSE)
# One member's metrics, straight to the driver: the purchase path asks when an upgrade is
# possible. The kinds are literals (enum values, not input).
_EARNED = ", ".join(f"'{kind.value}'" for kind in _EARNED_KINDS)
_MEMBER_POINTS_EARNED = Sql(
    "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE member_id = $1 "
    f"AND (kind IN ({_EARNED}) OR (kind = '{EntryKind.ADJUST.value}' AND amount > 0)) "
    "AND occurred_at >= $2"
)
_MEMBER_POINTS_WITH_OPENING = Sql(
    "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE member_id = $1 "
    f"AND (kind IN ({_EARNED}, '{EntryKind.OPENING.value}') "
    f"OR (kind = '{EntryKind.ADJUST.value}' AND amount > 0)) AND occurred_at >= $2"
)
_MEMBER_MONEY_SPENT = Sql(
    "SELECT COALESCE(SUM(total - shipping - refunded), 0) FROM purchases "
    "WHERE member_id = $1 AND occurred_at >= $2"
)
_SET_TIER = Sql("UPDATE members SET tier_id = $1, tier_since = $2 WHERE id = $3")
_SET_TIER_UNTIL = Sql("UPDATE members SET tier_until = $1 WHERE id = $2")
_INSERT_CHANGE = Sql(
    "INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, metric, occurred_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
)
# PostgreSQL: the member's tier set, the change recorded and its event written (for the
# member's program) in one statement: a move on the purchase path was four round trips
_MOVE_WITH_EVENT = Sql(
    "WITH u AS (UPDATE members SET tier_id = $3::text, tier_since = $6::timestamptz "
    "WHERE id = $1::bigint RETURNING program_id), "
    "c AS (INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, metric, occurred_at) "
    "SELECT $1::bigint, $2::text, $3::text, $4::text, $5::bigint, $6::timestamptz FROM u "
    "RETURNING id), "
    "ev AS (INSERT INTO outbox_events (type, version, program_id, member_id, occurred_at, "
    "payload) SELECT $7::text, $8::integer, u.program_id, $1::bigint, $6::timestamptz, "
    "$9::jsonb FROM u) "
    "SELECT c.id FROM c"
)
_PROGRAM_OF = Sql("SELECT program_id FROM members WHERE id = $1")
# off: a move is written statement by statement on PostgreSQL too (tests compare the two)
FUSE_ON_POSTGRESQL = True
_SET_NEW_TIER = Sql(
    "UPDATE members SET tier_id = $1, tier_since = $2, tier_until = $3 WHERE id = $4"
)
_INSERT_CHANGES = Sql(
    "INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, metric, occurred_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)"
)
_BEGINNING = datetime(1, 1, 1, tzinfo=UTC)  # "since" of a lifetime window


class TierRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def points_earned(
        self, member_ids: Sequence[int], since: datetime | None, *, with_opening: bool = False
    ) -> dict[int, int]:
        """Earn + bonus − reversals (and positive adjustments) per member since ``since``;
        ``with_opening``: opening balances too (imported with the member)."""
        earned = func.sum(LedgerEntry.amount)
        kinds = (*_EARNED_KINDS, EntryKind.OPENING) if with_opening else _EARNED_KINDS
        query = (
            select(LedgerEntry.member_id, earned)
            .where(
                LedgerEntry.member_id.in_(member_ids),
                (LedgerEntry.kind.in_(kinds))
                | ((LedgerEntry.kind == EntryKind.ADJUST) & (LedgerEntry.amount > 0)),
            )
            .group_by(LedgerEntry.member_id)
        )
        if since is not None:
            query = query.where(LedgerEntry.occurred_at >= since)
        return {
            member: int(total or 0) for member, total in (await self.session.execute(query)).all()
        }

    async def money_spent(
        self, member_ids: Sequence[int], since: datetime | None
    ) -> dict[int, int]:
        """Totals less shipping and refunds per member since ``since`` (minor units)."""
        spent = func.sum(Purchase.total - Purchase.shipping - Purchase.refunded)
        query = (
            select(Purchase.member_id, spent)
            .where(Purchase.member_id.in_(member_ids))
            .group_by(Purchase.member_id)
        )
        if since is not None:
            query = query.where(Purchase.occurred_at >= since)
        rows = (await self.session.execute(query)).all()
        return {member: int(total or 0) for member, total in rows if member is not None}

    async def member_metric(
        self, member_id: int, since: datetime | None, *, money: bool, with_opening: bool = False
    ) -> int:
        """One member's metric since ``since``: what :meth:`points_earned` (or, with
        ``money``, :meth:`money_spent`) gives for that member alone."""
        sql = _MEMBER_POINTS_WITH_OPENING if with_opening else _MEMBER_POINTS_EARNED
        sql = _MEMBER_MONEY_SPENT if money else sql
        row = await (await raw_of(self.session)).one(sql, member_id, since or _BEGINNING)
        assert row is not None  # an aggregate
        return int(row[0])

    async def member_tiers(
        self, program_id: int, after_id: int, limit: int
    ) -> list[tuple[int, str | None, datetime | None]]:
        """``(id, tier, tier_until)`` of up to ``limit`` members after ``after_id``."""
        query = (
            select(Member.id, Member.tier_id, Member.tier_until)
            .where(Member.program_id == program_id, Member.id > after_id)
            .order_by(Member.id)
            .limit(limit)
        )
        return [(row[0], row[1], row[2]) for row in (await self.session.execute(query)).all()]

    async def set_tier_until(self, member_id: int, until: datetime | None) -> None:
        await (await raw_of(self.session)).run(_SET_TIER_UNTIL, until, member_id)

    async def set_first_tiers(
        self, tiers: Sequence[tuple[int, str, datetime | None]], reason: str, now: datetime
    ) -> None:
        """Give members without a tier their first one, ``(member_id, tier, until)`` each, and
        record the changes: two driver calls for them all (a bulk import)."""
        raw = await raw_of(self.session)
        await raw.many(_SET_NEW_TIER, [(tier, now, until, member) for member, tier, until in tiers])
        await raw.many(
            _INSERT_CHANGES, [(member, None, tier, reason, 0, now) for member, tier, _ in tiers]
        )

    async def move_with_event(
        self, event: TiersChanged, *, metric: int, now: datetime
    ) -> TierChange:
        """Set the member's tier as ``event`` says, record the change (the returned change is
        not attached to the session; a ``Member`` the session has loaded gets the new tier
        too) and write ``event`` to the outbox for the member's program at ``now`` (as
        :func:`patron.kit.outbox.emit` writes it): one statement on PostgreSQL."""
        raw = await raw_of(self.session)
        values = (event.member_id, event.from_tier, event.to_tier, event.reason, metric, now)
        if raw.is_sqlite or not FUSE_ON_POSTGRESQL:
            await raw.run(_SET_TIER, event.to_tier, now, event.member_id)
            row = await raw.one(_INSERT_CHANGE, *values)
            program_id = await self.program_of(event.member_id)
            await emit(self.session, event, program_id=program_id, occurred_at=now)
        else:
            row = await raw.one(
                _MOVE_WITH_EVENT, *values, event.type, event.version, event.model_dump_json()
            )
        assert row is not None  # RETURNING of an insert; the member is there
        loaded = self.session.sync_session.identity_map.get(identity_key(Member, event.member_id))
        if loaded is not None:
            set_committed_value(loaded, "tier_id", event.to_tier)
            set_committed_value(loaded, "tier_since", now)
        return TierChange(
            id=int(row[0]),
            member_id=event.member_id,
            from_tier=event.from_tier,
            to_tier=event.to_tier,
            reason=event.reason,
            metric=metric,
            occurred_at=now,
        )

    async def program_of(self, member_id: int) -> int | None:
        """The program the member belongs to."""
        row = await (await raw_of(self.session)).one(_PROGRAM_OF, member_id)
        return None if row is None or row[0] is None else int(row[0])

    async def history(self, member_id: int) -> list[TierChange]:
        query = select(TierChange).where(TierChange.member_id == member_id).order_by(TierChange.id)
        return list((await self.session.execute(query)).scalars())

    async def claim_review(
        self, program_id: int, review_date: date, now: datetime
    ) -> TierReview | None:
        """Insert the review marker of the day; ``None`` when that day's review already ran."""
        existing = await self.session.execute(
            select(TierReview).where(
                TierReview.program_id == program_id, TierReview.review_date == review_date
            )
        )
        if existing.scalar_one_or_none() is not None:
            return None
        review = TierReview(program_id=program_id, review_date=review_date, ran_at=now)
        try:
            async with self.session.begin_nested():
                self.session.add(review)
        except IntegrityError:
            return None
        return review
