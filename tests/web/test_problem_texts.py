"""A program file's problems carry a ``code`` and ``params`` (issue 11 part 7), and the console
writes every code the loader gives in English, Polish and Russian from those alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from patron.programs import explain, loader
from patron.programs.errors import ProgramInvalidError, ProgramProblem
from patron.programs.loader import load_program
from patron.web.problem_texts import KNOWN_CODES, problem_text
from tests.conftest import SEED_PROGRAM

SEED = SEED_PROGRAM.read_text()


def _problems(text: str) -> list[ProgramProblem]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(text)
    return list(caught.value.problems)


def _written_codes() -> set[str]:
    """Codes the loader writes out: the 4th argument of each ``ProgramProblem(...)`` and the
    first item of each ``return "code", params, text`` of its explaining functions
    (:mod:`patron.programs.explain`)."""
    codes: set[str] = set()
    trees = [ast.parse(Path(module.__file__ or "").read_text()) for module in (loader, explain)]
    for node in (node for tree in trees for node in ast.walk(tree)):
        problem = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ProgramProblem"
        if problem and len(node.args) >= 4 and isinstance(node.args[3], ast.Constant):
            codes.add(str(node.args[3].value))
        if isinstance(node, ast.FunctionDef) and node.name in EXPLAINING:
            for inner in ast.walk(node):
                value = inner.value if isinstance(inner, ast.Return) else None
                if isinstance(value, ast.Tuple) and isinstance(value.elts[0], ast.Constant):
                    codes.add(str(value.elts[0].value))
    return codes


EXPLAINING = ("explain", "_size_problem", "_unknown_field")


def test_every_code_the_loader_gives_has_a_text() -> None:
    """The codes of the loader's tables and the ones it writes out are all known to the
    console (``invalid`` is English only)."""
    written = _written_codes()
    written |= {code for code, _ in explain._FIXED_MESSAGES.values()}
    written |= {code for code, _ in explain._PATTERNS.values()}
    written |= set(explain._BOUNDS)
    assert {"missing", "one_of", "written_twice", "yaml_syntax", "too_long"} <= written
    assert written - {"invalid"} <= KNOWN_CODES, sorted(written - KNOWN_CODES)


@pytest.mark.parametrize(
    ("old", "new", "code", "params", "russian"),
    [
        ("    rounding: floor\n", "    rounding: sideways\n", "one_of", None, "одним из"),
        (
            "    rounding: floor\n",
            "    roundin: floor\n",
            "unknown_field",
            {"name": "roundin", "suggestion": "rounding"},
            "может быть, имелось в виду rounding?",
        ),
        (
            "    points: 100\n",
            "    points: 100\n    points: 200\n",
            "written_twice",
            None,
            "записано дважды",
        ),
        ("    points: 100\n", "    points: -5\n", "greater_than", {"bound": 0}, "больше 0"),
        ("    points: 100\n", "    points: ten\n", "not_a_whole_number", {}, "целым числом"),
    ],
)
def test_a_problem_reads_the_same_in_each_language(
    old: str, new: str, code: str, params: dict[str, object] | None, russian: str
) -> None:
    assert old in SEED
    problems = _problems(SEED.replace(old, new, 1))
    problem = next(p for p in problems if p.code == code)
    if params is not None:
        assert problem.params == params
    assert russian in problem_text(problem, "ru")
    polish = problem_text(problem, "pl")
    assert polish != problem.message
    assert polish != problem_text(problem, "ru")
    for value in problem.params.values():
        assert str(value) in problem_text(problem, "ru")


def test_a_rule_in_english_only_and_bad_params_fall_back_to_the_message() -> None:
    english = ProgramProblem("tiers", "tier thresholds must strictly increase", None, "invalid")
    assert problem_text(english, "ru") == english.message
    broken = ProgramProblem("a", "must be greater than 0", None, "greater_than", {})
    assert problem_text(broken, "pl") == broken.message
