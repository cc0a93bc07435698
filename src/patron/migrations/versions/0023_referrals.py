"""referrals (issue 12)

``referrals``: one row per member enrolled with another member's referral code (its status,
the abuse checks' flags, the qualifying purchase and when it stands, the points and cost of
the reward); ``member_fingerprints``: the SHA-256 of device and payment fingerprints given at
enrolment, for the self-referral check.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 21:06:31
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.kit.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_fingerprints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "device",
                "payment",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_fingerprints_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_member_fingerprints_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_fingerprints")),
        sa.UniqueConstraint(
            "member_id", "kind", "digest", name=op.f("uq_member_fingerprints_member_id_kind_digest")
        ),
    )
    with op.batch_alter_table("member_fingerprints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_fingerprints_program_id_digest", ["program_id", "digest"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "referrer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "referee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "qualified",
                "rewarded",
                "flagged",
                "rejected",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("purchase_id", sa.BigInteger(), nullable=True),
        sa.Column("due_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("referrer_points", sa.BigInteger(), nullable=False),
        sa.Column("referee_points", sa.BigInteger(), nullable=False),
        sa.Column("cost_points", sa.BigInteger(), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("qualified_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rewarded_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("flagged_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_referrals_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referee_id"],
            ["members.id"],
            name=op.f("fk_referrals_referee_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["members.id"],
            name=op.f("fk_referrals_referrer_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("referee_id", name=op.f("uq_referrals_referee_id")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referrals_program_id_status", ["program_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_referrals_referrer_id_created_at", ["referrer_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_referrer_id_created_at")
        batch_op.drop_index("ix_referrals_program_id_status")

    op.drop_table("referrals")
    with op.batch_alter_table("member_fingerprints", schema=None) as batch_op:
        batch_op.drop_index("ix_member_fingerprints_program_id_digest")

    op.drop_table("member_fingerprints")
