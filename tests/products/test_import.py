"""``import_products``: a catalogue file through a dry run, ``skip_bad``, a second run
(nothing new) and a changed file (only the changed products updated); names per language."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from patron.kit.db import Database
from patron.products.importer import ProductImportReport, import_products, read_products
from patron.products.models import Product
from tests.purchases.bulk.factories import apply

NOW = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)
HEADER = ["sku", "name", "name_ru", "name_pl", "name_en", "category", "price", "currency"]
HEADER += ["launched_at", "active"]


def _row(index: int) -> dict[str, str]:
    return {
        "sku": f"sku-{index:03d}",
        "name": "" if index % 2 else f"Product {index}",
        "name_ru": f"Товар {index}",
        "name_pl": f"Produkt {index}" if index % 3 else "",
        "name_en": "",
        "category": ["coffee", "tea", "pastry"][index % 3],
        "price": f"{index}.50",
        "currency": "" if index % 4 else "PLN",
        "launched_at": "2026-03-01" if index % 5 == 0 else "",
        "active": "false" if index % 7 == 0 else "",
    }


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _rows(bad: bool = True) -> list[dict[str, str]]:
    rows = [_row(index) for index in range(1, 101)]
    if bad:
        rows[9]["price"] = "12.505"  # row 10: more decimals than RUB has
        rows[19] |= {"name": "", "name_ru": "", "name_pl": "", "name_en": ""}  # row 20
        rows[29]["sku"] = rows[28]["sku"]  # row 30: the sku of row 29
    return rows


async def _run(database: Database, path: Path, **options: object) -> ProductImportReport:
    return await import_products(database, read_products(path), now=NOW, **options)  # type: ignore[arg-type]


async def _count(database: Database) -> int:
    async with database.read() as session:
        query = select(func.count()).select_from(Product)
        return int((await session.execute(query)).scalar_one())


def _summary(report: ProductImportReport) -> tuple[int, int, int, int]:
    return report.new, report.unchanged, report.updated, report.refused


async def test_dry_run_skip_bad_then_nothing_new(database: Database, tmp_path: Path) -> None:
    await apply(database, "default")
    path = _write(tmp_path / "products.csv", _rows())

    report = await _run(database, path, dry_run=True)
    assert _summary(report) == (97, 0, 0, 3)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (10, "price", "invalid_amount"),
        (20, "name", "missing_value"),
        (30, "sku", "duplicate_sku"),
    ]
    assert await _count(database) == 0

    report = await _run(database, path)  # without skip_bad: nothing loads
    assert (report.new, report.not_loaded) == (0, 97)
    assert await _count(database) == 0

    report = await _run(database, path, skip_bad=True)
    assert _summary(report) == (97, 0, 0, 3)
    assert await _count(database) == 97

    report = await _run(database, path, skip_bad=True)
    assert _summary(report) == (0, 97, 0, 3)


async def test_a_changed_row_updates_only_that_product(database: Database, tmp_path: Path) -> None:
    await apply(database, "default")
    rows = _rows(bad=False)
    await _run(database, _write(tmp_path / "a.csv", rows))
    rows[4] |= {"price": "99.00", "category": "merch", "active": "false"}
    report = await _run(database, _write(tmp_path / "b.csv", rows))
    assert _summary(report) == (0, 99, 1, 0)
    async with database.read() as session:
        product = (
            await session.execute(select(Product).where(Product.sku == "sku-005"))
        ).scalar_one()
        stored = (product.price, product.currency, product.category, product.active)
    assert stored == (
        9900,
        "RUB",
        "merch",
        False,
    )


async def test_names_per_language_and_the_default_name(database: Database, tmp_path: Path) -> None:
    await apply(database, "default")  # the seed program: RUB, default language ru
    await _run(database, _write(tmp_path / "p.csv", _rows(bad=False)[:4]))
    async with database.read() as session:
        stored = (await session.execute(select(Product).order_by(Product.id))).scalars()
        found = {product.sku: product for product in stored}
        first, second, fourth = found["sku-001"], found["sku-002"], found["sku-004"]
        assert (first.name, first.names) == ("Товар 1", {"ru": "Товар 1", "pl": "Produkt 1"})
        assert (second.name, second.price, second.currency) == ("Product 2", 250, "RUB")
        assert (fourth.price, fourth.currency) == (450, "PLN")
        assert first.launched_at is None
        assert first.active is True
