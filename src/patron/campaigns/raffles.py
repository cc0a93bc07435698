"""Raffles: the entries members earn, the draw, and what is shown of both.

A purchase a raffle campaign applies to earns entries (``raffle_entries``, one row per
purchase, written with the purchase: :func:`add_entries`). Once the campaign's window is over,
:func:`draw_raffle` (``patron campaigns draw KEY``) draws the winners from the campaign's
committed seed and the entries per member
(:func:`patron.rules.vocabulary.prizes.draw_winners`), records them with the entries they were
drawn from (``raffle_draws``, one row per campaign: a second draw answers the first) and emits
``campaigns.raffle_drawn``; the winners get the raffle's ``prize``, if it names one
(:mod:`patron.campaigns.raffle_prizes`). :func:`raffle_view` shows the entries so far and
the seed's hash, and after the draw the seed, the winners and the entries by member.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.campaigns.errors import CampaignNotFoundError, NotARaffleError, RaffleNotEndedError
from patron.campaigns.events import CampaignRaffleDrawn
from patron.campaigns.models import RaffleDraw, RaffleEntry
from patron.campaigns.prizes import ensure_seed, seed_row
from patron.campaigns.raffle_prizes import give_prizes
from patron.campaigns.schemas import Raffle, RaffleEntries, RafflePrizeGiven, RaffleWinner
from patron.kit.errors import InvalidInputError
from patron.kit.money import format_amount
from patron.kit.outbox import emit
from patron.kit.raw import Sql, json_text, raw_of
from patron.programs.schemas import ActiveProgram
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.prizes import MAX_WINNERS, draw_winners, entries_digest, seed_hash
from patron.rules.vocabulary.prizes import Raffle as RaffleSpec

_INSERT_ENTRY = Sql(
    "INSERT INTO raffle_entries (program_id, campaign_key, purchase_id, member_id, entries, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6)"
)
_INSERT_DRAW = Sql(
    "INSERT INTO raffle_draws (program_id, campaign_key, requested, entries, tickets, winners, "
    "drawn_at, drawn_by, counted, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (program_id, campaign_key) DO NOTHING RETURNING campaign_key"
)
# the draw counts the rows not counted yet, marking them (a return's take-back of a row the
# draw marked finds it counted, and a row inserted after the draw stays uncounted)
_COUNT_ENTRIES = Sql(
    "UPDATE raffle_entries SET counted_at = $3 "
    "WHERE program_id = $1 AND campaign_key = $2 AND counted_at IS NULL "
    "RETURNING purchase_id, member_id, entries - taken_back"
)
_SET_PRIZES = Sql("UPDATE raffle_draws SET prizes = $3 WHERE program_id = $1 AND campaign_key = $2")


async def add_entries(
    session: AsyncSession,
    *,
    program_id: int,
    purchase_id: int,
    member_id: int,
    entries: Iterable[tuple[str, int]],
    now: datetime,
) -> None:
    """The raffle entries one purchase earned (in the purchase's unit of work)."""
    raw = await raw_of(session)
    await raw.many(
        _INSERT_ENTRY,
        [(program_id, key, purchase_id, member_id, count, now) for key, count in entries],
    )


def _raffle_campaign(active: ActiveProgram, key: str) -> Campaign:
    campaign = active.program.campaign(key)
    if campaign is None:
        raise CampaignNotFoundError(f"the active program has no campaign {key!r}", field="key")
    if campaign.raffle is None:
        raise NotARaffleError(
            f"the campaign {key!r} is not a raffle (it has no raffle: section)", field="key"
        )
    return campaign


async def tickets(session: AsyncSession, program_id: int, key: str) -> list[tuple[int, int]]:
    """``(member id, entries)`` of every member with entries (those returns left), by member
    id."""
    kept = func.sum(RaffleEntry.entries - RaffleEntry.taken_back)
    rows = await session.execute(
        select(RaffleEntry.member_id, kept)
        .where(RaffleEntry.program_id == program_id, RaffleEntry.campaign_key == key)
        .group_by(RaffleEntry.member_id)
        .having(kept > 0)
        .order_by(RaffleEntry.member_id)
    )
    return [(int(member), int(entries)) for member, entries in rows]


def _by_member(rows: Iterable[tuple[int, int, int]]) -> list[tuple[int, int]]:
    totals: dict[int, int] = {}
    for _, member, entries in rows:
        totals[member] = totals.get(member, 0) + entries
    return sorted((member, entries) for member, entries in totals.items() if entries > 0)


async def draw_raffle(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    key: str,
    winners: int | None,
    now: datetime,
    drawn_by: str,
) -> Raffle:
    """Draw the raffle ``key`` once (see the module docstring); drawn before, the recorded
    draw is answered whatever ``winners`` says."""
    campaign = _raffle_campaign(active, key)
    raffle = campaign.raffle
    assert raffle is not None
    program_id = active.program_id
    if await session.get(RaffleDraw, (program_id, key)) is None:
        timezone = active.program.program.timezone
        _, ends_at = campaign.window.bounds(timezone)
        if now < ends_at:
            raise RaffleNotEndedError(
                f"the raffle {key!r} is drawn once its window is over, from "
                f"{ends_at.isoformat(' ', 'minutes')} ({timezone})",
                field="key",
            )
        wanted = raffle.winners if winners is None else winners
        if not 1 <= wanted <= MAX_WINNERS:
            raise InvalidInputError(f"winners must be from 1 to {MAX_WINNERS}", field="winners")
        raw = await raw_of(session)
        rows = [
            (int(p), int(m), int(e))
            for p, m, e in await raw.all(_COUNT_ENTRIES, program_id, key, now)
        ]
        found = _by_member(rows)
        seed = await ensure_seed(session, program_id, key)
        chosen = draw_winners(seed, key, found, wanted)
        total = sum(entries for _, entries in found)
        inserted = await raw.one(
            _INSERT_DRAW,
            program_id,
            key,
            wanted,
            total,
            json_text([list(pair) for pair in found]),
            json_text(chosen),
            now,
            drawn_by,
            len(rows),
            entries_digest(rows),
        )
        if inserted is not None:
            event = CampaignRaffleDrawn(
                campaign_key=key,
                winners=chosen,
                entries=total,
                participants=len(found),
                seed_hash=seed_hash(seed),
                seed=seed,
            )
            await emit(session, event, program_id=program_id, occurred_at=now)
            given = await give_prizes(
                session, active=active, campaign=campaign, winners=chosen, now=now
            )
            records = json_text([item.record() for item in given])
            await raw.run(_SET_PRIZES, program_id, key, records)
        audit_service.note(session, target=f"campaign:{key}", changed=inserted is not None)
    else:
        audit_service.note(session, target=f"campaign:{key}", changed=False)
    return await raffle_view(session, active=active, key=key, now=now)


def _prize(raffle: RaffleSpec) -> dict[str, Any] | None:
    if raffle.prize is None:
        return None
    return raffle.prize.model_dump(mode="json", exclude_none=True)


def _given(record: dict[str, Any]) -> RafflePrizeGiven:
    amount, currency = record.get("amount"), record.get("currency")
    return RafflePrizeGiven(
        kind=record["kind"],
        given=record["given"],
        points=record.get("points"),
        reward=record.get("reward"),
        coupon_code=record.get("coupon_code"),
        amount=None if amount is None else format_amount(int(amount), str(currency)),
        amount_minor=amount,
        currency=currency,
        reason=record.get("reason"),
    )


async def _uncounted(session: AsyncSession, program_id: int, key: str) -> tuple[int, int]:
    """``(purchases, entries)`` of the entry rows the draw did not count."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(RaffleEntry.entries - RaffleEntry.taken_back), 0),
            ).where(
                RaffleEntry.program_id == program_id,
                RaffleEntry.campaign_key == key,
                RaffleEntry.counted_at.is_(None),
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def _taken_back(session: AsyncSession, program_id: int, key: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(RaffleEntry.taken_back), 0)).where(
            RaffleEntry.program_id == program_id, RaffleEntry.campaign_key == key
        )
    )
    return int(total or 0)


async def raffle_view(
    session: AsyncSession, *, active: ActiveProgram, key: str, now: datetime
) -> Raffle:
    """The raffle's entries and seed hash; after the draw, its seed, winners and what each
    received, what it counted, and the entries it did not count."""
    campaign = _raffle_campaign(active, key)
    raffle = campaign.raffle
    assert raffle is not None
    program_id = active.program_id
    seed = await seed_row(session, program_id, key)
    status = campaign.status_at(now, active.program.program.timezone).value
    drawn = await session.get(RaffleDraw, (program_id, key))
    common = {
        "key": key,
        "status": status,
        "seed_hash": None if seed is None else seed.seed_hash,
        "prize": _prize(raffle),
        "prizes": [item.model_dump(mode="json", exclude_none=True) for item in raffle.prizes],
        "entries_taken_back": await _taken_back(session, program_id, key),
    }
    if drawn is None:
        found = await tickets(session, program_id, key)
        return Raffle(
            **common,
            entries=sum(entries for _, entries in found),
            participants=len(found),
            winners_wanted=raffle.winners,
            drawn=False,
        )
    by_member = {int(member): int(entries) for member, entries in drawn.tickets}
    given = {int(item["rank"]): _given(item) for item in drawn.prizes or []}
    late_purchases, late_entries = await _uncounted(session, program_id, key)
    return Raffle(
        **common,
        entries=drawn.entries,
        participants=len(by_member),
        winners_wanted=drawn.requested,
        drawn=True,
        drawn_at=drawn.drawn_at,
        seed=None if seed is None else seed.seed,
        winners=[
            RaffleWinner(
                rank=rank,
                member_id=int(member),
                entries=by_member.get(int(member), 0),
                prize=given.get(rank),
            )
            for rank, member in enumerate(drawn.winners, start=1)
        ],
        entries_by_member=[RaffleEntries(member_id=m, entries=e) for m, e in by_member.items()],
        counted=drawn.counted,
        entries_digest=drawn.digest,
        not_counted_purchases=late_purchases,
        not_counted_entries=late_entries,
    )
