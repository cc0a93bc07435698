"""points.expiring notices (issue 11 part 1)

``points_expiry_notices``: one row per member and expiry date the daily job announced with a
``points.expiring`` event, written with the event; its unique key keeps a date from being
announced twice.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "points_expiry_notices",
        sa.Column("id", Id, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_expiry_notices")),
        sa.UniqueConstraint(
            "member_id", "expires_on", name=op.f("uq_points_expiry_notices_member_id_expires_on")
        ),
    )
    op.create_index(
        "ix_points_expiry_notices_expires_on",
        "points_expiry_notices",
        ["expires_on"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_points_expiry_notices_expires_on", table_name="points_expiry_notices")
    op.drop_table("points_expiry_notices")
