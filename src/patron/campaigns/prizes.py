"""Instant prizes and the seeds they and raffles are drawn from.

**Seeds.** Every campaign with ``prize:`` or ``raffle:`` has a secret seed (32 random bytes),
generated and stored (``campaign_seeds``) when a program version holding the campaign is
applied (:func:`commit_seeds`; the purchase path makes one too if a program was applied
without it, :func:`ensure_seed`), and kept per program and campaign key across versions. Its
SHA-256 (``seed_hash``) is shown from then on; the seed itself (:func:`revealed_seed`) only
once the raffle is drawn, or once an instant prize campaign's window is over.

**Instant prizes.** A purchase campaign with ``prize:`` that the stacking policies keep for a
purchase is drawn for (:class:`PrizeDraws`, once per purchase and campaign):

* ``every: N``: the purchase counts on the campaign's counter row (``draws``, one atomic
  upsert that holds the row until the purchase commits, as a budget's claim does); the N-th,
  2N-th, ... count wins;
* ``probability: p``: the purchase wins when :func:`patron.rules.vocabulary.prizes.prize_draw`
  of the seed, the campaign key and the purchase's ``external_id`` is below ``p`` in parts
  per million.

A winning purchase gets the campaign applied as any other (its points, claimed from the
budget and limits, and its deferred effects: a coupon); a losing one gets the row
``applied: false`` with the draw in its reason, and the policies choose again without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import CampaignSeed, RaffleDraw
from patron.campaigns.repository import CampaignRepository
from patron.kit.raw import Sql, raw_of
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.schema import Program
from patron.rules.campaigns import CampaignCheck
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.prizes import PPM, new_seed, prize_draw, seed_hash

_INSERT_SEED = Sql(
    "INSERT INTO campaign_seeds (program_id, campaign_key, seed, seed_hash, created_at) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (program_id, campaign_key) DO NOTHING"
)


def drawn_campaigns(program: Program) -> list[Campaign]:
    """The program's instant prize and raffle campaigns."""
    return [c for c in program.campaigns if c.prize is not None or c.raffle is not None]


async def commit_seeds(
    session: AsyncSession, *, program_id: int, program: Program, now: datetime
) -> None:
    """Make the seed of every prize and raffle campaign of ``program`` that has none yet (in
    the unit of work that applies the program version)."""
    keys = [c.key for c in drawn_campaigns(program)]
    if not keys:
        return
    have = set(
        (
            await session.scalars(
                select(CampaignSeed.campaign_key).where(
                    CampaignSeed.program_id == program_id, CampaignSeed.campaign_key.in_(keys)
                )
            )
        ).all()
    )
    raw = await raw_of(session)
    for key in keys:
        if key not in have:
            seed = new_seed()
            await raw.run(_INSERT_SEED, program_id, key, seed, seed_hash(seed), now)


async def seed_row(session: AsyncSession, program_id: int, key: str) -> CampaignSeed | None:
    return await session.scalar(
        select(CampaignSeed).where(
            CampaignSeed.program_id == program_id, CampaignSeed.campaign_key == key
        )
    )


async def ensure_seed(session: AsyncSession, program_id: int, key: str) -> str:
    """The campaign's seed, made now if the program was applied without one."""
    raw = await raw_of(session)
    rows = await raw.all(
        Sql("SELECT seed FROM campaign_seeds WHERE program_id = $1 AND campaign_key = $2"),
        program_id,
        key,
    )
    if rows:
        return str(rows[0][0])
    seed = new_seed()
    await raw.run(_INSERT_SEED, program_id, key, seed, seed_hash(seed), utcnow())
    rows = await raw.all(
        Sql("SELECT seed FROM campaign_seeds WHERE program_id = $1 AND campaign_key = $2"),
        program_id,
        key,
    )
    return str(rows[0][0])


async def revealed_seed(
    session: AsyncSession,
    *,
    program_id: int,
    campaign: Campaign,
    timezone: str,
    now: datetime,
) -> tuple[str | None, str | None]:
    """``(seed_hash, seed)`` as may be shown at ``now``: the seed only after the raffle's
    draw, or after the prize campaign's window; ``(None, None)`` for other campaigns (or a
    seed not committed yet)."""
    if campaign.prize is None and campaign.raffle is None:
        return None, None
    row = await seed_row(session, program_id, campaign.key)
    if row is None:
        return None, None
    if campaign.raffle is not None:
        drawn = await session.get(RaffleDraw, (program_id, campaign.key))
        return row.seed_hash, row.seed if drawn is not None else None
    _, ends_at = campaign.window.bounds(timezone)
    return row.seed_hash, row.seed if now >= ends_at else None


@dataclass
class PrizeDraws:
    """The instant prize draws of one purchase: each campaign is drawn for once (a claim
    pass that starts again reads the first draw), and the every-N-th counts made are
    remembered so that a purchase recorded before gives them back."""

    reference: str  # the purchase's external id
    results: dict[str, str | None] = field(default_factory=dict)  # key: None won, else why not
    counted: list[str] = field(default_factory=list)

    async def lost(
        self, session: AsyncSession, program_id: int, check: CampaignCheck
    ) -> str | None:
        """Why the purchase did not win the campaign's prize, or ``None`` when it won."""
        key = check.key
        if key not in self.results:
            self.results[key] = await self._draw(session, program_id, check)
        return self.results[key]

    async def _draw(
        self, session: AsyncSession, program_id: int, check: CampaignCheck
    ) -> str | None:
        prize = check.campaign.prize
        assert prize is not None
        key = check.key
        if prize.every is not None:
            number = await CampaignRepository(session).count_draw(program_id, key)
            self.counted.append(key)
            if number % prize.every == 0:
                return None
            return (
                f"instant prize: not won (qualifying purchase {number}; every {prize.every}th wins)"
            )
        seed = await ensure_seed(session, program_id, key)
        draw = prize_draw(seed, key, self.reference)
        if draw < prize.ppm:
            return None
        return f"instant prize: not won (draw {draw} of {PPM}; below {prize.ppm} wins)"


async def commit_active_seeds(session: AsyncSession, *, program_key: str, now: datetime) -> None:
    """:func:`commit_seeds` for the active version of program ``program_key``: called by
    every way a program version is applied (``patron program apply``, ``PUT /program``, the
    campaign edits, the console), in its unit of work."""
    active = await program_service.get_active_program(session, key=program_key)
    await commit_seeds(session, program_id=active.program_id, program=active.program, now=now)
