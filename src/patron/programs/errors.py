"""Errors of the programs domain."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from patron.kit.errors import NotFoundError, Param, PatronError


@dataclass(frozen=True, slots=True)
class ProgramProblem:
    """One problem in a program file.

    ``path`` names the field (``earning.rules[1].effect.multiply_lines``; empty for the whole
    document; ``line 4, column 7`` for a YAML syntax error). ``line`` is the 1-based line of
    the source where the field (or its nearest written parent) is, when known. ``code`` says
    what is wrong (``missing``, ``unknown_field``, ``greater_than``, ...; docs/program.md) and
    ``params`` hold the values ``message`` names, so that the console writes the problem in
    its reader's language; ``invalid`` is a rule written in English only.
    """

    path: str
    message: str
    line: int | None = None
    code: str = "invalid"
    params: dict[str, Param] = field(default_factory=dict)

    def format(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProgramInvalidError(PatronError):
    """The program file is not valid; ``problems`` holds every problem found, in file order."""

    code = "program_invalid"
    status = 422

    def __init__(self, problems: Iterable[ProgramProblem]) -> None:
        self.problems: tuple[ProgramProblem, ...] = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        first = self.problems[0].format() if self.problems else ""
        field = self.problems[0].path if self.problems else None
        super().__init__(f"the program file has {count} {noun}; first: {first}", field=field)

    @property
    def errors(self) -> list[tuple[str, str]]:
        """``(path, message)`` pairs, in the order of :attr:`problems`."""
        return [(problem.path, problem.message) for problem in self.problems]

    def format_errors(self) -> list[str]:
        """One ``path: message`` line per problem (print them joined by newlines)."""
        return [problem.format() for problem in self.problems]

    def to_dict(self) -> dict[str, object]:
        details = [
            {
                "path": problem.path,
                "message": problem.message,
                "line": problem.line,
                "code": problem.code,
                "params": problem.params,
            }
            for problem in self.problems
        ]
        return {"error": {**self.body(), "details": details}}


class ProgramNotFoundError(NotFoundError):
    code = "program_not_found"


class ProgramVersionNotFoundError(NotFoundError):
    code = "program_version_not_found"
