"""Reward edits (create, change, disable, enable) from the console: each one is a new program
version with the ``rewards:`` section written anew (``patron.programs.sections``, as the
campaigns' edits), validated and versioned exactly like ``patron program apply``. Usage of the
catalogue: the coupons of each reward by state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.programs import sections
from patron.programs.schemas import AppliedProgram
from patron.programs.sections import Written, merge_patch
from patron.rewards.errors import RewardExistsError, RewardNotFoundError
from patron.rewards.repository import RewardRepository


@dataclass(frozen=True, slots=True)
class RewardUsage:
    """A reward's coupons: issued in all, still to use (or out of date), used, cancelled."""

    issued: int = 0
    active: int = 0
    consumed: int = 0
    cancelled: int = 0


async def reward_usage(session: AsyncSession, *, program_id: int) -> dict[str, RewardUsage]:
    """Each redeemed reward's coupons by state (a reward never redeemed is absent)."""
    usage = {}
    for code, counts in (await RewardRepository(session).usage(program_id)).items():
        usage[code] = RewardUsage(
            issued=sum(counts.values()),
            active=counts.get("active", 0),
            consumed=counts.get("consumed", 0),
            cancelled=counts.get("cancelled", 0),
        )
    return usage


def _written(rewards: list[Written]) -> list[Written]:
    """The rewards as the file writes them: ``enabled: true`` is the default, left out."""
    return [{k: v for k, v in r.items() if not (k == "enabled" and v is True)} for r in rewards]


def _index(rewards: list[Written], code: str) -> int:
    for index, reward in enumerate(rewards):
        if reward.get("code") == code:
            return index
    raise RewardNotFoundError(code)


async def _edit(
    session: AsyncSession, *, program_key: str, created_by: str, change: sections.Change
) -> AppliedProgram:
    return await sections.edit_section(
        session,
        program_key=program_key,
        created_by=created_by,
        name="rewards",
        change=lambda rewards: _written(change(rewards)),
    )


async def create_reward(
    session: AsyncSession, *, program_key: str, data: Written, created_by: str
) -> AppliedProgram:
    """Add a reward (written as in the program file) at the end of ``rewards``."""
    code = data.get("code")
    if not isinstance(code, str) or not code:
        raise InvalidInputError("a reward needs a code", field="code")

    def add(rewards: list[Written]) -> list[Written]:
        if any(r.get("code") == code for r in rewards):
            raise RewardExistsError(
                f"the program already has a reward {code!r}", field="code", params={"code": code}
            )
        return [*rewards, data]

    return await _edit(session, program_key=program_key, created_by=created_by, change=add)


async def change_reward(
    session: AsyncSession, *, program_key: str, code: str, patch: Written, created_by: str
) -> AppliedProgram:
    """Apply a JSON merge patch to the reward ``code`` (its code itself cannot change):
    ``{"enabled": false}`` disables it, ``{"enabled": true}`` enables it again."""
    if "code" in patch and patch["code"] != code:
        raise InvalidInputError("a reward's code cannot change", field="code")

    def edit(rewards: list[Written]) -> list[Written]:
        index = _index(rewards, code)
        changed = list(rewards)
        changed[index] = merge_patch(rewards[index], patch)
        return changed

    return await _edit(session, program_key=program_key, created_by=created_by, change=edit)
