"""campaigns' money budgets (issue 12, part 1)

``campaign_counters.money_spent``: the money (minor units) a campaign's cashback
(``credit_wallet``) was claimed for, counted against ``budget.money``; and when the money
budget's alerts were emitted (``money_spent_alerted_at``, ``money_pacing_alerted_at``).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_counters") as batch:
        batch.add_column(
            sa.Column("money_spent", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "money_spent_alerted_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "money_pacing_alerted_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_counters") as batch:
        batch.drop_column("money_pacing_alerted_at")
        batch.drop_column("money_spent_alerted_at")
        batch.drop_column("money_spent")
