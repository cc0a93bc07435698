"""cashback wallet (issue 12, part 5)

``wallets``: one per member, its currency and cached balance (never below 0);
``wallet_entries``: append-only signed entries with the balance each left;
``purchases.wallet_paid``: the part of a purchase's total its member's wallet paid (a plain
column added with a default, so SQLite does not copy the table).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patron.kit.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_wallets_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_wallets_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("member_id", name=op.f("uq_wallets_member_id")),
    )
    op.create_table(
        "wallet_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("wallet_id", _ID, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "credit",
                "spend",
                "reverse",
                name="wallet_entry_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=True),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=160), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", patron.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_wallet_entries_amount_not_zero")),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_wallet_entries_balance_after_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_wallet_entries_wallet_id_wallets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_wallet_entries_idempotency_key")),
    )
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_entries_member_id_id", ["member_id", "id"], unique=False)
        batch_op.create_index(
            "ix_wallet_entries_purchase_id",
            ["purchase_id"],
            unique=False,
            sqlite_where=sa.text("purchase_id IS NOT NULL"),
            postgresql_where=sa.text("purchase_id IS NOT NULL"),
        )
    op.add_column(
        "purchases",
        sa.Column("wallet_paid", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("purchases", "wallet_paid")
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_entries_purchase_id")
        batch_op.drop_index("ix_wallet_entries_member_id_id")
    op.drop_table("wallet_entries")
    op.drop_table("wallets")
