"""The members example of docs/import.md imports as the page says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from patron.kit.db import Database
from patron.onboarding.service import import_members, read_members
from tests.conftest import REPO
from tests.onboarding.factories import NOW
from tests.purchases.bulk.factories import apply

PAGE = (REPO / "docs" / "import.md").read_text(encoding="utf-8")


def _block(kind: str) -> str:
    found = re.search(rf"```{kind} members\n(.*?)```", PAGE, re.DOTALL)
    assert found is not None
    return found.group(1)


async def test_the_documented_members_example_gives_the_documented_summary(
    database: Database, tmp_path: Path
) -> None:
    await apply(database, "default")
    path = tmp_path / "customers.csv"
    path.write_text(_block("csv"), encoding="utf-8")
    options = {"attributes": ["city"], "phone_region": "PL", "now": NOW}
    dry = await import_members(
        database, read_members(path, attributes=["city"]), dry_run=True, **options
    )  # type: ignore[arg-type]
    assert (dry.new, dry.refused, dry.dry_run) == (2, 1, True)
    frame = read_members(path, attributes=["city"])
    report = await import_members(database, frame, skip_bad=True, **options)  # type: ignore[arg-type]
    expected = json.loads(_block("json"))
    assert report.to_dict() | {"seconds": 0} == expected | {"seconds": 0}
