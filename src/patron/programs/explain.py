"""Pydantic's errors in the words of the program file: a stable problem ``code``, its ``params``
and an English text ("must be ...", "is required"). docs/program.md lists the codes; the
console writes them in its reader's language from ``code`` and ``params``
(``patron.web.problem_texts``).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from patron.kit.errors import Param
from patron.programs.schema import Program

Loc = tuple[str | int, ...]

_PATTERNS = {
    r"^[a-z0-9][a-z0-9_-]{0,63}$": (
        "lowercase_key",
        "must be 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
    ),
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$": (
        "key",
        "must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit",
    ),
}
_FIXED_MESSAGES = {  # pydantic's kind: (the problem's code, its English text)
    "missing": ("missing", "is required"),
    "model_type": ("not_a_mapping", "must be a mapping (key: value pairs)"),
    "model_attributes_type": ("not_a_mapping", "must be a mapping (key: value pairs)"),
    "dict_type": ("not_a_mapping", "must be a mapping (key: value pairs)"),
    "list_type": ("not_a_list", "must be a list"),
    "tuple_type": ("not_a_list", "must be a list"),
    "string_type": ("not_text", "must be a string"),
    "int_type": ("not_a_whole_number", "must be a whole number"),
    "int_parsing": ("not_a_whole_number", "must be a whole number"),
    "int_from_float": ("not_a_whole_number", "must be a whole number"),
    "decimal_type": ("not_a_number", "must be a number"),
    "decimal_parsing": ("not_a_number", "must be a number"),
    "bool_type": ("not_true_or_false", "must be true or false"),
    "bool_parsing": ("not_true_or_false", "must be true or false"),
    "date_type": ("not_a_date", "must be a date such as 2026-12-31"),
    "date_parsing": ("not_a_date", "must be a date such as 2026-12-31"),
    "date_from_datetime_parsing": ("not_a_date", "must be a date such as 2026-12-31"),
    "date_from_datetime_inexact": ("not_a_date", "must be a date such as 2026-12-31"),
    "time_type": ("not_a_time", "must be a time such as 18:30"),
    "time_parsing": ("not_a_time", "must be a time such as 18:30"),
}
_BOUNDS = {  # pydantic's kind: the bound's name in its context, and the words
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "greater than or equal to"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "less than or equal to"),
}
_SHOULD = re.compile(r"^[A-Z]\w*(?: \w+)? should ")


def readable_message(detail: ErrorDetails) -> str:
    """Pydantic's message in the words of the program file ("must be ...", "is required")."""
    return explain(detail)[2]


def _scalar(value: object) -> Param:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def explain(detail: ErrorDetails) -> tuple[str, dict[str, Param], str]:
    """``(code, params, English text)`` of one pydantic error (docs/program.md lists the
    codes). A validator that raises ``PydanticCustomError(code, template, params)`` gives its
    own code; one that raises ``ValueError`` gives ``invalid``."""
    kind = detail["type"]
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        error = context.get("error")
        text = str(error) if error is not None else detail["msg"].split(", ", 1)[-1]
        return "invalid", {}, text
    if kind == "extra_forbidden":
        return _unknown_field(tuple(detail["loc"]))
    if kind in _FIXED_MESSAGES:
        code, text = _FIXED_MESSAGES[kind]
        return code, {}, text
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        if pattern in _PATTERNS:
            code, text = _PATTERNS[pattern]
            return code, {}, text
        return "pattern", {"pattern": pattern}, f"must match the pattern {pattern}"
    sized = _size_problem(kind, context)
    if sized is not None:
        return sized
    if kind in ("enum", "literal_error"):
        choices = str(context.get("expected", "")).replace(" or ", ", ")
        return "one_of", {"choices": choices}, _SHOULD.sub("must ", detail["msg"])
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        limit = _scalar(context.get(name))
        return kind, {"bound": limit}, f"must be {words} {limit}"
    params = {name: _scalar(value) for name, value in context.items()}
    return kind, params, _SHOULD.sub("must ", detail["msg"])


def _size_problem(kind: str, context: dict[str, Any]) -> tuple[str, dict[str, Param], str] | None:
    """A problem of length, count or decimal places, or ``None``."""
    if kind == "string_too_short":
        size = int(context.get("min_length", 1))
        if size == 1:
            return "empty", {}, "must not be empty"
        return "too_short", {"min_length": size}, f"must be at least {size} characters long"
    if kind == "string_too_long":
        size = int(context.get("max_length", 0))
        return "too_long", {"max_length": size}, f"must be at most {size} characters long"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        name = "min_length" if kind == "too_short" else "max_length"
        size = int(context.get(name, 0))
        code = "too_few_items" if kind == "too_short" else "too_many_items"
        return code, {name: size}, f"must have {bound} {size} item{'' if size == 1 else 's'}"
    if kind == "decimal_max_places":
        places = int(context.get("decimal_places", 0))
        text = f"must have at most {places} decimal place{'' if places == 1 else 's'}"
        return "too_many_decimal_places", {"decimal_places": places}, text
    return None


def _unknown_field(loc: Loc) -> tuple[str, dict[str, Param], str]:
    name = str(loc[-1]) if loc else ""
    fields = sorted(_model_at(loc[:-1]).model_fields)
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    if close:
        text = f"is not a known field; did you mean {close[0]}?"
        return "unknown_field", {"name": name, "suggestion": close[0]}, text
    known = ", ".join(fields)
    text = f"is not a known field; known fields here: {known}"
    return "unknown_field", {"name": name, "known": known}, text


def _model_at(loc: Loc) -> type[BaseModel]:
    """The model class whose fields live at ``loc`` (list indexes are skipped)."""
    model: type[BaseModel] = Program
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        found = _first_model(field.annotation) if field is not None else None
        if found is None:
            return model
        model = found
    return model


def _first_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            found = _first_model(argument)
            if found is not None:
                return found
    return None
