"""instant prizes and raffles (issue 12, part 2)

``campaign_counters.draws`` (the qualifying purchases an every-N-th prize counted),
``campaign_seeds`` (each prize or raffle campaign's committed seed), ``raffle_entries`` (the
entries each purchase earned) and ``raffle_draws`` (a raffle's recorded draw).

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-06 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.kit.db

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _program_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["program_id"],
        ["programs.id"],
        name=op.f(f"fk_{table}_program_id_programs"),
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    with op.batch_alter_table("campaign_counters") as table:
        table.add_column(sa.Column("draws", sa.BigInteger(), server_default="0", nullable=False))
    op.create_table(
        "campaign_seeds",
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("seed_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        _program_fk("campaign_seeds"),
        sa.PrimaryKeyConstraint("program_id", "campaign_key", name=op.f("pk_campaign_seeds")),
    )
    op.create_table(
        "raffle_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("purchase_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_raffle_entries_member_id_members"),
            ondelete="CASCADE",
        ),
        _program_fk("raffle_entries"),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["purchases.id"],
            name=op.f("fk_raffle_entries_purchase_id_purchases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_entries")),
        sa.UniqueConstraint(
            "purchase_id",
            "campaign_key",
            name=op.f("uq_raffle_entries_purchase_id_campaign_key"),
        ),
    )
    with op.batch_alter_table("raffle_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_raffle_entries_program_id_campaign_key",
            ["program_id", "campaign_key"],
            unique=False,
        )
    op.create_table(
        "raffle_draws",
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("tickets", _JSON, nullable=False),
        sa.Column("winners", _JSON, nullable=False),
        sa.Column("drawn_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.String(length=200), nullable=False),
        _program_fk("raffle_draws"),
        sa.PrimaryKeyConstraint("program_id", "campaign_key", name=op.f("pk_raffle_draws")),
    )


def downgrade() -> None:
    op.drop_table("raffle_draws")
    with op.batch_alter_table("raffle_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_raffle_entries_program_id_campaign_key")
    op.drop_table("raffle_entries")
    op.drop_table("campaign_seeds")
    with op.batch_alter_table("campaign_counters") as table:
        table.drop_column("draws")
