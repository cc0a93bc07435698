"""The example of docs/import.md imports as the page says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from patron.kit.db import Database
from patron.purchases.bulk.service import import_purchases
from tests.conftest import REPO
from tests.purchases.bulk.factories import NOW, apply, enrol

PAGE = (REPO / "docs" / "import.md").read_text(encoding="utf-8")


def _block(kind: str) -> str:
    found = re.search(rf"```{kind}\n(.*?)```", PAGE, re.DOTALL)
    assert found is not None
    return found.group(1)


async def test_the_documented_example_gives_the_documented_summary(
    database: Database, tmp_path: Path
) -> None:
    await enrol(database, await apply(database, "default"), ["c-17"])
    path = tmp_path / "example.csv"
    path.write_text(_block("csv"), encoding="utf-8")
    report = await import_purchases(database, path=path, now=NOW)
    expected = json.loads(_block("json"))
    assert report.to_dict() | {"seconds": 0} == expected | {"seconds": 0}
