"""docs/program.md documents every field of the program file, and its worked examples hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from patron.programs.loader import load_program
from patron.programs.schema import Program
from patron.rules.context import LineContext, PurchaseContext
from patron.rules.engine import evaluate
from tests.programs.test_loader import SEED

DOC = (Path(__file__).resolve().parents[2] / "docs" / "program.md").read_text()


def fields(model: type[BaseModel]) -> Iterator[str]:
    for name, field in model.model_fields.items():
        yield name
        yield from _nested(field.annotation)


def _nested(annotation: object) -> Iterator[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from fields(annotation)
    for argument in getattr(annotation, "__args__", ()):
        yield from _nested(argument)


@pytest.mark.parametrize("name", sorted(set(fields(Program))))
def test_every_field_is_documented(name: str) -> None:
    assert re.search(rf"`(?:[\w\[\].]*\.)?{name}(?:[.[][^`]*)?`", DOC), name


def test_the_seed_examples_in_the_doc_hold() -> None:
    program = load_program(SEED)
    tuesday = PurchaseContext(
        occurred_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
        lines=(LineContext("c1", "coffee", 1, 50000), LineContext("t1", "tea", 1, 70000)),
        total=120000,
        tier_id="silver",
    )
    saturday = PurchaseContext(
        occurred_at=datetime(2026, 12, 5, 10, tzinfo=UTC),
        lines=(LineContext("c1", "coffee", 2, 50000), LineContext("t1", "tea", 1, 1100000)),
        total=1230000,
        shipping=30000,
        tier_id="gold",
    )
    used_up = PurchaseContext(
        occurred_at=saturday.occurred_at,
        lines=saturday.lines,
        total=saturday.total,
        shipping=saturday.shipping,
        tier_id="gold",
        rule_usage={"weekend-boost": 4},
    )
    assert evaluate(program, tuesday).points == 212
    assert "floor(212.5) = 212" in DOC
    assert evaluate(program, saturday).points == 3425
    assert "= 2925 + 500 = 3425" in DOC
    assert evaluate(program, used_up).points == 2450
    assert "x 1.5) + 500 = 2450" in DOC
