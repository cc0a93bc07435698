"""members' emails and phones stored with a trailing newline lose it

Until the validators used ``re.match`` with a pattern ending in ``$`` (fixed 2026-12-07),
an email or phone sent through the API with one trailing newline (``"anna@example.org\\n"``)
was stored with it. Such an address matches no lookup, and a message to it is written with
an empty line after its ``To`` header, so the headers that follow (the subject, the
unsubscribe headers) would be read as the body. This strips that one newline from the stored values; nothing else
in them changes (every other value was checked whole).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATEMENTS = {
    "postgresql": "UPDATE members SET {0} = left({0}, -1) WHERE right({0}, 1) = E'\\n'",
    "sqlite": "UPDATE members SET {0} = substr({0}, 1, length({0}) - 1) "
    "WHERE substr({0}, -1) = char(10)",
}


def upgrade() -> None:
    statement = _STATEMENTS[op.get_bind().dialect.name]
    for column in ("email", "phone"):
        op.execute(sa.text(statement.format(column)))


def downgrade() -> None:
    """Nothing to undo: the newline was never part of the address."""
