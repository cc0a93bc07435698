"""Campaign edits through the API and the CLI (create, change, pause, resume): each one makes a
new program version exactly like ``patron program apply``: the same validation (every problem,
with its path), the same versioning, the same diff.

The new version's source is the active version's source with only its top-level
``campaigns:`` section written anew (from the normalised campaigns, optional fields left out
when empty); the rest of the file, comments included, is kept as it was. A file whose
``campaigns`` is not a block at the start of a line gets the section appended (and is then
refused for the key written twice: edit such a file by hand).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.errors import CampaignExistsError, CampaignNotFoundError
from patron.campaigns.prizes import commit_active_seeds
from patron.kit.errors import InvalidInputError
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.document import document_of
from patron.programs.schemas import AppliedProgram

Written = dict[str, Any]
_SECTION = re.compile(r"^campaigns[ \t]*:")
_TOP_LEVEL = re.compile(r"^[^\s#-]")  # a key at column 0 (a list item or comment is not)


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key (``campaigns:`` then ``  - key: ...``), as the
    program files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _lean(value: Any) -> Any:
    """The value without ``None`` fields (they are the defaults) and empty lists."""
    if isinstance(value, dict):
        return {k: _lean(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_lean(item) for item in value]
    return value


def replace_section(source: str, campaigns: list[Written]) -> str:
    """``source`` with its top-level ``campaigns:`` block replaced (or appended)."""
    section = yaml.dump(
        {"campaigns": campaigns}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    lines = source.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _SECTION.match(line)), None)
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
        elif isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = merge_patch(merged[name], value)
        else:
            merged[name] = value
    return merged


async def _edit(
    session: AsyncSession,
    *,
    program_key: str,
    created_by: str,
    change: Callable[[list[Written]], list[Written]],
) -> AppliedProgram:
    active = await program_service.get_active_program(session, key=program_key)
    detail = await program_service.get_version(session, key=program_key, version=active.version)
    written = [_lean(c) for c in document_of(active.program).get("campaigns", [])]
    text = replace_section(detail.source_yaml, change(written))
    applied = await program_service.apply_program(
        session, text=text, key=program_key, created_by=created_by
    )
    await commit_active_seeds(session, program_key=program_key, now=utcnow())
    return applied


def _index(campaigns: list[Written], key: str) -> int:
    for index, campaign in enumerate(campaigns):
        if campaign.get("key") == key:
            return index
    raise CampaignNotFoundError(f"the active program has no campaign {key!r}", field="key")


async def create_campaign(
    session: AsyncSession, *, program_key: str, data: Written, created_by: str
) -> AppliedProgram:
    """Add a campaign (written as in the program file) at the end of ``campaigns``."""
    key = data.get("key")
    if not isinstance(key, str):
        raise InvalidInputError("a campaign needs a key", field="key")

    def add(campaigns: list[Written]) -> list[Written]:
        if any(c.get("key") == key for c in campaigns):
            raise CampaignExistsError(f"the program already has a campaign {key!r}", field="key")
        return [*campaigns, data]

    return await _edit(session, program_key=program_key, created_by=created_by, change=add)


async def change_campaign(
    session: AsyncSession, *, program_key: str, key: str, patch: Written, created_by: str
) -> AppliedProgram:
    """Apply a JSON merge patch to the campaign ``key`` (its key itself cannot change)."""
    if "key" in patch and patch["key"] != key:
        raise InvalidInputError("a campaign's key cannot change", field="key")

    def edit(campaigns: list[Written]) -> list[Written]:
        index = _index(campaigns, key)
        changed = list(campaigns)
        changed[index] = merge_patch(campaigns[index], patch)
        return changed

    return await _edit(session, program_key=program_key, created_by=created_by, change=edit)
