"""The engine is pure: importing it loads no database, web framework or Polars."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import patron.rules, patron.rules.engine, patron.rules.hints, patron.rules.periods
loaded = {name.split('.')[0] for name in sys.modules}
heavy = sorted(loaded & {'sqlalchemy', 'fastapi', 'starlette', 'polars'})
print(','.join(heavy))
"""


def test_engine_imports_no_database_web_or_polars() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_vectorised_imports_polars_but_no_database_or_web() -> None:
    check = CHECK.replace("patron.rules.periods", "patron.rules.periods, patron.rules.vectorised")
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "polars"
