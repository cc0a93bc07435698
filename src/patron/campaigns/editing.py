"""Campaign edits through the API and the CLI (create, change, pause, resume): each one makes a
new program version exactly like ``patron program apply``: the same validation (every problem,
with its path), the same versioning, the same diff.

The new version's source is the active version's source with only its top-level
``campaigns:`` section written anew (``patron.programs.sections``, shared with the rewards'
edits): the rest of the file, comments included, is kept as it was.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.errors import CampaignExistsError, CampaignNotFoundError
from patron.campaigns.prizes import commit_active_seeds
from patron.kit.errors import InvalidInputError
from patron.kit.time import utcnow
from patron.programs import sections
from patron.programs.schemas import AppliedProgram
from patron.programs.sections import Written, merge_patch

__all__ = ["change_campaign", "create_campaign", "merge_patch", "replace_section"]


def replace_section(source: str, campaigns: list[Written]) -> str:
    """``source`` with its top-level ``campaigns:`` block replaced (or appended)."""
    return sections.replace_section(source, "campaigns", campaigns)


async def _edit(
    session: AsyncSession,
    *,
    program_key: str,
    created_by: str,
    change: Callable[[list[Written]], list[Written]],
) -> AppliedProgram:
    applied = await sections.edit_section(
        session, program_key=program_key, created_by=created_by, name="campaigns", change=change
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
