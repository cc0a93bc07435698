"""campaigns on triggers other than a purchase (issue 12): awards and custom events

``campaign_awards`` (one row per campaign applied to a member on a signup, birthday,
anniversary, review, survey answer or custom event; unique per occurrence),
``custom_events`` (``POST /events``, idempotent per program on ``idempotency_key``) and
``members.birth_date_changed_at`` (the birthday campaigns' abuse guard).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 11:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.kit.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaign_awards",
        sa.Column("id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("occurrence", sa.String(length=160), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_campaign_awards_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_campaign_awards_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_awards")),
        sa.UniqueConstraint(
            "program_id",
            "campaign_key",
            "member_id",
            "occurrence",
            name=op.f("uq_campaign_awards_program_id_campaign_key_member_id_occurrence"),
        ),
    )
    with op.batch_alter_table("campaign_awards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_awards_program_id_campaign_key",
            ["program_id", "campaign_key"],
            unique=False,
        )
    op.create_table(
        "custom_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attributes", _JSON, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("result", _JSON, nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_custom_events_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_custom_events_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_events")),
        sa.UniqueConstraint(
            "program_id",
            "idempotency_key",
            name=op.f("uq_custom_events_program_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("custom_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_events_member_id"), ["member_id"], unique=False)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "birth_date_changed_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("birth_date_changed_at")
    with op.batch_alter_table("custom_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_events_member_id"))
    op.drop_table("custom_events")
    with op.batch_alter_table("campaign_awards", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_awards_program_id_campaign_key")
    op.drop_table("campaign_awards")
