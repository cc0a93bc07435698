"""the program's own messages (issue 12, deferred ``send_message``): a message keyed by the
campaign's application

``messages.dedupe_key`` (nullable), unique per channel: a ``campaign`` message is keyed by
the application of the effect that sent it, so an effect that ran twice makes one message.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_messages_channel_dedupe_key"), ["channel", "dedupe_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_messages_channel_dedupe_key"), type_="unique")
        batch_op.drop_column("dedupe_key")
