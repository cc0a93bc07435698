"""Read a program file (YAML) into a validated :class:`~patron.programs.schema.Program`.

Every problem is reported at once, each with the path of the field at fault
(``earning.rules[1].effect.multiply_lines``), a message in plain words (``must be greater
than 0``) and the line of the source it is on. Two YAML 1.1 traps are closed: a key written
twice in one mapping is an error (PyYAML would silently keep the last), and ``10:30`` stays the
text ``"10:30"`` instead of the base-60 number 630.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from patron.kit.errors import Param
from patron.programs.errors import ProgramInvalidError, ProgramProblem
from patron.programs.explain import Loc, explain
from patron.programs.schema import Program


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


def _unprintable(text: str, error: yaml.reader.ReaderError) -> ProgramProblem:
    """The problem of a character YAML refuses in ``text``, at its line and column."""
    before = text[: error.position]
    line = before.count("\n") + 1
    column = error.position - (before.rfind("\n") + 1) + 1
    message = f"the character U+{error.character:04X} is not allowed in YAML"
    params: dict[str, Param] = {"detail": message, "line": line, "column": column}
    return ProgramProblem(f"line {line}, column {column}", message, line, "yaml_syntax", params)


def _parse(text: str) -> tuple[yaml.Node, object]:
    """The node tree (for lines and duplicate keys) and the plain data, from one parse."""
    try:
        # the reader checks every character first: a control character anywhere refuses the
        # whole file (YAML's printable set), before the parse
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        raise ProgramInvalidError([_unprintable(text, error)]) from None
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
