"""How ``purchases.breakdown`` is stored: each row of
:meth:`patron.rules.engine.Evaluation.to_breakdown` as a JSON array of its values in
:data:`FIELDS` order, not as an object repeating the seven keys (less than half the bytes,
and the breakdown is most of a purchase row: the writes, commits and WAL checkpoints of a
bulk import shrink with it).

The ORM column type :class:`BreakdownJson` packs on write and unpacks on read, so code that
reads ``Purchase.breakdown`` (the API answer) sees the rows as objects, as before. A row
stored as an object (written before this format) is read as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

FIELDS = ("rule_id", "name", "applied", "reason", "effect", "value", "points")
# Optional fields after FIELDS, stored only by the rows that have them (a standing
# discount's ``amount``), so the rows of points keep their seven values.
OPTIONAL = ("amount",)


def pack(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """The stored form of breakdown rows."""
    return [_packed(row) for row in rows]


def _packed(row: Mapping[str, Any]) -> list[Any]:
    values = [row[name] for name in FIELDS]
    extra = [row.get(name) for name in OPTIONAL]
    while extra and extra[-1] is None:
        extra.pop()
    return values + extra


def unpack(stored: Sequence[Any]) -> list[dict[str, Any]]:
    """Breakdown rows from their stored form (arrays, or objects as written before)."""
    return [row if isinstance(row, dict) else _unpacked(row) for row in stored]


def _unpacked(row: Sequence[Any]) -> dict[str, Any]:
    names = FIELDS + OPTIONAL[: max(0, len(row) - len(FIELDS))]
    return dict(zip(names, row, strict=True))


class BreakdownJson(TypeDecorator[list[dict[str, Any]]]):
    """A JSON column (JSONB on PostgreSQL) holding breakdown rows packed by :func:`pack`."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def process_bind_param(
        self, value: list[dict[str, Any]] | None, dialect: Dialect
    ) -> list[Any] | None:
        return None if value is None else pack(value)

    def process_result_value(
        self, value: Any | None, dialect: Dialect
    ) -> list[dict[str, Any]] | None:
        return None if value is None else unpack(value)
