"""Replay a generated store through Patron's own services, as if it had happened.

The store is replayed two weeks at a time (a *period*). The ledger's daily jobs and the tier
review run at the end of each period and once more at the end as of the real now. Within a
period:

1. the period's enrolments, through the service a till would call;
2. the period's purchases, through the bulk importer (:mod:`patron.purchases.bulk`, the path of
   ``patron import purchases``), which records each purchase exactly as
   :func:`patron.purchases.earn.record_purchase` would (a test holds the two paths equal),
   taken in time order;
3. the period's returns, redemptions (open the catalogue as the member sees it, redeem one
   reward) and coupon uses at checkout, in time order through their services, with ``now``
   set to the event's time.

So, within one period, purchases are recorded before that period's returns and redemptions.
The points of a purchase stay pending for the program's ``pending_days`` (14 in the seed
program, the length of a period), so a redemption never spends them earlier than it could
have. (Balances are reported as of now, so running the jobs every two weeks instead of daily
changes no balance a member sees; it makes tier downgrades land up to two weeks late.)
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access import service as access_service
from patron.access.models import Role
from patron.demo.generator import (
    DemoStore,
    Enrolment,
    Event,
    PurchaseEvent,
    RedemptionWish,
    ReturnEvent,
)
from patron.kit.db import Database
from patron.kit.money import format_amount
from patron.kit.time import utcnow
from patron.ledger import jobs as ledger_jobs
from patron.members import service as member_service
from patron.members.schemas import ConsentChannel, MemberCreate
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.bulk.errors import ImportFileError
from patron.purchases.bulk.service import import_rows
from patron.purchases.bulk.source import COLUMNS, ROW
from patron.purchases.earn import purchase_ids
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate, ReturnLineCreate
from patron.rewards import service as reward_service
from patron.tiers import service as tier_service

JOB_INTERVAL = timedelta(days=14)  # a period; at most the seed program's pending_days
CREATED_BY = "patron demo"

ProgressCallback = Callable[[int, int], None]


def seed_program_text() -> str:
    """The example program shipped in :mod:`patron.programs.examples`."""
    return (
        resources.files("patron.programs.examples").joinpath("seed-program.yaml").read_text("utf-8")
    )


@dataclass(slots=True)
class ReplaySummary:
    members: int = 0
    purchases: int = 0
    member_purchases: int = 0
    returns: int = 0
    points_earned: int = 0
    points_reversed: int = 0
    redemptions: int = 0
    points_redeemed: int = 0
    wishes_unaffordable: int = 0
    coupons_used: int = 0
    job_runs: int = 0
    members_per_tier: dict[str, int] = field(default_factory=dict)
    admin_key: str = field(default="", repr=False)
    member_ids: dict[str, int] = field(default_factory=dict, repr=False)  # by external id
    purchase_ids: dict[str, int] = field(default_factory=dict, repr=False)


@dataclass(order=True, frozen=True, slots=True)
class _CouponUse:
    at: datetime
    code: str
    member_id: int


class _Replayer:
    """State carried across units of work: ids the services gave out, and coupons to use."""

    def __init__(self, active: ActiveProgram, store: DemoStore) -> None:
        self.active = active
        self.store = store
        self.claimed: dict[int, set[str]] = {}  # free rewards each member already took
        self.coupon_uses: list[_CouponUse] = []
        self.summary = ReplaySummary()
        self.member_ids = self.summary.member_ids
        self.purchase_ids = self.summary.purchase_ids
        self.next_jobs = store.settings.start + JOB_INTERVAL

    def period_of(self, event: Event) -> int:
        """The period of an event (0 is the first), which ends with a job run."""
        return (event.at - self.store.settings.start) // JOB_INTERVAL

    async def replay_period(self, database: Database, events: list[Event]) -> None:
        """One period (see the module docstring); the jobs run at its end."""
        enrolments = [event for event in events if isinstance(event, Enrolment)]
        purchases = [event for event in events if isinstance(event, PurchaseEvent)]
        others = [e for e in events if not isinstance(e, Enrolment | PurchaseEvent)]
        if enrolments:
            async with database.write() as session:
                for enrolment in enrolments:
                    await self.enrol(session, enrolment)
        if purchases:
            await self.load_purchases(database, purchases)
        async with database.write() as session:
            for event in others:
                await self.catch_up(session, event.at)
                if isinstance(event, ReturnEvent):
                    await self.refund(session, event)
                elif isinstance(event, RedemptionWish):
                    await self.wish(session, event)
            end = min(self.next_jobs, self.store.settings.now)
            if self.next_jobs <= self.store.settings.now:
                await self.catch_up(session, end)

    async def catch_up(self, session: AsyncSession, until: datetime) -> None:
        """Coupon uses and the periodic jobs due up to ``until``, in time order."""
        while True:
            use_at = self.coupon_uses[0].at if self.coupon_uses else None
            if use_at is not None and use_at <= until and use_at < self.next_jobs:
                await self.use_coupon(session, heapq.heappop(self.coupon_uses))
            elif self.next_jobs <= until:
                await self.run_jobs(session, self.next_jobs)
                self.next_jobs += JOB_INTERVAL
            else:
                return

    async def enrol(self, session: AsyncSession, event: Enrolment) -> None:
        profile, person = event.member, event.member.person
        data = MemberCreate(
            external_id=profile.external_id,
            name=f"{person.first_name} {person.last_name}",
            email=person.email,
            phone=person.phone,
            birth_date=person.birth_date,
            language=person.language,
            attributes={"home_store": profile.home_store.code, "city": profile.home_store.city},
            consents={ConsentChannel.EMAIL: person.agrees_to_email,
                      ConsentChannel.SMS: person.agrees_to_sms},
        )  # fmt: skip
        member = await member_service.enrol_member(
            session, program_id=self.active.program_id, data=data, now=event.at
        )
        self.member_ids[profile.external_id] = member.id
        self.summary.members += 1

    async def load_purchases(self, database: Database, purchases: list[PurchaseEvent]) -> None:
        """The purchases through the bulk importer, recorded as of the last one's time."""
        frame = _purchase_rows(purchases, self.active.program.currency)
        report = await import_rows(database, frame, now=purchases[-1].at)
        if report.errors:
            raise ImportFileError(f"demo purchases refused: {report.errors[:3]}", field="demo")
        async with database.read() as session:
            found = await purchase_ids(
                session,
                program_id=self.active.program_id,
                external_ids=[event.external_id for event in purchases],
            )
        self.purchase_ids.update(found)
        self.summary.purchases += len(purchases)
        self.summary.member_purchases += sum(1 for p in purchases if p.member_external_id)
        self.summary.points_earned += report.points_issued

    async def refund(self, session: AsyncSession, event: ReturnEvent) -> None:
        lines = None
        if event.lines is not None:
            lines = [ReturnLineCreate(line_no=n, quantity=q) for n, q in event.lines]
        data = ReturnCreate(
            external_id=event.external_id, lines=lines, occurred_at=event.at,
            reason="partial return" if lines else "returned",
        )  # fmt: skip
        purchase_id = self.purchase_ids[event.purchase_external_id]
        recorded, _created = await record_return(
            session, active=self.active, purchase_id=purchase_id, data=data, now=event.at
        )
        self.summary.returns += 1
        self.summary.points_reversed += recorded.points_reversed

    async def wish(self, session: AsyncSession, event: RedemptionWish) -> None:
        """Open the catalogue as the member sees it now; redeem one reward they can have."""
        member_id = self.member_ids[event.member_external_id]
        member = await member_service.get_member_state(
            session, program_id=self.active.program_id, member_id=member_id
        )
        catalogue = await reward_service.list_rewards(
            session, active=self.active, member=member, now=event.at
        )
        claimed = self.claimed.get(member_id, set())
        choices = [
            item.code for item in catalogue
            if item.available and (item.cost_points > 0 or item.code not in claimed)
        ]  # fmt: skip
        if not choices:
            self.summary.wishes_unaffordable += 1
            return
        code = choices[int(event.choice * len(choices))]
        redemption = await reward_service.redeem(
            session, active=self.active, member_id=member_id, reward_code=code,
            idempotency_key=f"demo:{event.member_external_id}:{event.at.isoformat()}", now=event.at,
        )  # fmt: skip
        if redemption.points_spent == 0:
            self.claimed.setdefault(member_id, set()).add(code)
        self.summary.redemptions += 1
        self.summary.points_redeemed += redemption.points_spent
        coupon = redemption.coupon
        if event.use_after is not None:
            use_at = event.at + event.use_after
            valid = coupon.valid_until is None or use_at < coupon.valid_until
            if valid and use_at < self.store.settings.now:
                heapq.heappush(self.coupon_uses, _CouponUse(use_at, coupon.code, member_id))

    async def use_coupon(self, session: AsyncSession, use: _CouponUse) -> None:
        await reward_service.consume_coupon(
            session, code=use.code, now=use.at, ref=f"checkout:{use.code}", member_id=use.member_id
        )
        self.summary.coupons_used += 1

    async def run_jobs(self, session: AsyncSession, now: datetime) -> None:
        """The daily jobs as ``patron jobs run`` would run them at ``now``."""
        await ledger_jobs.activate_due(session, now=now)
        await ledger_jobs.expire_due(session, now=now)
        await tier_service.review_tiers(
            session, program_id=self.active.program_id, program=self.active.program, now=now
        )
        self.summary.job_runs += 1

    async def finish(self, session: AsyncSession, now: datetime) -> None:
        await self.catch_up(session, now)
        await self.run_jobs(session, now)


