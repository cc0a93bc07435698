"""Edits of one top-level section of the program file (``campaigns:``, ``rewards:``) through
the API, the CLI and the console: each one makes a new program version exactly like
``patron program apply`` (the same validation, with every problem and its path, the same
versioning, the same diff).

The new version's source is the active version's source with only that section written anew
(from the normalised items, optional fields left out when empty); the rest of the file,
comments included, is kept as it was. A file whose section is not a block at the start of a
line gets the section appended (and is then refused for the key written twice: edit such a
file by hand).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from patron.programs import service as program_service
from patron.programs.document import document_of
from patron.programs.schemas import AppliedProgram

Written = dict[str, Any]
Change = Callable[[list[Written]], list[Written]]
_TOP_LEVEL = re.compile(r"^[^\s#-]")  # a key at column 0 (a list item or comment is not)


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key (``rewards:`` then ``  - code: ...``), as the
    program files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def lean(value: Any) -> Any:
    """The value without ``None`` fields (they are the defaults) and empty lists."""
    if isinstance(value, dict):
        return {k: lean(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [lean(item) for item in value]
    return value


def replace_section(source: str, name: str, items: list[Written]) -> str:
    """``source`` with its top-level ``name:`` block replaced by ``items`` (or appended)."""
    section = yaml.dump(
        {name: items}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    start_of = re.compile(rf"^{re.escape(name)}[ \t]*:")
    lines = source.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if start_of.match(line)), None)
    if start is None:
        separator = "" if source.endswith("\n") or not source else "\n"
        return source + separator + "\n" + section
    end = next((i for i in range(start + 1, len(lines)) if _TOP_LEVEL.match(lines[i])), len(lines))
    while end - 1 > start and (lines[end - 1].startswith("#") or not lines[end - 1].strip()):
        end -= 1  # comments at column 0 and blank lines before the next key belong to it
    return "".join(lines[:start]) + section + "".join(lines[end:])


def merge_patch(target: Written, patch: Written) -> Written:
    """RFC 7386: ``null`` removes a field (back to its default), objects merge, anything else
    replaces."""
    merged = dict(target)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict):
            # an object merges into the field, or into {} when the field is not an object
            # (RFC 7386): its nulls never land in the document
            found = merged.get(name)
            merged[name] = merge_patch(found if isinstance(found, dict) else {}, value)
        else:
            merged[name] = value
    return merged


async def edit_section(
    session: AsyncSession,
    *,
    program_key: str,
    created_by: str,
    name: str,
    change: Change,
) -> AppliedProgram:
    """Apply ``change`` to the active version's ``name`` section (as written, normalised) and
    apply the result as a new version (``unchanged`` when it says the same)."""
    active = await program_service.get_active_program(session, key=program_key)
    detail = await program_service.get_version(session, key=program_key, version=active.version)
    written = [lean(item) for item in document_of(active.program).get(name, [])]
    text = replace_section(detail.source_yaml, name, change(written))
    return await program_service.apply_program(
        session, text=text, key=program_key, created_by=created_by
    )
