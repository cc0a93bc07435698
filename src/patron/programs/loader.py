"""Read a program file (YAML) into a validated :class:`~patron.programs.schema.Program`.

Every problem is reported at once, each with the path of the field at fault
(``earning.rules[1].effect.multiply_lines``), a message in plain words (``must be greater
than 0``) and the line of the source it is on. Two YAML 1.1 traps are closed: a key written
twice in one mapping is an error (PyYAML would silently keep the last), and ``10:30`` stays the
text ``"10:30"`` instead of the base-60 number 630.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from patron.kit.errors import Param
from patron.programs.errors import ProgramInvalidError, ProgramProblem
from patron.programs.schema import Program

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 sexagesimal numbers (``10:30`` is text, not 630)."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """PyYAML's dates, but an impossible one (``2026-02-30``) is a located YAML error."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as error:
        message = f"{node.value!r} is not a valid date ({error})"
        raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

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
_PATH_PREFIX = re.compile(
    r"^((?:[A-Za-z_]\w*|\[\d+\])(?:\.[A-Za-z_]\w*|\[\d+\])*): (\S.*)$", re.DOTALL
)
# YAML aliases can make a short file expand to billions of values ("billion laughs").
MAX_CHARACTERS = 1_000_000
MAX_VALUES = 100_000
_PATH_PART = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")


def load_program(text: str) -> Program:
    """Parse and validate a program file; raises :class:`ProgramInvalidError` with every
    problem found (YAML syntax errors stop at the first, as the parser cannot go on)."""
    if len(text) > MAX_CHARACTERS:
        message = f"the program file is longer than {MAX_CHARACTERS} characters"
        params: dict[str, Param] = {"max_characters": MAX_CHARACTERS}
        raise ProgramInvalidError([ProgramProblem("", message, None, "file_too_long", params)])
    root, data = _parse(text)
    problems = [*_duplicate_keys(root, ()), *_nul_characters(root, ())]
    if not isinstance(data, dict):
        message = "the program file must be a mapping of sections"
        problems.append(ProgramProblem("", message, 1, "not_a_mapping"))
        raise ProgramInvalidError(problems)
    try:
        program = Program.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            problems.extend(problems_from_error(detail, root))
        problems.sort(key=lambda problem: problem.line or 0)
        raise ProgramInvalidError(problems) from None
    if problems:
        raise ProgramInvalidError(problems)
    return program


def _parse(text: str) -> tuple[yaml.Node, object]:
    """The node tree (for lines and duplicate keys) and the plain data, from one parse."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        # counted before anything is built: merge keys (<<) are expanded while constructing,
        # and PyYAML before 6.0.4 spent seconds and hundreds of MB on a 469-byte file there
        if root is not None and _value_count(root) > MAX_VALUES:
            message = (
                f"the program file has more than {MAX_VALUES} values once aliases are expanded"
            )
            params: dict[str, Param] = {"max_values": MAX_VALUES}
            raise ProgramInvalidError(
                [ProgramProblem("", message, None, "too_many_values", params)]
            )
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = error.problem or error.context or "is not valid YAML"
        yaml_params: dict[str, Param] = {"detail": message}
        if mark is None:
            problem = ProgramProblem("", message, None, "yaml_syntax", yaml_params)
            raise ProgramInvalidError([problem]) from None
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        yaml_params |= {"line": mark.line + 1, "column": mark.column + 1}
        problem = ProgramProblem(where, message, mark.line + 1, "yaml_syntax", yaml_params)
        raise ProgramInvalidError([problem]) from None
    except (yaml.YAMLError, ValueError, TypeError) as error:
        message = f"cannot be read: {error}"
        problem = ProgramProblem("", message, None, "unreadable", {"detail": str(error)})
        raise ProgramInvalidError([problem]) from None
    finally:
        loader.dispose()
    if root is None:
        raise ProgramInvalidError(
            [ProgramProblem("", "the program file is empty", 1, "empty_file")]
        )
    return root, data


def _value_count(root: yaml.Node) -> int:
    """Nodes of the tree with aliases expanded, counted up to just past :data:`MAX_VALUES`."""
    count, stack = 0, [root]
    while stack and count <= MAX_VALUES:
        node = stack.pop()
        count += 1
        if isinstance(node, yaml.MappingNode):
            stack.extend(value for _key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return count


def _duplicate_keys(node: yaml.Node, loc: Loc) -> Iterator[ProgramProblem]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            line = key.start_mark.line + 1
            if name is not None and name in seen:
                message = f"is written twice (lines {seen[name]} and {line})"
                params: dict[str, Param] = {"first_line": seen[name], "line": line}
                yield ProgramProblem(
                    format_path((*loc, name)), message, line, "written_twice", params
                )
            elif name is not None:
                seen[name] = line
            yield from _duplicate_keys(value, (*loc, name if name is not None else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _nul_characters(node: yaml.Node, loc: Loc) -> Iterator[ProgramProblem]:
    """A NUL character (written ``"\\0"``) in a key or a value: PostgreSQL cannot store it in
    the normalised document (it answered 500)."""
    if isinstance(node, yaml.ScalarNode):
        if "\x00" in node.value:
            message = "must not contain a NUL character"
            line = node.start_mark.line + 1
            yield ProgramProblem(format_path(loc), message, line, "nul_character")
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            yield from _nul_characters(key, (*loc, name))
            yield from _nul_characters(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _nul_characters(item, (*loc, index))


def problems_from_error(
    detail: ErrorDetails, root: yaml.Node | None = None
) -> list[ProgramProblem]:
    """One pydantic error as problems with readable paths and messages.

    A validator's message may begin with a path relative to where the validator sits
    (``levels: tier thresholds must strictly increase`` on ``tiers``); that path is appended.
    A validator that found several problems gives one ``path: message`` per line (each such
    line is an ``invalid`` problem: English only).
    """
    code, params, text = explain(detail)
    lines = text.split("\n")
    problems: list[ProgramProblem] = []
    for message in lines:
        loc: Loc = tuple(detail["loc"])
        match = _PATH_PREFIX.match(message)
        if match:
            loc = (*loc, *split_path(match.group(1)))
            message = match.group(2)
        line_code, line_params = (code, params) if len(lines) == 1 else ("invalid", {})
        problems.append(
            ProgramProblem(format_path(loc), message, _line_of(root, loc), line_code, line_params)
        )
    return problems


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


def format_path(loc: Loc) -> str:
    """``("earning", "rules", 1, "effect")`` -> ``earning.rules[1].effect``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def split_path(path: str) -> Loc:
    """The inverse of :func:`format_path`."""
    return tuple(int(index) if index else name for name, index in _PATH_PART.findall(path))


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node of ``loc`` written in the source."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pair = next((pair for pair in node.value if pair[0].value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
