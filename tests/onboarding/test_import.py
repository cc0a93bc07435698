"""``import_members``: the shop's customer file of 1,000 rows with three bad rows goes
through a dry run (nothing written), a run with ``skip_bad`` (997 members with the right
balances, tiers and consents, the ledger verified) and a second run (nothing new)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select, text

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import LedgerEntry, Lot
from patron.members.models import ConsentEvent, Member, MemberConsent
from patron.onboarding import checking, service
from patron.onboarding.service import MemberImportReport, import_members, read_members
from patron.tiers.models import TierChange
from tests.onboarding.factories import NOW, customer, customers, write_csv
from tests.purchases.bulk.factories import apply


async def _run(database: Database, path: Path, **options: object) -> MemberImportReport:
    frame = read_members(path, attributes=["city"])
    return await import_members(
        database, frame, attributes=["city"], phone_region="PL", now=NOW, **options
    )


async def _counts(database: Database) -> dict[str, int]:
    async with database.read() as session:
        tables = {
            "members": Member,
            "consents": MemberConsent,
            "consent_events": ConsentEvent,
            "entries": LedgerEntry,
            "lots": Lot,
            "tier_changes": TierChange,
        }
        return {
            name: (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for name, model in tables.items()
        }


def _codes(report: MemberImportReport) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


async def test_dry_run_reports_the_three_bad_rows_and_writes_nothing(
    database: Database, tmp_path: Path
) -> None:
    await apply(database, "default")
    path = write_csv(tmp_path / "customers.csv", customers())
    report = await _run(database, path, dry_run=True)
    assert _codes(report) == [
        (17, "email", "invalid_value"),
        (450, "tier", "unknown_tier"),
        (998, "phone", "invalid_value"),
    ]
    assert (report.new, report.unchanged, report.updated, report.refused) == (997, 0, 0, 3)
    assert await _counts(database) == dict.fromkeys(
        ["members", "consents", "consent_events", "entries", "lots", "tier_changes"], 0
    )


async def test_without_skip_bad_a_file_with_bad_rows_loads_nothing(
    database: Database, tmp_path: Path
) -> None:
    await apply(database, "default")
    report = await _run(database, write_csv(tmp_path / "c.csv", customers(40)))
    assert _codes(report) == [(17, "email", "invalid_value")]
    assert (report.new, report.refused, report.not_loaded) == (0, 1, 39)
    assert (await _counts(database))["members"] == 0


async def test_a_bad_row_after_written_batches_loads_nothing(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's rows are written while the next chunks are checked (a helper process
    checks them here): the batches written before the chunk with row 998 roll back with it,
    and every refused row is still reported. With ``skip_bad`` the same file loads 997."""
    monkeypatch.setattr(checking, "PARALLEL_FROM_ROWS", 100)
    monkeypatch.setattr(checking, "CHUNK_ROWS", 150)
    await apply(database, "default")
    path = write_csv(tmp_path / "customers.csv", customers())
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)

    report = await _run(database, path, batch_size=100, check_processes=2, progress=progress)
    assert _codes(report) == [
        (17, "email", "invalid_value"),
        (450, "tier", "unknown_tier"),
        (998, "phone", "invalid_value"),
    ]
    assert (report.new, report.refused, report.not_loaded, report.opening_points) == (
        0,
        3,
        997,
        0,
    )
    assert await _counts(database) == dict.fromkeys(
        ["members", "consents", "consent_events", "entries", "lots", "tier_changes"], 0
    )
    async with database.read() as session:
        events = (await session.execute(text("SELECT count(*) FROM outbox_events"))).scalar_one()
    assert events == 0

    loaded = await _run(database, path, batch_size=100, check_processes=2, skip_bad=True)
    assert (loaded.new, loaded.refused, loaded.not_loaded) == (997, 3, 0)
    assert (await _counts(database))["members"] == 997
    assert seen[-1] == 1000


