"""Refused rows, batches, idempotency and file formats of the bulk import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.ledger.models import Account, LedgerEntry
from patron.ledger.verify import verify
from patron.programs import service as program_service
from patron.purchases.bulk.errors import ImportFileError
from patron.purchases.bulk.report import ImportReport
from patron.purchases.bulk.service import batch_bounds, import_purchases
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase, PurchaseLine
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from tests.purchases.bulk.factories import HEADER, NOW, apply, block, enrol

AT = "2026-12-08T10:00:00Z"  # a Tuesday


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(
    external_id: str,
    member: str = "c-1",
    *,
    at: str = AT,
    currency: str = "RUB",
    total: str = "1200.00",
    shipping: str = "",
    sku: str = "tea-1",
    category: str = "tea",
    quantity: str = "1",
    price: str = "1200.00",
) -> list[str]:
    return [
        external_id,
        member,
        at,
        currency,
        total,
        shipping,
        "",
        "",
        sku,
        category,
        quantity,
        price,
    ]


async def _purchases(database: Database) -> dict[str, int]:
    async with database.read() as session:
        found = await session.execute(select(Purchase.external_id, Purchase.points_earned))
        return {external_id: points for external_id, points in found}


async def _entries(database: Database) -> int:
    async with database.read() as session:
        return int(
            (await session.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
        )


@pytest.fixture
async def members(database: Database) -> dict[str, int]:
    program_id = await apply(database, "default")
    found = await enrol(database, program_id, ["c-1", "c-2", "c-blocked"])
    await block(database, found["c-blocked"])
    return found


async def test_every_bad_row_is_reported_with_its_row_column_and_reason(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    rows = [
        row("ok-1"),  # 1
        row("bad-amount", total="12.5.0"),  # 2
        row("bad-places", price="10.005", total="10.01"),  # 3
        row("bad-currency", currency="PLN"),  # 4
        row("bad-quantity", quantity="0"),  # 5
        row("bad-member", member="nobody"),  # 6
        row("blocked", member="c-blocked"),  # 7
        row("bad-time", at="08/12/2026 10:00"),  # 8
        row("mixed"),  # 9
        row("mixed", total="999.00", sku="tea-2"),  # 10
        row("no-sku", sku=""),  # 11
        row("shipping", shipping="1300.00"),  # 12
        row("ok-2", member="", quantity="2", total="2400.00"),  # 13
    ]
    report = await import_purchases(
        database, path=_csv(tmp_path / "p.csv", rows), skip_bad=True, now=NOW
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "total", "invalid_amount"),
        (3, "unit_price", "invalid_amount"),
        (4, "currency", "currency_mismatch"),
        (5, "quantity", "invalid_quantity"),
        (6, "member_external_id", "unknown_member"),
        (7, "member_external_id", "member_blocked"),
        (8, "occurred_at", "invalid_time"),
        (10, "total", "purchase_mismatch"),
        (11, "sku", "missing_value"),
        (12, "shipping", "invalid_amount"),
    ]
    messages = {e.row: e.message for e in report.errors}
    assert messages[3] == "'10.005' has more than 2 decimal places for RUB"
    assert messages[6] == "no member with external_id 'nobody'"
    assert messages[10] == "total differs from the purchase's first row (row 9)"
    assert messages[12] == "shipping cannot exceed the total"
    assert (report.rows, report.rows_refused, report.purchases, report.purchases_refused) == (
        13,
        10,
        12,
        10,
    )
    assert report.purchases_loaded == 2
    assert not report.is_clean
    assert await _purchases(database) == {"ok-1": 120, "ok-2": 0}


async def test_a_batch_with_a_bad_row_loads_nothing_while_the_other_batches_load(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    rows = [row(f"o-{n}", at=f"2026-12-0{n}T10:00:00Z") for n in range(1, 7)]
    rows[3] = row("o-4", at="2026-12-04T10:00:00Z", quantity="-1")
    report = await import_purchases(
        database, path=_csv(tmp_path / "p.csv", rows), batch_size=2, now=NOW
    )
    assert (report.batches, report.batches_refused, report.purchases_loaded) == (3, 1, 4)
    assert (report.purchases_refused, report.purchases_not_loaded) == (1, 1)
    assert [(e.row, e.code) for e in report.errors] == [(4, "invalid_quantity")]
    assert sorted(await _purchases(database)) == ["o-1", "o-2", "o-5", "o-6"]
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_running_the_same_file_again_loads_nothing_new(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    rows = [
        row("a", sku="cof", category="coffee", price="500.00", total="1200.00"),
        row("a", sku="tea", price="700.00", total="1200.00"),
        row("b", member="c-2"),
    ]
    path = _csv(tmp_path / "p.csv", rows)
    first = await import_purchases(database, path=path, now=NOW)
    before = (await _purchases(database), await _entries(database))
    again = await import_purchases(database, path=path, now=NOW)
    assert (first.purchases_loaded, first.points_issued) == (2, 170 + 120)
    assert (again.purchases_loaded, again.purchases_skipped_existing, again.points_issued) == (
        0,
        2,
        0,
    )
    assert again.is_clean
    assert (await _purchases(database), await _entries(database)) == before


async def test_an_api_purchase_with_the_same_body_is_skipped_and_one_with_another_body_refused(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        for external_id, total in (("same", "1200.00"), ("other", "1100.00")):
            body = PurchaseCreate(
                external_id=external_id,
                member_external_id="c-1",
                occurred_at=datetime(2026, 12, 8, 10, tzinfo=UTC),
                currency="RUB",
                total=total,
                lines=[
                    PurchaseLineCreate(
                        sku="tea-1", category="tea", quantity=1, unit_price="1200.00"
                    )
                ],
            )
            await record_purchase(session, active=active, data=body, now=NOW)
    rows = [row("same"), row("other"), row("new", member="c-2")]
    path = _csv(tmp_path / "p.csv", rows)
    refused = await import_purchases(database, path=path, now=NOW)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (2, "external_id", "idempotency_conflict")
    ]
    assert (refused.batches_refused, refused.purchases_not_loaded, refused.purchases_loaded) == (
        1,
        1,
        0,
    )
    assert sorted(await _purchases(database)) == ["other", "same"]
    skipped = await import_purchases(database, path=path, now=NOW, skip_bad=True)
    assert (skipped.purchases_skipped_existing, skipped.purchases_loaded, skipped.rows_refused) == (
        1,
        1,
        1,
    )
    assert sorted(await _purchases(database)) == ["new", "other", "same"]


async def test_a_typed_parquet_file_loads_like_the_same_csv(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    await enrol(database, await apply(database, "csv"), ["c-1", "c-2"])
    typed = pl.DataFrame(
        {
            "external_id": ["p-1", "p-1", "p-2"],
            "member_external_id": ["c-1", "c-1", None],
            "occurred_at": [datetime(2026, 12, 12, 9, 30, 0, 500000)] * 2
            + [datetime(2026, 12, 13, 9)],
            "currency": ["RUB"] * 3,
            "total": [Decimal("13000.50"), Decimal("13000.50"), Decimal("99.00")],
            "sku": ["cof", "tea", "x"],
            "category": ["coffee", None, None],
            "quantity": [2, 1, 1],
            "unit_price": [Decimal("6000.25"), Decimal("1000.00"), Decimal("99.00")],
        },
        schema_overrides={"total": pl.Decimal(12, 2), "unit_price": pl.Decimal(12, 2)},
    )
    typed.write_parquet(tmp_path / "p.parquet")
    text = typed.with_columns(
        pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S%.f"),
        pl.all().exclude("occurred_at").cast(pl.String),
    )
    text.write_csv(tmp_path / "p.csv")
    parquet = await import_purchases(database, path=tmp_path / "p.parquet", now=NOW)
    csv = await import_purchases(database, path=tmp_path / "p.csv", program_key="csv", now=NOW)
    assert parquet.is_clean
    assert csv.is_clean
    async with database.read() as session:
        query = select(
            Purchase.program_id,
            Purchase.external_id,
            Purchase.total,
            Purchase.points_earned,
            Purchase.request_hash,
            Purchase.occurred_at,
        ).order_by(Purchase.program_id, Purchase.external_id)
        found = (await session.execute(query)).all()
    first, second = [tuple(r[1:]) for r in found[:2]], [tuple(r[1:]) for r in found[2:]]
    assert first == second
    # Saturday: (2 x 6000.25 coffee doubled + 1000 tea) = 25001.00 -> 2500 x 1.5 + 500 bonus
    assert [(r[0], r[1], r[2]) for r in first] == [("p-1", 1300050, 4250), ("p-2", 9900, 0)]


@pytest.mark.parametrize(
    ("name", "header", "field"),
    [
        ("p.csv", [h for h in HEADER if h != "unit_price"], "unit_price"),
        ("p.csv", [*HEADER, "colour"], "colour"),
        ("p.json", HEADER, "file"),
    ],
)
async def test_a_file_that_cannot_be_imported_is_refused_whole(
    database: Database,
    members: dict[str, int],
    tmp_path: Path,
    name: str,
    header: list[str],
    field: str,
) -> None:
    path = _csv(tmp_path / name, [], header=header)
    with pytest.raises(ImportFileError) as raised:
        await import_purchases(database, path=path, now=NOW)
    assert raised.value.field == field
    assert await _purchases(database) == {}


async def test_an_empty_file_imports_nothing(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    report = await import_purchases(database, path=_csv(tmp_path / "p.csv", []), now=NOW)
    assert report.to_dict() | {"seconds": 0} == ImportReport().to_dict()


def test_batches_never_split_a_purchase() -> None:
    import numpy as np

    assert batch_bounds(np.array([2, 2, 3, 1, 5, 1]), 4) == [(0, 2), (2, 4), (4, 5), (5, 6)]
    assert batch_bounds(np.array([], dtype=np.int64), 4) == []


async def test_a_purchase_the_per_event_path_refuses_refuses_its_batch_unless_skip_bad(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    """A member without a points account goes to the per-event path, which refuses a
    purchase that earns points; the vectorised writes of that batch are rolled back too."""
    async with database.write() as session:
        await session.execute(delete(Account).where(Account.member_id == members["c-2"]))
    rows = [row("fast"), row("no-account", member="c-2"), row("guest", member="")]
    path = _csv(tmp_path / "p.csv", rows)
    refused = await import_purchases(database, path=path, now=NOW)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (2, "member_id", "account_not_found")
    ]
    assert (refused.batches_refused, refused.purchases_not_loaded) == (1, 2)
    assert await _purchases(database) == {}
    assert await _entries(database) == 0
    skipped = await import_purchases(database, path=path, now=NOW, skip_bad=True)
    assert (skipped.purchases_loaded, skipped.purchases_refused) == (2, 1)
    assert await _purchases(database) == {"fast": 120, "guest": 0}


async def test_the_write_connection_checks_foreign_keys_again_after_the_batches(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    """SQLite: batches run without foreign-key enforcement; a loaded and a refused batch
    both leave it on for the next unit of work (a line of a missing purchase is refused)."""
    if not database.is_sqlite:
        pytest.skip("foreign-key enforcement is a SQLite connection setting")
    rows = [row("o-1", at="2026-12-01T10:00:00Z"), row("o-2", quantity="-1")]
    report = await import_purchases(
        database, path=_csv(tmp_path / "p.csv", rows), batch_size=1, now=NOW
    )
    assert (report.batches, report.batches_refused, report.purchases_loaded) == (2, 1, 1)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        async with database.write() as session:
            await session.execute(
                text(
                    "INSERT INTO purchase_lines (purchase_id, line_no, sku, quantity, "
                    "unit_price, amount, returned_quantity) VALUES (999999, 1, 'x', 1, 1, 1, 0)"
                )
            )


async def test_a_purchase_another_writer_records_first_makes_the_batch_run_again(
    database: Database, members: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the batch reads which purchases exist, then copies the new ones. An API
    purchase committed in between (here: injected just before the copy) makes the copy fail
    on the unique key; the batch is rolled back and run again, and then skips that purchase as
    already recorded (same body) and loads the others. Nothing is written twice."""
    if database.is_sqlite:
        pytest.skip("SQLite: the batch holds the write lock from its first read")
    from patron.purchases.bulk import writers

    body = PurchaseCreate(
        external_id="raced",
        occurred_at=datetime(2026, 12, 8, 10, tzinfo=UTC),
        currency="RUB",
        total="1200.00",
        lines=[PurchaseLineCreate(sku="tea-1", category="tea", quantity=1, unit_price="1200.00")],
    )
    real_write = writers.PostgresWriter.write
    attempts: list[int] = []

    async def racing_write(self: writers.PostgresWriter, rows: writers.BatchRows) -> None:
        attempts.append(rows.purchases.height)
        if len(attempts) == 1:  # another writer gets there first, and commits
            async with database.write() as session:
                active = await program_service.get_active_program(session)
                await record_purchase(session, active=active, data=body, now=NOW)
        await real_write(self, rows)

    monkeypatch.setattr(writers.PostgresWriter, "write", racing_write)
    rows = [row("raced", member=""), row("x", member="c-1"), row("y", member="c-2")]
    report = await import_purchases(database, path=_csv(tmp_path / "p.csv", rows), now=NOW)
    assert attempts == [3, 2]  # the second attempt copies only the two that are still new
    assert (report.purchases_loaded, report.purchases_skipped_existing) == (2, 1)
    assert report.is_clean
    assert await _purchases(database) == {"raced": 0, "x": 120, "y": 120}
    async with database.read() as session:
        assert await verify(session, now=NOW) == []
        recorded = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "purchases.recorded")
        )
        # each purchase's event once: the raced batch's first copy rolled back with its events
        assert sorted(event.payload["external_id"] for event in recorded) == ["raced", "x", "y"]


