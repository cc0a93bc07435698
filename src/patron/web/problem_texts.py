"""A program file's problems as a person reads them: each problem's ``code`` and ``params``
(``patron.programs.explain.explain``, docs/program.md) in the page's language.

A problem whose code has no text here (``invalid``: a rule written in English only) is shown
with its English ``message``; so is one whose params do not fill its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from patron.programs.errors import ProgramProblem
from patron.web.templating import gettext_for


def _texts(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "missing": _("is required"),
        "not_a_mapping": _("must be a mapping (key: value pairs)"),
        "not_a_list": _("must be a list"),
        "not_text": _("must be text"),
        "not_a_whole_number": _("must be a whole number"),
        "not_a_number": _("must be a number"),
        "not_true_or_false": _("must be true or false"),
        "not_a_date": _("must be a date such as 2026-12-31"),
        "not_a_time": _("must be a time such as 18:30"),
        "unknown_field+suggestion": _("is not a known field; did you mean %(suggestion)s?"),
        "unknown_field+known": _("is not a known field; known fields here: %(known)s"),
        "lowercase_key": _(
            "must be 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        ),
        "key": _("must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"),
        "pattern": _("must match the pattern %(pattern)s"),
        "one_of": _("must be one of %(choices)s"),
        "empty": _("must not be empty"),
        "too_short": _("must be at least %(min_length)s characters long"),
        "too_long": _("must be at most %(max_length)s characters long"),
        "too_few_items": _("needs at least %(min_length)s items"),
        "too_many_items": _("takes at most %(max_length)s items"),
        "too_many_decimal_places": _("takes at most %(decimal_places)s digits after the point"),
        "greater_than": _("must be greater than %(bound)s"),
        "greater_than_equal": _("must be %(bound)s or more"),
        "less_than": _("must be less than %(bound)s"),
        "less_than_equal": _("must be %(bound)s or less"),
        "written_twice": _("is written twice (lines %(first_line)s and %(line)s)"),
        "nul_character": _("must not contain a NUL character"),
        "file_too_long": _("the program file is longer than %(max_characters)s characters"),
        "too_many_values": _(
            "the program file has more than %(max_values)s values once aliases are expanded"
        ),
        "yaml_syntax": _("is not valid YAML: %(detail)s"),
        "unreadable": _("the program file cannot be read: %(detail)s"),
        "empty_file": _("the program file is empty"),
    }


def _key(problem: ProgramProblem) -> str:
    if problem.code == "unknown_field":
        return (
            "unknown_field+suggestion" if "suggestion" in problem.params else "unknown_field+known"
        )
    return problem.code


def problem_text(problem: ProgramProblem, language: str) -> str:
    """What is wrong, in ``language`` (English ``message`` when there is no text for it)."""
    template = _texts(gettext_for(language)).get(_key(problem))
    if template is None:
        return problem.message
    try:
        return template % problem.params if "%(" in template else template
    except (KeyError, TypeError, ValueError):
        return problem.message


def in_language(problems: Sequence[ProgramProblem], language: str) -> list[ProgramProblem]:
    """``problems`` with each ``message`` written in ``language``."""
    return [replace(problem, message=problem_text(problem, language)) for problem in problems]


KNOWN_CODES = frozenset(code.split("+")[0] for code in _texts(lambda text: text))
"""Every problem code the console writes in the reader's language (a test holds the loader's
codes to this set)."""
