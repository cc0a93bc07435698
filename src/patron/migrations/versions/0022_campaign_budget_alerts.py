"""campaign budget alerts (issue 12)

``campaign_counters.spent_alerted_at`` and ``pacing_alerted_at``: when the campaign's
``campaigns.budget_alert`` events (the share of the budget spent, the burn rate) were emitted,
so that each is emitted once.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_counters") as table:
        table.add_column(
            sa.Column("spent_alerted_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        table.add_column(
            sa.Column("pacing_alerted_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_counters") as table:
        table.drop_column("pacing_alerted_at")
        table.drop_column("spent_alerted_at")
