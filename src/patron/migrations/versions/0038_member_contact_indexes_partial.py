"""members' email and phone indexes hold only members with an email or a phone (issue 11)

``ix_members_program_id_email`` and ``ix_members_program_id_phone`` become partial
(``WHERE email IS NOT NULL`` / ``WHERE phone IS NOT NULL``). Every lookup by email or phone
compares with ``=``, which implies the column is not null, so both still serve them, and
they no longer hold an entry for each member without a contact.

Why it matters: before PostgreSQL has statistics of ``members`` (a new database, or the
first minute after members were enrolled or imported in bulk), a lookup by
``(program_id, external_id)`` costs the same through the phone index (``program_id``
matched, ``external_id`` filtered) as through the unique key, and the planner took the phone
index: every member of the program read to find one, for each purchase's lock. A partial
index cannot answer ``program_id = $1`` alone, so the unique key is the only path.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONTACTS = ("email", "phone")


def upgrade() -> None:
    for column in _CONTACTS:
        name = f"ix_members_program_id_{column}"
        op.drop_index(name, table_name="members")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name,
            "members",
            ["program_id", column],
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    for column in _CONTACTS:
        name = f"ix_members_program_id_{column}"
        op.drop_index(name, table_name="members")
        op.create_index(name, "members", ["program_id", column])
