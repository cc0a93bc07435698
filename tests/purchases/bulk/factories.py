"""Builders for the bulk import tests: programs, members, random purchase files, the
per-event reference (``record_purchase`` one by one) and a snapshot of everything a
purchase writes, keyed by external ids so that two programs can be compared."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.models import Account, LedgerEntry, Lot, LotMovement
from patron.members import blocking
from patron.members import service as member_service
from patron.members.models import Member
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase, PurchaseLine, RuleUsage
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from patron.tiers.models import TierChange
from tests.conftest import SEED_PROGRAM

NOW = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)
HEADER = [
    "external_id",
    "member_external_id",
    "occurred_at",
    "currency",
    "total",
    "shipping",
    "channel",
    "store",
    "sku",
    "category",
    "quantity",
    "unit_price",
]

# A second program that exercises what the seed program does not: money tiers in a calendar
# year, stop_after, tier/channel/store/time conditions, a daily limit, a 1.25 line multiplier,
# half-up rounding, shipping earning points, no pending time, expiry rounded to month end.
VARIANT_PROGRAM = """
program: {name: Variant, currency: PLN, timezone: Europe/Warsaw}
earning:
  base: {points: 7, per_amount: "3.00", rounding: round}
  exclude_shipping: false
  rules:
    - id: happy-hour
      name: "Happy hour ×1.25 on coffee"
      when: {line_category_in: [coffee], time_between: ["16:00", "18:30"]}
      effect: {multiply_lines: 1.25}
      limit: {per_member: 2, period: day}
    - id: gold-stop
      name: "Gold members: ×2 and nothing else"
      priority: 10
      when: {tier_in: [gold], channel_in: [web]}
      effect: {multiply_order: 2}
      stop_after: true
    - id: store-bonus
      name: "Store \\"Centrum\\" bonus"
      when:
        store_in: [centrum]
        order_total_lt: "500.00"
        line_sku_in: [sku-1, sku-2]
        line_category_in: [tea]
      effect: {bonus_points: 15}
      limit: {per_member: 3, period: week}
    - id: night-owl
      name: "Night owl"
      when: {time_between: ["22:00", "02:00"], weekday_in: [fri, sat]}
      effect: {multiply_order: 0.5}
  expiry: {after_days: 40, round_to: end_of_month}
tiers:
  qualify_on: money_spent
  window: calendar_year
  levels:
    - {id: silver, name: Silver, threshold: "300.00", earn_multiplier: 1.1}
    - {id: gold, name: Gold, threshold: "900.00", earn_multiplier: 1.3333}
