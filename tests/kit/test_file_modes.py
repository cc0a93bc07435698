"""Files that hold members' data or code to run are private to their owner (issue 16):
a new SQLite database (and its WAL) and backups have mode 0600; a cached feedback model is
written 0600 and read only from a file and directory that no other user could write."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from patron.feedback.analysis import model
from patron.kit.backup import backup_sqlite
from patron.kit.db import Database
from patron.migrations import upgrade_schema


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_its_wal_and_its_backup_are_private(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    await upgrade_schema(str(path))
    database = Database(str(path))
    async with database.write() as session:
        await session.execute(text("CREATE TABLE probe (x INTEGER)"))
    assert _mode(path) == 0o600
    assert _mode(Path(f"{path}-wal")) == 0o600
    await database.dispose()
    copy = tmp_path / "copy.db"
    backup_sqlite(path, copy)
    assert _mode(copy) == 0o600


def test_a_model_cache_is_written_private_and_read_only_when_private(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = cache / "feedback-model-x.pickle"
    model._write(model.FeedbackModel.__new__(model.FeedbackModel), target)
    assert (_mode(cache), _mode(target)) == (0o700, 0o600)
    assert model._trusted(target)
    target.chmod(0o620)
    assert not model._trusted(target)
    target.chmod(0o600)
    cache.chmod(0o777)
    assert not model._trusted(target)
