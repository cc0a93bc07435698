"""What an import reports: every refused row and the figures of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RowProblem(StrEnum):
    """Why a row was refused (``code`` of a :class:`RowError`)."""

    MISSING_VALUE = "missing_value"
    TOO_LONG = "too_long"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_TIME = "invalid_time"
    INVALID_QUANTITY = "invalid_quantity"
    CURRENCY_MISMATCH = "currency_mismatch"
    PURCHASE_MISMATCH = "purchase_mismatch"
    TOO_MANY_LINES = "too_many_lines"
    UNKNOWN_MEMBER = "unknown_member"
    MEMBER_BLOCKED = "member_blocked"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    TOTAL_MISMATCH = "total_mismatch"
    OCCURRED_IN_FUTURE = "occurred_in_future"


@dataclass(frozen=True, slots=True)
class RowError:
    """One refused row: ``row`` is the 1-based data row of the file (the header not counted).
    ``code`` is a :class:`RowProblem` value, or the error code of the per-event path for a
    purchase it refused."""

    row: int
    column: str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass(slots=True)
class ImportReport:
    """The figures of one import. ``purchases_refused``: purchases with a refused row;
    ``purchases_not_loaded``: the good purchases of refused batches; ``purchases_replayed``:
    the loaded purchases recorded by the per-event path; ``tier_upgrades``: the upgrades made
    on the vectorised path."""

    rows: int = 0
    purchases: int = 0
    purchases_loaded: int = 0
    purchases_skipped_existing: int = 0
    purchases_refused: int = 0
    purchases_not_loaded: int = 0
    purchases_replayed: int = 0
    rows_refused: int = 0
    batches: int = 0
    batches_refused: int = 0
    points_issued: int = 0
    tier_upgrades: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.errors and self.batches_refused == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "purchases": self.purchases,
            "purchases_loaded": self.purchases_loaded,
            "purchases_skipped_existing": self.purchases_skipped_existing,
            "purchases_refused": self.purchases_refused,
            "purchases_not_loaded": self.purchases_not_loaded,
            "purchases_replayed": self.purchases_replayed,
            "rows_refused": self.rows_refused,
            "batches": self.batches,
            "batches_refused": self.batches_refused,
            "points_issued": self.points_issued,
            "tier_upgrades": self.tier_upgrades,
            "seconds": round(self.seconds, 3),
            "errors": [error.to_dict() for error in self.errors],
        }
