"""``PATRON_WRITE_GROUPS``: how many purchase groups a server process writes at a time on
PostgreSQL (one by default; always one on SQLite)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from patron.api.app import create_app
from patron.api.deps import WRITE_GROUPS_ENV, write_group_limit, write_groups
from patron.kit.db import Database


@pytest.mark.parametrize(("value", "limit"), [(None, 1), ("", 1), (" ", 1), ("1", 1), ("3", 3)])
def test_the_setting_reads_a_whole_number(value: str | None, limit: int) -> None:
    assert write_group_limit(value) == limit


@pytest.mark.parametrize("value", ["0", "-1", "65", "two", "1.5"])
def test_a_bad_setting_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(ValueError, match=f"{WRITE_GROUPS_ENV} must be a whole number from 1"):
        write_group_limit(value)


def test_a_bad_setting_stops_the_app_before_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WRITE_GROUPS_ENV, "many")
    with pytest.raises(ValueError, match="not 'many'"):
        create_app("sqlite:///unused.db")


def test_the_app_keeps_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WRITE_GROUPS_ENV, "4")
    assert create_app("sqlite:///unused.db").state.write_group_limit == 4
    monkeypatch.delenv(WRITE_GROUPS_ENV)
    assert create_app("sqlite:///unused.db").state.write_group_limit == 1


async def test_postgresql_takes_the_limit_and_sqlite_one_writer(database: Database) -> None:
    request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(write_group_limit=3)))
    groups = write_groups(request, database)
    assert groups.max_groups == (1 if database.is_sqlite else 3)
    assert write_groups(request, database) is groups  # made once per app and database
