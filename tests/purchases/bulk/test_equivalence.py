"""The proof: a random file imported in bulk ends exactly as the same purchases recorded one
by one through ``record_purchase`` (in time order, same ``now``), on two identical programs
of one database: every purchase (points, breakdown, lines, lot, entry, timing, fingerprint),
every member (counters, tier, tier changes, rule usage), and ``verify`` finds no breach."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from patron.kit.db import Database
from patron.ledger.verify import verify
from patron.purchases.bulk import plan
from patron.purchases.bulk.service import import_purchases
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import (
    NOW,
    VARIANT_PROGRAM,
    FilePurchase,
    apply,
    block,
    enrol,
    make_debt,
    random_purchases,
    record_one_by_one,
    snapshot,
    write_csv,
)

MEMBERS = [f"c-{n}" for n in range(14)]


async def _prepare(
    database: Database, key: str, text: str, early: list[FilePurchase], currency: str
) -> int:
    """A program with members, earlier purchases (tiers, rule usage), a member in debt and a
    blocked one: the same state for both programs."""
    program_id = await apply(database, key, text)
    ids = await enrol(database, program_id, MEMBERS)
    await record_one_by_one(database, key, early, currency)
    await make_debt(database, ids["c-3"], 10_000_000)
    await block(database, ids["c-13"])
    return program_id


@pytest.mark.parametrize(
    ("seed", "text", "currency", "start", "big"),
    [
        (1, SEED_PROGRAM.read_text(), "RUB", datetime(2026, 11, 20, tzinfo=UTC), 1_500_000),
        (2, SEED_PROGRAM.read_text(), "RUB", datetime(2026, 12, 1, tzinfo=UTC), 400_000),
        (3, VARIANT_PROGRAM, "PLN", datetime(2026, 10, 20, tzinfo=UTC), 12_000),
    ],
)
async def test_bulk_import_equals_record_purchase_one_by_one(
    database: Database,
    tmp_path: Path,
    seed: int,
    text: str,
    currency: str,
    start: datetime,
    big: int,
) -> None:
    rng = random.Random(seed)
    early = random_purchases(
        rng, 25, MEMBERS[:12], start=start - timedelta(days=60), days=50, big=big
    )
    for number, purchase in enumerate(early):
        purchase.external_id = f"early-{number}"
    bulk_id = await _prepare(database, "bulk", text, early, currency)
    reference_id = await _prepare(database, "reference", text, early, currency)
    purchases = random_purchases(rng, 260, MEMBERS, start=start, days=75, big=big, discounts=True)
    path = write_csv(tmp_path / "purchases.csv", purchases + early[:3], currency)

    report = await import_purchases(
        database, path=path, program_key="bulk", batch_size=97, skip_bad=True, now=NOW
    )
    # purchases dated after the import's moment (plus 10 minutes) are refused, as the API
    # refuses them
    ahead = [p for p in purchases if p.occurred_at > NOW + timedelta(minutes=10)]
    blocked = [p for p in purchases if p.member == "c-13" and p not in ahead]
    allowed = [p for p in purchases if p not in ahead and p not in blocked]
    await record_one_by_one(database, "reference", allowed, currency)

    refused_rows = sum(len(p.lines) for p in blocked + ahead)
    assert (report.rows_refused, report.purchases_skipped_existing) == (refused_rows, 3)
    assert report.purchases_loaded == len(allowed)
    assert {error.code for error in report.errors} == ({"member_blocked"} if blocked else set()) | (
        {"occurred_in_future"} if ahead else set()
    )
    assert report.purchases_replayed == sum(1 for p in allowed if p.member == "c-3")
    async with database.read() as session:
        bulk, reference = await snapshot(session, bulk_id), await snapshot(session, reference_id)
        assert await verify(session, now=NOW) == []
    assert bulk["purchases"].keys() == reference["purchases"].keys()
    for external_id, expected in reference["purchases"].items():
        assert bulk["purchases"][external_id] == expected, external_id
    assert bulk["members"] == reference["members"]
    upgrades = sum(len(m["tier_changes"]) for m in bulk["members"].values())
    assert upgrades > 0  # the files are built so that tiers move during the import
    assert report.points_issued == sum(
        p["values"][7] for key, p in bulk["purchases"].items() if not key.startswith("early-")
    )


async def test_members_whose_tiers_do_not_settle_are_recorded_one_by_one(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no rescoring round allowed, every member who might move up is handed to the
    per-event path: the result is the same, and those purchases count as replayed."""
    monkeypatch.setattr(plan, "_EXTRA_ROUNDS", -3)  # the seed program has 3 levels
    rng = random.Random(4)
    text, start = SEED_PROGRAM.read_text(), datetime(2026, 12, 1, tzinfo=UTC)
    bulk_id = await _prepare(database, "bulk", text, [], "RUB")
    reference_id = await _prepare(database, "reference", text, [], "RUB")
    purchases = [
        p
        for p in random_purchases(
            rng, 120, MEMBERS, start=start, days=40, big=900_000, discounts=True
        )
        if p.member != "c-13"
    ]
    path = write_csv(tmp_path / "purchases.csv", purchases, "RUB")
    report = await import_purchases(
        database, path=path, program_key="bulk", batch_size=150, now=NOW
    )
    await record_one_by_one(database, "reference", purchases, "RUB")
    assert report.is_clean
    assert (report.purchases_loaded, report.tier_upgrades) == (len(purchases), 0)
    assert report.purchases_replayed > len(purchases) // 2
    async with database.read() as session:
        bulk, reference = await snapshot(session, bulk_id), await snapshot(session, reference_id)
        assert await verify(session, now=NOW) == []
    assert bulk == reference
    assert sum(len(m["tier_changes"]) for m in bulk["members"].values()) > 0
