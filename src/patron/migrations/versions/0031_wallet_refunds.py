"""wallet refunds and adjustments (issue 12, part 5)

``wallet_entries.kind`` also takes ``refund`` (a return gave back what the wallet paid of a
purchase) and ``adjust`` (an admin's signed correction); ``purchase_returns.wallet_refunded``:
the part of a return's refund that went back to the member's wallet (minor units);
``referrals.clawed_back_at``: when a rewarded referral's points were taken back (its
qualifying purchase was returned).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("credit", "spend", "reverse")
_NEW = (*_OLD, "refund", "adjust")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wallet_entries_wallet_entry_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wallet_entries_wallet_entry_kind"), _kinds(_NEW))
    with op.batch_alter_table("purchase_returns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wallet_refunded", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clawed_back_at", patron.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("clawed_back_at")
    with op.batch_alter_table("purchase_returns", schema=None) as batch_op:
        batch_op.drop_column("wallet_refunded")
    op.execute("DELETE FROM wallet_entries WHERE kind IN ('refund', 'adjust')")
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wallet_entries_wallet_entry_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wallet_entries_wallet_entry_kind"), _kinds(_OLD))