async def test_discounts_are_imported_and_totals_that_do_not_add_up_are_refused(
    database: Database, members: dict[str, int], tmp_path: Path
) -> None:
    """The rules of the API: a line's ``discount``, a total below the lines spread over them,
    a total above them or a time too far ahead refused (nothing of those purchases written)."""
    header = [*HEADER, "discount"]
    ahead = (NOW + timedelta(minutes=11)).isoformat()
    rows = [
        [*row("d-1", price="500.00", sku="cof-1", category="coffee", total="1000.00"), ""],  # 1
        [*row("d-1", price="900.00", total="1000.00"), "200.00"],  # 2
        [*row("d-above", total="1200.01"), ""],  # 3
        [*row("d-ahead", at=ahead), ""],  # 4
        [*row("d-too-much", price="10.00", total="10.00"), "10.01"],  # 5
        [*row("d-soon", at=(NOW + timedelta(minutes=9)).isoformat()), "0.00"],  # 6
    ]
    report = await import_purchases(
        database, path=_csv(tmp_path / "d.csv", rows, header), skip_bad=True, now=NOW
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (3, "total", "total_mismatch"),
        (4, "occurred_at", "occurred_in_future"),
        (5, "discount", "invalid_amount"),
    ]
    # d-1 as the API records it: coffee 416.67 x 2 + tea 583.33 -> 141; d-soon: 1200.00 -> 120
    assert await _purchases(database) == {"d-1": 141, "d-soon": 120}
    async with database.read() as session:
        lines = (
            await session.execute(
                select(PurchaseLine.amount, PurchaseLine.discount, PurchaseLine.order_discount)
                .join(Purchase, Purchase.id == PurchaseLine.purchase_id)
                .where(Purchase.external_id == "d-1")
                .order_by(PurchaseLine.line_no)
            )
        ).all()
    assert [tuple(line) for line in lines] == [(50_000, 0, 8_333), (90_000, 20_000, 11_667)]
