"""A shop's customer file: 1,000 rows with opening balances, tiers and consents, and three
bad rows at known places."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

HEADER = [
    "external_id",
    "name",
    "email",
    "phone",
    "birth_date",
    "language",
    "enrolled_at",
    "consent_email",
    "consent_sms",
    "consent_push",
    "opening_points",
    "opening_points_expire_at",
    "tier",
    "tier_until",
    "city",
]
NOW = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)
BAD_ROWS = {17: ("email", "not-an-email"), 450: ("tier", "platinum"), 998: ("phone", "12")}
TIERS = ["", "bronze", "silver", "gold"]


def customer(index: int) -> dict[str, str]:
    """Customer ``index`` (1-based): every value derived from the index, so tests can say
    exactly what each member must hold."""
    return {
        "external_id": f"c-{index:04d}",
        "name": f"Customer {index}",
        "email": f"customer{index}@Example.COM",
        "phone": f"601 {index:03d} {index % 1000:03d}"[:11] if index % 5 else "",
        "birth_date": f"19{50 + index % 50}-0{1 + index % 9}-1{index % 10}",
        "language": ["ru", "pl", "en"][index % 3],
        "enrolled_at": f"20{10 + index % 15}-03-01",
        "consent_email": "true" if index % 2 else "false",
        "consent_sms": "2024-05-01" if index % 3 == 0 else "",
        "consent_push": "",
        "opening_points": str(index * 10) if index % 4 else "",
        "opening_points_expire_at": "2027-12-31" if index % 8 == 1 else "",
        "tier": TIERS[index % 4],
        "tier_until": "2027-06-30" if index % 4 == 3 else "",
        "city": ["Warsaw", "Moscow", "Kraków"][index % 3],
    }


def customers(count: int = 1000, bad: bool = True) -> list[dict[str, str]]:
    found = [customer(index) for index in range(1, count + 1)]
    if bad:
        for index, (column, value) in BAD_ROWS.items():
            if index <= count:
                found[index - 1][column] = value
    return found


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path
