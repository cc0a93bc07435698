"""All queries of the referrals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.members.models import Member, MemberStatus
from patron.purchases.models import Purchase
from patron.referrals.models import (
    FingerprintKind,
    MemberFingerprint,
    Referral,
    ReferralStatus,
    ReferralVisit,
)


class ReferralRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def referrer_by_code(self, program_id: int, code: str) -> Member | None:
        """The active, not erased member of the program with this code."""
        return await self.session.scalar(
            select(Member).where(
                Member.referral_code == code,
                Member.program_id == program_id,
                Member.status == MemberStatus.ACTIVE,
                Member.erased_at.is_(None),
            )
        )

    async def member(self, member_id: int) -> Member | None:
        return await self.session.get(Member, member_id)

    async def of_referee(self, referee_id: int) -> Referral | None:
        return await self.session.scalar(select(Referral).where(Referral.referee_id == referee_id))

    async def get(self, referral_id: int, *, lock: bool = False) -> Referral | None:
        query = select(Referral).where(Referral.id == referral_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def open_of_member(self, member_id: int) -> list[Referral]:
        """The member's ``pending``, ``qualified`` and ``rewarded`` referrals, as either side,
        locked."""
        checked = [ReferralStatus.PENDING, ReferralStatus.QUALIFIED, ReferralStatus.REWARDED]
        query = (
            select(Referral)
            .where(
                or_(Referral.referee_id == member_id, Referral.referrer_id == member_id),
                Referral.status.in_(checked),
            )
            .order_by(Referral.id)
            .with_for_update()
        )
        return list(await self.session.scalars(query))

    async def add_fingerprints(
        self,
        program_id: int,
        member_id: int,
        digests: Sequence[tuple[FingerprintKind, str]],
        now: datetime,
    ) -> None:
        if not digests:
            return
        rows = [
            {
                "program_id": program_id,
                "member_id": member_id,
                "kind": kind,
                "digest": digest,
                "created_at": now,
            }
            for kind, digest in digests
        ]
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(MemberFingerprint).values(rows).on_conflict_do_nothing()
        await self.session.execute(statement)

    async def digests(self, member_id: int) -> set[tuple[FingerprintKind, str]]:
        rows = await self.session.execute(
            select(MemberFingerprint.kind, MemberFingerprint.digest).where(
                MemberFingerprint.member_id == member_id
            )
        )
        return {(kind, digest) for kind, digest in rows.all()}

    async def made_since(self, referrer_id: int, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(Referral.referrer_id == referrer_id, Referral.created_at >= since)
        )
        return int(count or 0)

    async def others_with_contact(
        self, program_id: int, member_id: int, email: str | None, phone: str | None
    ) -> int:
        """Members of the program other than ``member_id`` with this email or phone."""
        matches = []
        if email:
            matches.append(func.lower(Member.email) == email.lower())
        if phone:
            matches.append(Member.phone == phone)
        if not matches:
            return 0
        count = await self.session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.program_id == program_id, Member.id != member_id, or_(*matches))
        )
        return int(count or 0)

    async def purchases_of(self, member_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(Purchase).where(Purchase.member_id == member_id)
        )
        return int(count or 0)

    async def first_qualifying_purchase(
        self, member_id: int, currency: str, minimum: int
    ) -> Purchase | None:
        """The member's first purchase (by time, then id) whose total less what was refunded
        reaches ``minimum``."""
        return await self.session.scalar(
            select(Purchase)
            .where(
                Purchase.member_id == member_id,
                Purchase.currency == currency,
                Purchase.total - Purchase.refunded >= minimum,
            )
            .order_by(Purchase.occurred_at, Purchase.id)
            .limit(1)
        )

    async def purchase(self, purchase_id: int) -> Purchase | None:
        return await self.session.get(Purchase, purchase_id)

    async def ids(
        self, program_id: int, status: ReferralStatus, *, due_by: datetime | None = None
    ) -> list[int]:
        query = select(Referral.id).where(
            Referral.program_id == program_id, Referral.status == status
        )
        if due_by is not None:
            query = query.where(Referral.due_at <= due_by)
        return list(await self.session.scalars(query.order_by(Referral.id)))

    async def claim_due(self, referral_id: int, now: datetime) -> Referral | None:
        """Move a qualified referral that is due to ``rewarded``: the one statement that makes
        paying it once hold under races (a second run finds it no longer ``qualified``; on
        PostgreSQL it waits for the first run's commit and then re-reads the row)."""
        claimed = await self.session.scalar(
            update(Referral)
            .where(
                Referral.id == referral_id,
                Referral.status == ReferralStatus.QUALIFIED,
                Referral.due_at <= now,
            )
            .values(status=ReferralStatus.REWARDED, rewarded_at=now)
            .returning(Referral.id)
        )
        if claimed is None:
            return None
        return await self.session.scalar(
            select(Referral)
            .where(Referral.id == referral_id)
            .execution_options(populate_existing=True)
        )

    async def page(
        self,
        program_id: int,
        *,
        status: ReferralStatus | None,
        member_id: int | None,
        after: int,
        limit: int,
    ) -> list[Referral]:
        query = select(Referral).where(Referral.program_id == program_id, Referral.id > after)
        if status is not None:
            query = query.where(Referral.status == status)
        if member_id is not None:
            query = query.where(
                or_(Referral.referrer_id == member_id, Referral.referee_id == member_id)
            )
        return list(await self.session.scalars(query.order_by(Referral.id).limit(limit)))

    async def counts(self, program_id: int, **where: Any) -> dict[ReferralStatus, int]:
        query = (
            select(Referral.status, func.count())
            .where(Referral.program_id == program_id)
            .group_by(Referral.status)
        )
        if "referrer_id" in where:
            query = query.where(Referral.referrer_id == where["referrer_id"])
        return {status: int(count) for status, count in (await self.session.execute(query)).all()}

    async def add_visit(self, program_id: int, member_id: int, digest: str, now: datetime) -> None:
        """Record the visitor once per member (a second visit adds nothing)."""
        row = {"program_id": program_id, "member_id": member_id, "visitor_digest": digest,
               "created_at": now}  # fmt: skip
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(insert(ReferralVisit).values(row).on_conflict_do_nothing())

    async def visits(self, program_id: int, member_id: int | None = None) -> int:
        """Distinct visitors of the program's referral links (of one member's, when given)."""
        query = select(func.count()).where(ReferralVisit.program_id == program_id)
        if member_id is not None:
            query = query.where(ReferralVisit.member_id == member_id)
        return int(await self.session.scalar(query) or 0)

    async def totals(self, program_id: int) -> tuple[int, int, int]:
        """Referrals that ever qualified, the cost of those rewarded, and what clawbacks took
        back of it."""
        row = (
            await self.session.execute(
                select(
                    func.count(Referral.qualified_at),
                    func.coalesce(func.sum(Referral.cost_points), 0),
                    func.coalesce(func.sum(Referral.clawed_back_points), 0),
                ).where(Referral.program_id == program_id)
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    async def referrer_points(self, referrer_id: int) -> int:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Referral.referrer_points), 0)).where(
                Referral.referrer_id == referrer_id
            )
        )
        return int(total or 0)