"""


async def apply(database: Database, key: str, text: str | None = None) -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=text or SEED_PROGRAM.read_text(), key=key, created_by="tests", now=NOW
        )
    return applied.program_id


async def enrol(database: Database, program_id: int, external_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    async with database.write() as session:
        for external_id in external_ids:
            member = await member_service.enrol_member(
                session,
                program_id=program_id,
                data=MemberCreate(external_id=external_id),
                now=NOW - timedelta(days=400),
            )
            found[external_id] = member.id
    return found


async def make_debt(database: Database, member_id: int, amount: int) -> None:
    async with database.write() as session:
        await ledger_service.debit(
            session,
            member_id=member_id,
            amount=amount,
            kind=EntryKind.ADJUST,
            idempotency_key=f"debt:{member_id}",
            source_type="test",
            source_id="debt",
            now=NOW - timedelta(days=300),
            on_shortfall=ShortfallPolicy.DEBT,
        )


async def block(database: Database, member_id: int) -> None:
    async with database.write() as session:
        await blocking.block_member(session, member_id=member_id, reason="test", now=NOW)


@dataclass
class FilePurchase:
    external_id: str
    member: str | None
    occurred_at: datetime
    total: str
    shipping: str | None
    channel: str | None
    store: str | None
    lines: list[tuple[str, str | None, int, str]] = field(default_factory=list)
    discounts: list[str | None] = field(default_factory=list)  # per line; none when empty

    def line_discount(self, index: int) -> str | None:
        return self.discounts[index] if self.discounts else None

    def create(self, currency: str) -> PurchaseCreate:
        return PurchaseCreate(
            external_id=self.external_id,
            member_external_id=self.member,
            occurred_at=self.occurred_at,
            currency=currency,
            total=self.total,
            shipping=self.shipping or "0",
            channel=self.channel,
            store=self.store,
            lines=[
                PurchaseLineCreate(
                    sku=s, category=c, quantity=q, unit_price=p, discount=self.line_discount(n)
                )
                for n, (s, c, q, p) in enumerate(self.lines)
            ],
        )


def _money(minor: int, places: int = 2) -> str:
    return f"{minor // 10**places}.{minor % 10**places:0{places}d}"


def random_purchases(
    rng: random.Random,
    count: int,
    members: list[str],
    *,
    start: datetime,
    days: int,
    categories: tuple[str, ...] = ("coffee", "tea", "cakes"),
    big: int = 2_000_000,
    discounts: bool = False,
) -> list[FilePurchase]:
    """Purchases spread over ``days`` from ``start``: a fifth without a member, amounts up to
    ``big`` minor units per unit, some with shipping, channel and store, some with a total a
    little below the lines (an order-level discount); with ``discounts``, also line discounts
    and larger order-level discounts."""
    found: list[FilePurchase] = []
    for number in range(count):
        member = rng.choice(members) if rng.random() < 0.8 else None
        at = start + timedelta(seconds=rng.randrange(days * 86_400))
        lines = [
            (
                f"sku-{rng.randrange(4)}",
                rng.choice([*categories, None]),
                rng.randrange(1, 4),
                _money(rng.randrange(100, big)),
            )
            for _ in range(rng.randrange(1, 5))
        ]
        shipping = rng.choice([None, None, 0, 35000])
        amounts = [q * int(p.replace(".", "")) for _, _, q, p in lines]
        off = [rng.choice([0, 0, 1, a // 3, a]) for a in amounts] if discounts else []
        goods = sum(amounts) - sum(off)
        cut = rng.choice([0, 0, 100, goods // 7]) if discounts else rng.choice([0, 0, 100])
        total = goods + (shipping or 0) - min(cut, goods)
        found.append(
            FilePurchase(
                f"order-{number:05d}",
                member,
                at,
                _money(max(total, shipping or 0)),
                None if shipping is None else _money(shipping),
                rng.choice([None, "web", "pos"]),
                rng.choice([None, "centrum", "mokotow"]),
                lines,
                [_money(o) if o or rng.random() < 0.5 else None for o in off],
            )
        )
    return found


def write_csv(path: Path, purchases: list[FilePurchase], currency: str) -> Path:
    """One row per line; the rows of a purchase are scattered over the file, in line order."""
    shuffle = random.Random(len(purchases))
    keyed: list[tuple[float, list[str]]] = []
    for p in purchases:
        at = p.occurred_at.strftime("%Y-%m-%dT%H:%M:%S") + (
            ".250" if p.occurred_at.second % 7 == 0 else ""
        )
        keys = sorted(shuffle.random() for _ in p.lines)
        for n, (key, (sku, category, quantity, price)) in enumerate(
            zip(keys, p.lines, strict=True)
        ):
            keyed.append(
                (
                    key,
                    [
                        p.external_id,
                        p.member or "",
                        at + "Z",
                        currency,
                        p.total,
                        p.shipping or "",
                        p.channel or "",
                        p.store or "",
                        sku,
                        category or "",
                        str(quantity),
                        price,
                        p.line_discount(n) or "",
                    ],
                )
            )
    rows = [row for _, row in sorted(keyed, key=lambda pair: pair[0])]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADER, "discount"])
        writer.writerows(rows)
    return path


def file_order(purchases: list[FilePurchase]) -> list[FilePurchase]:
    """The order the import applies purchases in: time, then external id."""
    return sorted(purchases, key=lambda p: (_at(p), p.external_id))


def _at(purchase: FilePurchase) -> datetime:
    at = purchase.occurred_at
    return at.replace(microsecond=250_000) if at.second % 7 == 0 else at


async def record_one_by_one(
    database: Database, key: str, purchases: list[FilePurchase], currency: str
) -> None:
    """The reference: ``record_purchase`` for each purchase in the import's order."""
    for purchase in file_order(purchases):
        purchase = FilePurchase(**{**purchase.__dict__, "occurred_at": _at(purchase)})
        async with database.write() as session:
            active = await program_service.get_active_program(session, key=key)
            await record_purchase(session, active=active, data=purchase.create(currency), now=NOW)


