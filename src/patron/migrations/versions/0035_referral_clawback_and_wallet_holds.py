"""referral clawbacks of coupons, held cashback (issue 12, parts 5, 7 and 10)

``referrals.clawed_back_points``: what a clawback took back (points reversed plus the points
price of the coupons voided; the KPIs count it as given back); ``referrals.clawback_coupons``:
each coupon the referral gave and what the clawback did with it (voided, or used and kept).
``wallet_holds``: cashback that fell due while its member was blocked, credited when the block
is lifted.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 09:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.kit.db

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clawed_back_points", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "clawback_coupons",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    op.create_table(
        "wallet_holds",
        sa.Column("id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=160), nullable=False),
        sa.Column("effect_index", sa.Integer(), nullable=False),
        sa.Column("occurred_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("held_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_wallet_holds_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_wallet_holds_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_holds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_wallet_holds_idempotency_key")),
    )
    with op.batch_alter_table("wallet_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_holds_member_id_released_at", ["member_id", "released_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_holds_member_id_released_at")
    op.drop_table("wallet_holds")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("clawback_coupons")
        batch_op.drop_column("clawed_back_points")