async def apply_seed_program(database: Database, *, now: datetime) -> ActiveProgram:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=seed_program_text(), created_by=CREATED_BY, now=now
        )
        return await program_service.get_active_program(session)


async def replay_store(
    database: Database,
    store: DemoStore,
    *,
    clock: Callable[[], datetime] = utcnow,
    progress: ProgressCallback | None = None,
) -> ReplaySummary:
    """Apply the seed program, replay every event of ``store``, then run the jobs as of the
    real now (read from ``clock`` when the events are done) and create an admin API key.
    The database must hold no program yet."""
    active = await apply_seed_program(database, now=store.settings.start)
    replayer = _Replayer(active, store)
    events, done = store.events, 0
    for _period, grouped in itertools.groupby(events, key=replayer.period_of):
        period = list(grouped)
        await replayer.replay_period(database, period)
        done += len(period)
        if progress is not None:
            progress(done, len(events))
    finished_at = clock()
    async with database.write() as session:
        await replayer.finish(session, finished_at)
        created = await access_service.create_key(
            session, name="demo admin", role=Role.ADMIN, now=finished_at
        )
        replayer.summary.admin_key = created.key
    async with database.read() as session:
        replayer.summary.members_per_tier = await members_per_tier(session, active)
    return replayer.summary


async def members_per_tier(session: AsyncSession, active: ActiveProgram) -> dict[str, int]:
    """Members by tier id, lowest first ("none": below the first threshold), read page by page."""
    counts: Counter[str] = Counter()
    after: int | None = None
    while True:
        page = await member_service.list_members(
            session, program_id=active.program_id, after=after, limit=member_service.MAX_PAGE_SIZE
        )
        counts.update(member.tier_id or "none" for member in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    tiers = active.program.tiers
    order = ["none"] + ([level.id for level in tiers.levels] if tiers else [])
    return {tier: counts[tier] for tier in order}


def _purchase_rows(purchases: list[PurchaseEvent], currency: str) -> pl.DataFrame:
    """The purchases as the rows of an import file (one per line, text columns)."""
    columns: dict[str, list[str | None]] = {name: [] for name in COLUMNS}
    for event in purchases:
        at = event.at.isoformat()
        total = format_amount(event.total, currency)
        shipping = format_amount(event.shipping, currency)
        for line in event.lines:
            for name, value in zip(
                COLUMNS,
                (event.external_id, event.member_external_id, at, currency, total, line.sku,
                 str(line.quantity), format_amount(line.unit_price, currency), shipping,
                 event.channel.value, event.store, line.category, None),
                strict=True,
            ):  # fmt: skip
                columns[name].append(value)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(COLUMNS, pl.String))
    return frame.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW), pl.all())
