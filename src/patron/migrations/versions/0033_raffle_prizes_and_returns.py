"""raffle prizes by rank, what the draw counted, entries taken back by returns (issue 12,
part 2)

``raffle_entries.taken_back`` (entries a return took back before the draw) and
``raffle_entries.counted_at`` (when the draw counted the row; null: not counted);
``raffle_draws.prizes`` (what each winner received), ``raffle_draws.counted`` and
``raffle_draws.digest`` (how many entry rows the draw counted and their SHA-256).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 09:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.kit.db

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("raffle_entries") as table:
        table.add_column(
            sa.Column("taken_back", sa.BigInteger(), server_default="0", nullable=False)
        )
        table.add_column(
            sa.Column("counted_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("raffle_draws") as table:
        table.add_column(sa.Column("prizes", _JSON, nullable=True))
        table.add_column(sa.Column("counted", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raffle_draws") as table:
        table.drop_column("digest")
        table.drop_column("counted")
        table.drop_column("prizes")
    with op.batch_alter_table("raffle_entries") as table:
        table.drop_column("counted_at")
        table.drop_column("taken_back")
