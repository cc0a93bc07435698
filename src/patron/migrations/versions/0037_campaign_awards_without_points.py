"""campaign awards without points (issue 12: deferred effects on other triggers)

``campaign_awards.entry_id`` may be null: a campaign on a trigger other than a purchase may
give only deferred effects (a coupon, a wallet credit), and then credits no ledger entry.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 09:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_awards", schema=None) as batch_op:
        batch_op.alter_column("entry_id", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # an award without points has no entry to name: it goes (its coupon and credit stay)
    op.execute("DELETE FROM campaign_awards WHERE entry_id IS NULL")
    with op.batch_alter_table("campaign_awards", schema=None) as batch_op:
        batch_op.alter_column("entry_id", existing_type=sa.BigInteger(), nullable=False)
