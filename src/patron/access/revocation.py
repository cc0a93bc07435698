"""A revoked API key stops working at once in every process (issue 16).

Each server process caches the keys it authenticated (:mod:`patron.access.service`), so that
the purchase path pays no query per request. A revocation must empty those caches in every
process, not only in the one that revoked:

- **SQLite** (one host): the revoking unit of work, once it commits, replaces a signal file
  beside the database (``<database>-keys``, mode 0600). Before a process trusts its cache it
  compares the file's inode and modification time with what it saw last (one ``stat``, about
  a microsecond) and empties the cache when they changed.
- **PostgreSQL** (any number of hosts): the revocation sends ``NOTIFY patron_keys`` in its
  transaction, delivered when it commits; each server process listens on a connection of its
  own and empties its cache on a notice. While that connection is down the cache is not
  trusted at all (every request reads its key).

A process without a watch (the CLI, a test client) keeps the cache's time limit and empties
its own cache when it revokes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "patron_keys"
SIGNAL_SUFFIX = "-keys"


class Watch(Protocol):
    def cache_trusted(self) -> bool:
        """Whether cached keys may be used now; a watch empties the cache itself when it
        learns of a revocation."""
        ...


def signal_path(database: str | None) -> Path | None:
    """The signal file of a SQLite database file (``None`` for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database + SIGNAL_SUFFIX)


def _write_signal(path: Path) -> None:
    """Replace the signal file (a new inode: noticed even within one clock tick)."""
    partial = path.with_name(path.name + f".{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as output:
        output.write(os.urandom(16))
    os.replace(partial, path)


async def announce(session: AsyncSession, key_id: int) -> None:
    """Tell every process, in ``session``'s unit of work, that key ``key_id`` was revoked."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :key)"), {"channel": CHANNEL, "key": str(key_id)}
        )
        return
    path = signal_path(bind.engine.url.database)
    if path is None:
        return

    def committed(_session: Any) -> None:
        with contextlib.suppress(OSError):  # the revocation stands; other caches time out
            _write_signal(path)

    event.listen(session.sync_session, "after_commit", committed, once=True)


class FileWatch:
    """SQLite: notices a replaced signal file."""

    def __init__(self, path: Path, clear: Any) -> None:
        self.path = path
        self.clear = clear
        self.seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_ino, found.st_mtime_ns

    def cache_trusted(self) -> bool:
        stamp = self._stamp()
        if stamp != self.seen:
            self.seen = stamp
            self.clear()
        return True


class NotifyWatch:
    """PostgreSQL: a connection of the process's own that LISTENs on :data:`CHANNEL`."""

    def __init__(self, clear: Any) -> None:
        self.clear = clear
        self.connection: Any = None

    async def start(self, url: str) -> None:
        import asyncpg  # the PostgreSQL driver; SQLite processes never import it here

        from patron.kit.db import database_url

        dsn = database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
        self.connection = await asyncpg.connect(dsn)
        await self.connection.add_listener(CHANNEL, self._notified)
        self.connection.add_termination_listener(self._lost)
        self.clear()  # anything cached before the listener ran is checked again

    def _notified(self, *_args: Any) -> None:
        self.clear()

    def _lost(self, *_args: Any) -> None:
        self.connection = None
        self.clear()

    def cache_trusted(self) -> bool:
        return self.connection is not None and not self.connection.is_closed()

    async def stop(self) -> None:
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.close()
        self.connection = None
