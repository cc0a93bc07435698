"""purchase lines carry their discounts: the line's own and its share of the order's

``discount`` is money off the whole line as the shop sent it; ``order_discount`` is the line's
share of the order-level discount (a total below the lines plus shipping), spread by the
largest remainder (``patron.rules.allocation``). A line was paid ``amount - discount -
order_discount``; returns refund that. Existing lines get 0 for both (the columns' server
default, so PostgreSQL adds them without rewriting the table). On SQLite the check
constraint is added by rebuilding the table (Alembic's batch mode).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchase_lines") as batch:
        batch.add_column(sa.Column("discount", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("order_discount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_purchase_lines_discounts"),
            "discount >= 0 AND order_discount >= 0 AND discount + order_discount <= amount",
        )


def downgrade() -> None:
    with op.batch_alter_table("purchase_lines") as batch:
        batch.drop_constraint(op.f("ck_purchase_lines_discounts"), type_="check")
        batch.drop_column("order_discount")
        batch.drop_column("discount")
