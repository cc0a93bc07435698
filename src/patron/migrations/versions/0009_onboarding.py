"""onboarding: imported tiers hold until ``members.tier_until``; the ledger's ``opening`` kind

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ["earn", "bonus", "redeem", "expire", "reverse", "adjust", "transfer"]
CHECK = "ck_ledger_entries_entry_kind"


def _kinds(kinds: list[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _replace_check(kinds: list[str]) -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _kinds(kinds))


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("tier_until", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
    _replace_check([*KINDS, "opening"])


def downgrade() -> None:
    _replace_check(KINDS)
    with op.batch_alter_table("members") as batch:
        batch.drop_column("tier_until")
