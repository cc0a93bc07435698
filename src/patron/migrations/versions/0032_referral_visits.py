"""referral link visits (issue 12 §7 / issue 13: the referral funnel's "invited" step)

``referral_visits``: one row per member and visitor who opened the member's referral link
(``/join?ref=CODE``), the visitor named by the SHA-256 of a random cookie id.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_visits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("visitor_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_referral_visits_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_referral_visits_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_visits")),
        sa.UniqueConstraint(
            "member_id", "visitor_digest", name=op.f("uq_referral_visits_member_id_visitor_digest")
        ),
    )
    with op.batch_alter_table("referral_visits", schema=None) as batch_op:
        batch_op.create_index("ix_referral_visits_program_id", ["program_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referral_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_visits_program_id")
    op.drop_table("referral_visits")
