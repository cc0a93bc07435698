"""The (R, F) map: each of the 25 cells in exactly one segment, replaceable in the program file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.programs.segmentation import DEFAULT_RFM_GRID, SegmentSettings
from patron.segments.rfm import PURCHASE_SCHEMA, rfm
from tests.conftest import SEED_PROGRAM

# Rows R 5 to 1, columns F 1 to 5: the well-known map.
EXPECTED_GRID = {
    5: ["new", "potential_loyalist", "potential_loyalist", "champion", "champion"],
    4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
}
CELLS = [(r, f, EXPECTED_GRID[r][f - 1]) for r in range(5, 0, -1) for f in range(1, 6)]
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def five_by_five() -> pl.DataFrame:
    """25 members, member 5 (r - 1) + f (r, f in 1..5) with recency and frequency chosen so
    that its scores are (R, F) = (r, f): five members per recency and per frequency."""
    rows = []
    for r in range(1, 6):
        for f in range(1, 6):
            member = 5 * (r - 1) + f
            # recency: R 5 for 1 day ago ... R 1 for 5 days ago; frequency f purchases
            for k in range(f):
                ago = timedelta(days=6 - r + 10 * k, hours=1)
                rows.append((member, AS_OF - ago, 100))
    return pl.DataFrame(rows, schema=PURCHASE_SCHEMA, orient="row")


def test_the_default_map_covers_every_cell_once() -> None:
    cells = [cell for cells in DEFAULT_RFM_GRID.values() for cell in cells]
    assert sorted(cells) == sorted(f"{r}{f}" for r in range(1, 6) for f in range(1, 6))
    assert len(DEFAULT_RFM_GRID) == 10


@pytest.mark.parametrize(("r", "f", "segment"), CELLS)
def test_every_cell_of_the_default_grid(r: int, f: int, segment: str) -> None:
    scored = rfm(five_by_five(), as_of=AS_OF, segment_of=SegmentSettings().segment_of())
    row = scored.filter(pl.col("member_id") == 5 * (r - 1) + f).row(0, named=True)
    assert (row["recency_score"], row["frequency_score"], row["rfm_segment"]) == (r, f, segment)


CUSTOM = """
segments:
  grid:
    best: [55, 54, 45, 44]
    rest: ["11", "12", "13", "14", "15", "21", "22", "23", "24", "25", "31", "32", "33",
           "34", "35", "41", "42", "43", "51", "52", "53"]
  high_value_share: "0.1"
"""


def test_the_map_is_replaced_in_the_program_file() -> None:
    program = load_program(SEED_PROGRAM.read_text() + CUSTOM)
    assert program.segments is not None
    assert program.segments.high_value_share == Decimal("0.1")
    assert program.segments.regular.min_purchases == 3  # defaults fill the rest
    segment_of = program.segments.segment_of()
    scored = rfm(five_by_five(), as_of=AS_OF, segment_of=segment_of)
    best = scored.filter(pl.col("rfm_segment") == "best").get_column("member_id").to_list()
    assert best == [19, 20, 24, 25]  # (4, 4), (4, 5), (5, 4), (5, 5)
    assert scored.filter(pl.col("rfm_segment") == "rest").height == 21


def test_a_program_without_the_section_gets_the_defaults() -> None:
    program = load_program(SEED_PROGRAM.read_text())
    assert program.segments is None
    assert SegmentSettings().grid == DEFAULT_RFM_GRID


@pytest.mark.parametrize(
    ("grid", "problem"),
    [
        ("{all: [11]}", "belong to no segment"),
        ("{a: [11, 11]}", "cell 11 is already in a"),
        ("{a: [66]}", "'66' is not a cell"),
    ],
)
def test_a_map_must_name_every_cell_once(grid: str, problem: str) -> None:
    text = SEED_PROGRAM.read_text() + f"segments:\n  grid: {grid}\n"
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(text)
    assert any(problem in message for _path, message in caught.value.errors), caught.value.errors