async def snapshot(session: AsyncSession, program_id: int) -> dict[str, Any]:
    """Everything the program's purchases wrote, by external ids (ids left out)."""
    members = {
        m.id: m
        for m in (
            await session.execute(select(Member).where(Member.program_id == program_id))
        ).scalars()
    }
    purchases: dict[str, Any] = {}
    query = select(Purchase).where(Purchase.program_id == program_id)
    for p in (await session.execute(query)).scalars():
        purchases[p.external_id] = await _purchase_snapshot(session, p, members)
    return {
        "purchases": purchases,
        "members": {m.external_id: await _member_snapshot(session, m) for m in members.values()},
    }


async def _purchase_snapshot(
    session: AsyncSession, p: Purchase, members: dict[int, Member]
) -> dict[str, Any]:
    lines = (
        await session.execute(
            select(PurchaseLine)
            .where(PurchaseLine.purchase_id == p.id)
            .order_by(PurchaseLine.line_no)
        )
    ).scalars()
    found: dict[str, Any] = {
        "member": members[p.member_id].external_id if p.member_id else None,
        "values": (
            p.occurred_at,
            p.currency,
            p.total,
            p.shipping,
            p.channel,
            p.store,
            p.program_version,
            p.points_earned,
            p.points_reversed,
            p.refunded,
            p.pending_until,
            p.expires_at,
            p.request_hash,
            p.created_at,
        ),
        "breakdown": p.breakdown,
        "lines": [
            (
                x.line_no,
                x.sku,
                x.category,
                x.quantity,
                x.unit_price,
                x.amount,
                x.discount,
                x.order_discount,
                x.returned_quantity,
                x.member_id == p.member_id,
            )
            for x in lines
        ],
        "entry": None,
    }
    if p.earn_entry_id is not None:
        entry = (
            await session.execute(select(LedgerEntry).where(LedgerEntry.id == p.earn_entry_id))
        ).scalar_one()
        lot = (await session.execute(select(Lot).where(Lot.entry_id == entry.id))).scalar_one()
        moves = (
            await session.execute(
                select(LotMovement.reason, LotMovement.amount).where(LotMovement.lot_id == lot.id)
            )
        ).all()
        assert entry.source_id == str(p.id)
        assert entry.idempotency_key == f"purchase:{p.id}"
        found["entry"] = (
            entry.kind,
            entry.amount,
            entry.requested_amount,
            entry.debt_change,
            entry.occurred_at,
            entry.created_at,
            entry.description,
            entry.meta,
            entry.source_type,
            entry.member_id == p.member_id,
            lot.amount,
            lot.remaining,
            lot.pending_until,
            lot.expires_at,
            lot.is_active,
            lot.is_expired,
            lot.created_at,
            sorted(moves),
        )
    return found


async def _member_snapshot(session: AsyncSession, m: Member) -> dict[str, Any]:
    account = (await session.execute(select(Account).where(Account.member_id == m.id))).scalar_one()
    usages = (
        await session.execute(
            select(RuleUsage.rule_id, RuleUsage.period_key, RuleUsage.count).where(
                RuleUsage.member_id == m.id
            )
        )
    ).all()
    changes = (
        await session.execute(
            select(
                TierChange.from_tier,
                TierChange.to_tier,
                TierChange.reason,
                TierChange.metric,
                TierChange.occurred_at,
            ).where(TierChange.member_id == m.id)
        )
    ).all()
    return {
        "tier": (m.tier_id, m.tier_since),
        "account": (
            account.available,
            account.pending,
            account.lifetime_earned,
            account.redeemed,
            account.expired,
            account.debt,
            account.updated_at,
        ),
        "usage": sorted(tuple(u) for u in usages),
        "tier_changes": sorted((tuple(c) for c in changes), key=lambda c: (c[3], str(c[1]))),
    }
