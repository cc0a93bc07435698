"""Every YAML example of docs/campaigns.md and docs/partners.md is a valid part of a program
file, so the documents cannot drift from the format.

A block is one of: whole sections (``campaigns:``, ``referrals:``, ``partners:``...), which
are put into the seed program (a list's items replace the seed's item of the same key or
code, or are added); items of a list at two spaces (``  - key: ...`` for campaigns,
``  - code: ...`` for rewards, ``  - id: ...`` for partners), put under their section; or
the fields of one campaign at four spaces (``    audience: ...``), put into a campaign of
their own. The result is loaded as ``patron program validate`` loads a file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from tests.conftest import REPO, SEED_PROGRAM

DOCS = ("docs/campaigns.md", "docs/partners.md")
_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
# the section of a list written without its header, by the key of its first item
_SECTION_OF_ITEM = {"key": "campaigns", "code": "rewards", "id": "partners"}
_IDENTITY = ("key", "code", "id")
_CAMPAIGN = """campaigns:
  - key: doc-fields
    name: {en: "The documented fields"}
    window: {start: "2027-01-01", end: "2027-01-31"}
    effect: {bonus_points: 1}
"""


def _blocks() -> list[tuple[str, str]]:
    found = []
    for name in DOCS:
        text = (REPO / name).read_text()
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the block's first line
            found.append((f"{Path(name).name}:{line}", match.group(1)))
    return found


def _fragment(block: str) -> dict[str, Any]:
    """The block as program sections."""
    first = next(line for line in block.splitlines() if line.strip())
    indent = len(first) - len(first.lstrip())
    if indent == 0:
        sections: dict[str, Any] = yaml.safe_load(block)
        return sections
    if indent == 2 and first.lstrip().startswith("- "):
        field = first.lstrip()[2:].split(":", 1)[0]
        return {_SECTION_OF_ITEM[field]: yaml.safe_load(block)}
    assert indent == 4, f"a block indented {indent} is not a known part of a program"
    sections = yaml.safe_load(_CAMPAIGN + block)
    return sections


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        return next((item[name] for name in _IDENTITY if name in item), None)
    return None


def _program(fragment: dict[str, Any]) -> dict[str, Any]:
    program: dict[str, Any] = yaml.safe_load(SEED_PROGRAM.read_text())
    for section, value in fragment.items():
        present = program.get(section)
        if isinstance(present, list) and isinstance(value, list):
            replaced = {_identity(item) for item in value} - {None}
            kept = [item for item in present if _identity(item) not in replaced]
            program[section] = kept + value
        else:
            program[section] = value
    return program


def test_the_documents_hold_yaml_examples() -> None:
    """The reading below finds the blocks (a changed fence would make the test vacuous)."""
    per_document = {name: 0 for name in DOCS}
    for where, _ in _blocks():
        per_document[f"docs/{where.split(':')[0]}"] += 1
    assert all(count > 0 for count in per_document.values()), per_document
    assert per_document["docs/campaigns.md"] >= 20


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=[where for where, _ in _blocks()])
def test_a_documented_example_is_a_valid_program_part(where: str, block: str) -> None:
    text = yaml.safe_dump(_program(_fragment(block)), allow_unicode=True, sort_keys=False)
    try:
        load_program(text)
    except ProgramInvalidError as error:
        problems = "\n".join(problem.format() for problem in error.problems)
        pytest.fail(f"{where}: the example is not a valid program part:\n{problems}")


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("    audience: {tiers: [platinum]}\n", "names unknown tiers ['platinum']"),
        ("  - key: oops\n    name: {en: x}\n    efect: {bonus_points: 1}\n", "efect"),
    ],
)
def test_a_broken_example_is_caught(block: str, problem: str) -> None:
    """The wrapping hides no mistake: an unknown tier, a misspelt field."""
    with pytest.raises(ProgramInvalidError) as raised:
        load_program(yaml.safe_dump(_program(_fragment(block)), allow_unicode=True))
    assert any(problem in found.format() for found in raised.value.problems)
