"""A large file's rows checked in several processes give exactly what one process gives:
the same rows, the same problems in file order, and a repeated ``external_id`` refused on
its later row even when the two rows fall in different chunks."""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from patron.members.models import ConsentChannel, Language
from patron.onboarding import checking
from patron.onboarding.rows import Context
from patron.onboarding.service import read_members
from patron.programs.loader import load_program
from patron.purchases.bulk.source import ROW
from tests.onboarding.factories import NOW, customer, customers, write_csv

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-program.yaml"


def test_several_processes_check_as_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = customers(1000)
    rows[900] = customer(5)  # row 901 repeats row 5: a later slice than the first
    rows[300] = customer(299)  # row 301 repeats row 299, in the same slice
    frame = read_members(write_csv(tmp_path / "c.csv", rows), attributes=["city"]).drop(ROW)
    context = Context(load_program(SEED.read_text()), NOW, "PL", ("city",))

    alone = checking.check_frame(frame, context, processes=1)
    monkeypatch.setattr(checking, "PARALLEL_FROM_ROWS", 100)
    monkeypatch.setattr(checking, "CHUNK_ROWS", 300)
    submitted: list[int] = []

    class Counted(ProcessPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            submitted.append(args[0].height)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(checking, "ProcessPoolExecutor", Counted)
    together = checking.check_frame(frame, context, processes=3)

    assert submitted == [300, 300, 100]  # this process checked rows 1-300
    chunks = list(checking.check_chunks(frame, context, processes=2))
    assert [len(parsed) for parsed, _ in chunks] == [300, 300, 300, 100]

    assert together == alone
    assert [row.checksum if row else None for row in together[0]] == [
        row.checksum if row else None for row in alone[0]
    ]
    # enums come back as enums (a str enum equals its value, so == alone would not tell)
    kinds = {
        (type(row.language), *(type(channel) for channel in row.consents))
        for row in together[0]
        if row is not None and row.language is not None
    }
    assert kinds == {(Language, ConsentChannel)} | {(Language, ConsentChannel, ConsentChannel)}
    refused = [index + 1 for index, found in enumerate(alone[1]) if found]
    assert refused == [17, 301, 450, 901, 998]
    assert [alone[1][index - 1][0].code.value for index in (301, 901)] == [
        "duplicate_external_id",
        "duplicate_external_id",
    ]


def test_a_small_file_is_checked_here() -> None:
    assert checking.PARALLEL_FROM_ROWS >= 1000
    assert 1 <= checking.default_processes() <= checking.MAX_PROCESSES
