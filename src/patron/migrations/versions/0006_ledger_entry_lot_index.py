"""ledger entries by lot: the reversals of one lot without a scan of the whole ledger

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ledger_entries_lot_id",
        "ledger_entries",
        ["lot_id"],
        unique=False,
        sqlite_where=sa.text("lot_id IS NOT NULL"),
        postgresql_where=sa.text("lot_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_lot_id", table_name="ledger_entries")
