"""partner keys (issue 12, part 8)

``api_keys.partner_id``: the partner (the program's ``partners[].id``) a ``partner`` key acts
for. Partner purchases and payments are ledger entries (sources ``partner_earn`` and
``partner_burn``) and purchases of channel ``partner``: no table of their own.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("partner_id", sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("partner_id")
