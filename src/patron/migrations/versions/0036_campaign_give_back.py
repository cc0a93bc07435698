"""returns give back to campaigns' budgets and usage (issue 12)

``campaign_applications`` records what the purchase claimed from its campaign's counters
(``counted``: the counter row; ``money``: the cashback claimed from the money budget;
``period_key``: the member's usage row) and what returns gave back of it so far
(``points_returned``, ``money_returned``, ``uses_returned``). Rows written before this
revision claimed unknown counters: they keep ``counted`` false and no ``period_key``, so a
return gives nothing back to the counters for them.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_applications") as batch:
        batch.add_column(
            sa.Column("counted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("money", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("period_key", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("points_returned", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("money_returned", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("uses_returned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_applications") as batch:
        for name in (
            "uses_returned",
            "money_returned",
            "points_returned",
            "period_key",
            "money",
            "counted",
        ):
            batch.drop_column(name)
