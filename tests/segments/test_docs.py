"""docs/segments.md and the `segments` section of docs/program.md say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from patron.programs.loader import load_program
from patron.programs.segmentation import DEFAULT_RFM_GRID
from patron.segments.rfm import quintile_scores
from tests.conftest import SEED_PROGRAM

DOCS = Path(__file__).resolve().parents[2] / "docs"
SEGMENTS = (DOCS / "segments.md").read_text()
PROGRAM = (DOCS / "program.md").read_text()


def test_the_grid_table_is_the_default_map() -> None:
    cells: dict[str, list[str]] = {}
    for r, row in re.findall(r"^\| \*\*(\d)\*\* \|(.*)\|$", SEGMENTS, flags=re.MULTILINE):
        for f, name in enumerate(row.split("|"), start=1):
            cells.setdefault(name.strip(), []).append(f"{r}{f}")
    assert {name: sorted(c) for name, c in cells.items()} == {
        name: sorted(c) for name, c in DEFAULT_RFM_GRID.items()
    }


def test_the_worked_tie_example() -> None:
    values = pl.Series("frequency", [1, 1, 1, 2, 2, 3, 3, 4, 5, 6])
    assert quintile_scores(values).to_list() == [1, 1, 1, 3, 3, 4, 4, 4, 5, 5]
    assert "5·8 // 20 + 1 = **3**" in SEGMENTS


def test_the_program_example_is_valid() -> None:
    section = PROGRAM[PROGRAM.index("## `segments`") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", 10)]
    program = load_program(SEED_PROGRAM.read_text() + example)
    assert program.segments is not None
    assert program.segments.segment_of()[(4, 4)] == "best"
    assert len(program.segments.segment_of()) == 25
