"""``patron import products`` and ``patron program validate --db`` from the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from patron.kit.db import Database
from patron.migrations import upgrade_schema
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import apply

CATALOGUE = "sku,name,category,price\ncof-1,Coffee,coffee,500.00\nmug,Mug,merch,150.00\n"


async def _prepare(path: Path) -> None:
    database = Database(str(path))
    try:
        await upgrade_schema(database.url)
        await apply(database, "default")
    finally:
        await database.dispose()


def _invoke(*arguments: str) -> tuple[int, dict[str, object], str]:
    from patron.cli.main import app

    result = CliRunner().invoke(app, [*arguments, "--json"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_import_products_then_validate_warns_of_what_the_catalogue_lacks(
    tmp_path: Path,
) -> None:
    database = tmp_path / "shop.db"
    asyncio.run(_prepare(database))
    program = ["program", "validate", str(SEED_PROGRAM), "--db", str(database)]
    code, report, _ = _invoke(*program)
    assert (code, report["warnings"]) == (0, [])  # no catalogue yet: no warnings

    path = tmp_path / "products.csv"
    path.write_text(CATALOGUE + "bad,,tea,1.00\n", encoding="utf-8")
    code, report, _ = _invoke("import", "products", str(path), "--db", str(database))
    assert (code, report["new"], report["refused"], report["not_loaded"]) == (1, 0, 1, 2)
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [  # type: ignore[attr-defined]
        (3, "name", "missing_value")
    ]
    path.write_text(CATALOGUE, encoding="utf-8")
    code, report, _ = _invoke("import", "products", str(path), "--db", str(database))
    assert (code, report["new"]) == (0, 2)
    code, report, _ = _invoke("import", "products", str(path), "--db", str(database))
    assert (code, report["new"], report["unchanged"]) == (0, 0, 2)

    code, report, _ = _invoke(*program)
    assert code == 0
    # the seed program names the category "coffee" (known) and no SKU
    assert report["warnings"] == []
    text = SEED_PROGRAM.read_text(encoding="utf-8").replace(
        "line_category_in: [coffee]",
        "line_category_in: [coffee, tea]\n        line_sku_in: [cof-1, cof-9]",
    )
    changed = tmp_path / "program.yaml"
    changed.write_text(text, encoding="utf-8")
    code, report, _ = _invoke("program", "validate", str(changed), "--db", str(database))
    assert code == 0
    assert report["warnings"] == [
        {
            "path": "earning.rules[0].when.line_category_in[1]",
            "message": "category 'tea' is not in the product catalogue",
        },
        {
            "path": "earning.rules[0].when.line_sku_in[1]",
            "message": "sku 'cof-9' is not in the product catalogue",
        },
    ]


def test_validate_without_a_database_checks_no_catalogue(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    code, report, _ = _invoke("program", "validate", str(SEED_PROGRAM), "--db", str(missing))
    assert (code, report["warnings"]) == (0, [])
    assert not missing.exists()