async def test_a_failed_write_half_way_loads_nothing(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean file is one unit of work too: a write that fails on the third batch (say the
    disk filled) leaves nothing of the two before it."""
    monkeypatch.setattr(checking, "PARALLEL_FROM_ROWS", 100)
    monkeypatch.setattr(checking, "CHUNK_ROWS", 150)
    await apply(database, "default")
    rows = customers()
    good = [rows[n] for n in range(len(rows)) if n + 1 not in (17, 450, 998)]
    path = write_csv(tmp_path / "clean.csv", good)
    calls: list[int] = []
    apply_rows = service.apply_rows

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return await apply_rows(*args, **kwargs)

    monkeypatch.setattr(service, "apply_rows", failing)
    with pytest.raises(OSError, match="disk full"):
        await _run(database, path, batch_size=100, check_processes=2)
    assert await _counts(database) == dict.fromkeys(
        ["members", "consents", "consent_events", "entries", "lots", "tier_changes"], 0
    )
    monkeypatch.setattr(service, "apply_rows", apply_rows)
    assert (await _run(database, path, batch_size=100, check_processes=2)).new == 997


async def test_skip_bad_loads_997_members_and_a_second_run_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    await apply(database, "default")
    path = write_csv(tmp_path / "customers.csv", customers())
    report = await _run(database, path, skip_bad=True)
    assert (report.new, report.refused, len(report.errors)) == (997, 3, 3)
    good = [i for i in range(1, 1001) if i not in (17, 450, 998)]
    assert report.opening_points == sum(i * 10 for i in good if i % 4)
    await _check_members(database, good)
    async with database.read() as session:
        assert await ledger_service.verify(session, now=NOW + timedelta(days=1)) == []
    counts = await _counts(database)

    again = await _run(database, path, skip_bad=True)
    assert (again.new, again.unchanged, again.updated, again.refused) == (0, 997, 0, 3)
    assert await _counts(database) == counts


async def _check_members(database: Database, good: list[int]) -> None:
    async with database.read() as session:
        members = {m.external_id: m for m in (await session.execute(select(Member))).scalars()}
        assert len(members) == 997
        consents = {
            (c.member_id, c.channel.value): c
            for c in (await session.execute(select(MemberConsent))).scalars()
        }
        entries = {e.member_id: e for e in (await session.execute(select(LedgerEntry))).scalars()}
        lots = {lot.entry_id: lot for lot in (await session.execute(select(Lot))).scalars()}
        for index in good:
            expected = customer(index)
            member = members[expected["external_id"]]
            assert member.email == f"customer{index}@example.com"
            assert member.attributes == {"city": expected["city"]}
            assert member.tier_id == (expected["tier"] or None)
            assert member.enrolled_at.year == 2010 + index % 15
            if expected["phone"]:
                assert member.phone == "+48" + expected["phone"].replace(" ", "")
            email = consents[(member.id, "email")]
            assert email.is_granted is (index % 2 == 1)
            assert ((member.id, "sms") in consents) is (index % 3 == 0)
            balance = await ledger_service.balance(session, member_id=member.id, now=NOW)
            assert balance.available == (index * 10 if index % 4 else 0)
            assert balance.lifetime_earned == 0  # opening points are not earned in Patron
            if index % 4:
                entry = entries[member.id]
                assert (entry.kind, entry.amount) == (EntryKind.OPENING, index * 10)
                expires = lots[entry.id].expires_at
                assert expires is not None
                if index % 8 == 1:
                    assert expires.isoformat() == "2028-01-01T00:00:00+00:00"
                else:  # the program's rule: 12 months after the import
                    assert expires.isoformat() == "2028-01-20T09:30:00+00:00"


async def test_a_parquet_file_with_typed_columns(database: Database, tmp_path: Path) -> None:
    await apply(database, "default")
    path = tmp_path / "customers.parquet"
    pl.DataFrame(
        {
            "external_id": ["p-1", "p-2"],
            "opening_points": [120, None],
            "opening_points_expire_at": [date(2027, 12, 31), None],
            "consent_sms": [True, False],
            "tier": ["gold", None],
            "tier_until": [datetime(2027, 6, 30, 12, tzinfo=UTC), None],
        }
    ).write_parquet(path)
    report = await import_members(database, read_members(path), now=NOW)
    assert (report.new, report.errors, report.opening_points) == (2, [], 120)
    async with database.read() as session:
        members = {m.external_id: m for m in (await session.execute(select(Member))).scalars()}
        assert members["p-1"].tier_until == datetime(2027, 6, 30, 12, tzinfo=UTC)
        consents = (await session.execute(select(MemberConsent))).scalars()
        assert sorted((c.member_id, c.is_granted) for c in consents) == [
            (members["p-1"].id, True),
            (members["p-2"].id, False),
        ]
