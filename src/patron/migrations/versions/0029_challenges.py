"""challenges and badges (issue 12, part 9)

``challenge_progress``: a member's progress on a challenge per period; ``challenge_steps``:
what each challenge counted, once per occurrence; ``member_badges``: the badges a member
earned, once each.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _owners(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f(f"fk_{table}_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f(f"fk_{table}_program_id_programs"),
            ondelete="RESTRICT",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "challenge_progress",
        _id("id"),
        _id("program_id"),
        sa.Column("challenge_key", sa.String(length=64), nullable=False),
        _id("member_id"),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("last_week", sa.Date(), nullable=True),
        sa.Column("completed_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        *_owners("challenge_progress"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_progress")),
        sa.UniqueConstraint(
            "program_id",
            "challenge_key",
            "member_id",
            "period_key",
            name="uq_challenge_progress_period",
        ),
    )
    op.create_index(
        "ix_challenge_progress_member_id", "challenge_progress", ["member_id"], unique=False
    )
    op.create_table(
        "challenge_steps",
        _id("id"),
        _id("program_id"),
        sa.Column("challenge_key", sa.String(length=64), nullable=False),
        _id("member_id"),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("occurrence", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        *_owners("challenge_steps"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_steps")),
        sa.UniqueConstraint(
            "program_id",
            "challenge_key",
            "member_id",
            "occurrence",
            name="uq_challenge_steps_occurrence",
        ),
    )
    op.create_index("ix_challenge_steps_member_id", "challenge_steps", ["member_id"], unique=False)
    op.create_table(
        "member_badges",
        _id("id"),
        _id("program_id"),
        _id("member_id"),
        sa.Column("badge_key", sa.String(length=64), nullable=False),
        sa.Column("challenge_key", sa.String(length=64), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("earned_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        *_owners("member_badges"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_badges")),
        sa.UniqueConstraint(
            "member_id", "badge_key", name=op.f("uq_member_badges_member_id_badge_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("member_badges")
    op.drop_index("ix_challenge_steps_member_id", table_name="challenge_steps")
    op.drop_table("challenge_steps")
    op.drop_index("ix_challenge_progress_member_id", table_name="challenge_progress")
    op.drop_table("challenge_progress")
