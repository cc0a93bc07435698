"""API keys: an optional expiry and the time of last use (issue 16)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("expires_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("last_used_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
