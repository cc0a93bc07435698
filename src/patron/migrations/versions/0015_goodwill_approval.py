"""goodwill credits: status (credited, pending approval, rejected), the asking key and the
admin's decision; indexes for the per-member and per-key caps (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 08:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("goodwill_credits") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="credited")
        )
        batch.add_column(sa.Column("key_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("decided_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.alter_column("entry_id", existing_type=sa.BigInteger(), nullable=True)
    with op.batch_alter_table("goodwill_credits") as batch:
        batch.alter_column("status", server_default=None)
    op.create_index(
        "ix_goodwill_credits_member_created", "goodwill_credits", ["member_id", "created_at"]
    )
    op.create_index("ix_goodwill_credits_key_created", "goodwill_credits", ["key_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_goodwill_credits_key_created", table_name="goodwill_credits")
    op.drop_index("ix_goodwill_credits_member_created", table_name="goodwill_credits")
    with op.batch_alter_table("goodwill_credits") as batch:
        batch.alter_column("entry_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("key_id")
        batch.drop_column("status")
