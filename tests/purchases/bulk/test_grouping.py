"""Reading, grouping and fingerprinting rows (DB-free)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from patron.purchases.bulk.fingerprint import fingerprints
from patron.purchases.bulk.grouping import _instants, group_rows, parse_instant_or_none
from patron.purchases.bulk.source import read_rows
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from tests.purchases.bulk.factories import HEADER

TIMES = [
    "2026-12-08T10:00:00Z",
    "2026-12-08 10:00:00",
    "2026-12-08T10:00:00.5+03:00",
    "2026-02-30T10:00:00",
    "2026-12-08T10:00:00-01:30",
    "20261208T100000Z",
    "2026-12-08",
    "junk",
    "2026-12-08T10:00:00.123456789Z",
    "2026-12-08T24:00:00",
    "2026-12-08T10:00:60Z",
    "2026-12-08T10:00:00+0300",
    "2026-12-08T10:00:00+25:00",
    "2026-12-08T23:59:59.999999-23:59",
    "2026-12-08T10:00",
    "2024-02-29T00:00:00Z",
    "2026-12-08T10:00:00+00:00",
]


def test_times_parse_as_fromisoformat_does() -> None:
    parsed = _instants(pl.Series([*TIMES, None])).to_list()
    assert parsed == [*(parse_instant_or_none(text) for text in TIMES), None]
    assert parsed[0] == datetime(2026, 12, 8, 10, tzinfo=UTC)
    assert parsed[2] == datetime(2026, 12, 8, 7, 0, 0, 500000, tzinfo=UTC)
    assert [parsed[index] for index in (3, 6, 7, 9, 10, 12)] == [None] * 6


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


ODD = [
    [
        'q"1',
        "c\\1",
        "2026-12-08T10:00:00.25Z",
        "RUB",
        "10.50",
        "",
        "web",
        "",
        'sk"u',
        "",
        "1",
        "10.50",
    ],
    [
        'q"1',
        "c\\1",
        "2026-12-08T10:00:00.25Z",
        "RUB",
        "10.50",
        "",
        "web",
        "",
        "Чай",
        "tea\tgreen",
        "2",
        "0",
    ],
    [
        "line\nbreak",
        "",
        "2026-12-08 10:00:00",
        "RUB",
        "6.5",
        "2.0",
        "",
        "st\x01re",
        "x",
        "",
        "3",
        "1.5",
    ],
    ["plain", "", "2026-12-08T13:00:00+03:00", "RUB", "1", "0.00", "", "", "y", "кофе", "1", "1"],
]


def test_fingerprints_equal_the_api_bodies_fingerprints(tmp_path: Path) -> None:
    grouped = group_rows(read_rows(_write(tmp_path / "odd.csv", ODD)), "RUB")
    assert grouped.errors.height == 0
    found = dict(
        zip(
            grouped.purchases["external_id"],
            fingerprints(grouped.purchases, grouped.lines),
            strict=True,
        )
    )
    expected = {
        'q"1': PurchaseCreate(
            external_id='q"1',
            member_external_id="c\\1",
            occurred_at=datetime(2026, 12, 8, 10, 0, 0, 250000, tzinfo=UTC),
            currency="RUB",
            total="10.50",
            channel="web",
            lines=[
                PurchaseLineCreate(sku='sk"u', quantity=1, unit_price="10.50"),
                PurchaseLineCreate(sku="Чай", category="tea\tgreen", quantity=2, unit_price="0"),
            ],
        ),
        "line\nbreak": PurchaseCreate(
            external_id="line\nbreak",
            occurred_at=datetime(2026, 12, 8, 10, tzinfo=UTC),
            currency="RUB",
            total="6.5",
            shipping="2.0",
            store="st\x01re",
            lines=[PurchaseLineCreate(sku="x", quantity=3, unit_price="1.5")],
        ),
        "plain": PurchaseCreate(
            external_id="plain",
            occurred_at=datetime(2026, 12, 8, 10, tzinfo=UTC),
            currency="RUB",
            total="1",
            shipping="0.00",
            lines=[PurchaseLineCreate(sku="y", category="кофе", quantity=1, unit_price="1")],
        ),
    }
    assert found == {key: body.fingerprint() for key, body in expected.items()}


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [2, 0, 3, 1], [3, 1, 2, 0]])
def test_scattered_rows_group_into_the_same_purchases_in_time_order(
    tmp_path: Path, order: list[int]
) -> None:
    rows = [ODD[index] for index in order]
    grouped = group_rows(read_rows(_write(tmp_path / "odd.csv", rows)), "RUB")
    purchases = grouped.purchases.select(
        "seq", "external_id", "line_count", "total_minor", "shipping_minor"
    )
    # 10:00:00 twice (then by external id), then 10:00:00.25
    assert purchases.rows() == [
        (0, "line\nbreak", 1, 650, 200),
        (1, "plain", 1, 100, 0),
        (2, 'q"1', 2, 1050, 0),
    ]
    first, second = sorted(['sk"u', "Чай"], key=lambda sku: order.index(0 if sku == 'sk"u' else 1))
    assert grouped.lines.select("seq", "line_no", "sku").rows() == [
        (0, 1, "x"),
        (1, 1, "y"),
        (2, 1, first),
        (2, 2, second),
    ]  # the lines of a purchase in file order
