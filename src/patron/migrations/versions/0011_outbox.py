"""the transactional outbox: domain events and their handler runs

``outbox_events`` holds each event written in the unit of work that caused it;
``dispatched_at`` is set once every handler that wants it is done or dead (a partial index keeps
the undispatched ones quick to find). ``due_at`` sets an event whose handler waits for a retry
aside until then; ``claimed_until`` is a dispatcher's lease on it. ``outbox_handler_runs`` records each (event, handler):
done, retry (with the next attempt's time) or dead.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("program_id", sa.BigInteger(), nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("dispatched_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    op.create_index(
        "ix_outbox_events_undispatched",
        "outbox_events",
        ["id"],
        unique=False,
        sqlite_where=sa.text("dispatched_at IS NULL"),
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_table(
        "outbox_handler_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_outbox_handler_runs_event_id_outbox_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_handler_runs")),
        sa.UniqueConstraint(
            "event_id", "handler", name=op.f("uq_outbox_handler_runs_event_id_handler")
        ),
    )


def downgrade() -> None:
    op.drop_table("outbox_handler_runs")
    op.drop_index("ix_outbox_events_undispatched", table_name="outbox_events")
    op.drop_table("outbox_events")
