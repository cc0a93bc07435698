"""ticket analyses: the text analysis of support tickets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_analyses",
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("label", sa.String(length=16), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column(
            "keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=32), nullable=True),
        sa.Column("severity", sa.Float(), nullable=True),
        sa.Column("money_lost", sa.Boolean(), nullable=False),
        sa.Column("churn_threat", sa.Boolean(), nullable=False),
        sa.Column("rudeness", sa.Boolean(), nullable=False),
        sa.Column("analysed_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_analyses_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_analyses")),
    )


def downgrade() -> None:
    op.drop_table("ticket_analyses")
