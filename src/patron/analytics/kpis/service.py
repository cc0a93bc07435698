"""The KPI use case: load the frames of the active program, then compute (read-only).

``kpi_report`` picks the points source by the window: for the whole history up to now (no
``first``/``last`` given) it reads the accounts' cached counters (one row per member, which
``patron verify`` proves equal to the ledger); for any other window it sums the ledger
entries of the window (:func:`.points.member_points`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.analytics.kpis.breakdown import tier_groups
from patron.analytics.kpis.errors import GroupingUnavailableError, KpiWindowError
from patron.analytics.kpis.inputs import POINTS, KpiInputs, KpiSettings, Window
from patron.analytics.kpis.points import member_points
from patron.analytics.kpis.report import compute_kpis, rounded
from patron.analytics.kpis.repository import KpiRepository
from patron.programs import service as program_service
from patron.programs.schema import Program
from patron.programs.schemas import ActiveProgram


class Breakdown(StrEnum):
    TIER = "tier"
    SEGMENT = "segment"  # the RFM segment of ``member_segments``


@dataclass(frozen=True)
class KpiQuery:
    """Days are UTC calendar days, both ends included; None: from the first purchase, to
    today."""

    first: date | None = None
    last: date | None = None
    baseline_first: date | None = None
    baseline_last: date | None = None
    by: tuple[Breakdown, ...] = ()  # in this order, each once
    settings: KpiSettings = field(default_factory=KpiSettings)


EARLIEST, LATEST = date(1970, 1, 1), date(2200, 12, 31)


def _window(first: date | None, last: date, purchases: pl.DataFrame, field_name: str) -> Window:
    if first is None:
        earliest = purchases.get_column("occurred_at").min() if purchases.height else None
        first = earliest.date() if isinstance(earliest, datetime) else last
        first = min(first, last)
    if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
        raise KpiWindowError(
            f"days must lie from {EARLIEST} to {LATEST}",
            field=field_name,
            params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    if first > last:
        raise KpiWindowError("the first day is after the last day", field=field_name)
    return Window.of_days(first, last)


def catalogue_values(program: Program) -> pl.DataFrame:
    """Value (minor units) and points of the money-valued rewards of the catalogue."""
    rows = [
        (program.minor(reward.value), reward.cost_points)
        for reward in program.rewards
        if reward.value is not None
        and reward.kind.value in ("fixed_discount", "gift_certificate", "cashback")
        and reward.cost_points > 0
    ]
    return pl.DataFrame(rows, schema={"value": pl.Int64, "cost_points": pl.Int64}, orient="row")


def _points(frames: _Frames, window: Window, whole_history: bool) -> pl.DataFrame:
    """The points frame from the accounts' counters (whole history) or the ledger entries,
    with the opening balances imported in the window apart."""
    ledger, members = frames.ledger, frames.members
    if whole_history:
        assert frames.openings is not None
        opening = frames.openings.group_by("member_id").agg(opening=pl.col("amount").sum())
        frame = ledger.with_columns(
            redeemed_to_date=pl.col("redeemed"), expired_to_date=pl.col("expired")
        ).join(opening, on="member_id", how="left")
        frame = frame.with_columns(pl.col("opening").fill_null(0))
    else:
        frame = member_points(ledger, window)
    ids = members.get_column("member_id").implode()
    return frame.filter(pl.col("member_id").is_in(ids)).select(list(POINTS)).cast(POINTS)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Frames:
    purchases: pl.DataFrame
    returns: pl.DataFrame
    members: pl.DataFrame
    ledger: pl.DataFrame  # the accounts (whole history) or the ledger entries
    openings: pl.DataFrame | None  # the opening entries (whole history)
    values: pl.DataFrame
    source: str
    segments: pl.DataFrame | None  # when the report is broken down by segment


async def _frames(
    repository: KpiRepository, active: ActiveProgram, whole_history: bool, with_segments: bool
) -> _Frames:
    """Every input frame. The session's lookups come first; then the frame reads run together
    in one request (:meth:`KpiRepository.load`), so the small tables are read while the
    purchases are, instead of after them."""
    program = active.program
    queries = await repository.purchase_queries(active.program_id, program.currency)
    values = await repository.coupon_values(active.program_id, program.currency)
    source = "coupons"
    if values.height == 0:
        values, source = catalogue_values(program), "catalogue"
    reads = [
        repository.purchases_read(queries),
        repository.returns_read(),
        repository.members_read(active.program_id),
        *(
            [repository.accounts_read(), repository.openings_read()]
            if whole_history
            else [repository.entries_read()]
        ),
    ]
    if with_segments:
        reads.append(repository.segments_read())
    purchases, returns, members, ledger, *rest = await repository.load(*reads)
    openings = rest.pop(0) if whole_history else None
    segment = rest[0] if rest else None
    return _Frames(purchases, returns, members, ledger, openings, values, source, segment)


async def kpi_report(session: AsyncSession, *, query: KpiQuery, today: date) -> dict[str, Any]:
    """Every KPI of the active program for the query's window, JSON-ready (floats rounded)."""
    active = await program_service.get_active_program(session)
    repository = KpiRepository(session)
    with_segments = Breakdown.SEGMENT in query.by
    if with_segments and not await repository.has_segments():
        raise GroupingUnavailableError(
            "no member segments yet: run the segment job first", field="by"
        )
    whole_history = query.first is None and query.last is None
    frames = await _frames(repository, active, whole_history, with_segments)
    purchases, members = frames.purchases, frames.members
    last = query.last or today
    window = _window(query.first, last, purchases, "from")
    baseline = None
    if query.baseline_first is not None or query.baseline_last is not None:
        if query.baseline_first is None or query.baseline_last is None:
            raise KpiWindowError("give both ends of the baseline", field="baseline_from")
        baseline = _window(query.baseline_first, query.baseline_last, purchases, "baseline_from")
    points = _points(frames, window, whole_history)
    groups: dict[str, pl.DataFrame] = {}
    for name in query.by:
        if name is Breakdown.TIER:
            groups[name.value] = tier_groups(members)
        else:
            assert frames.segments is not None
            groups[name.value] = frames.segments
    inputs = KpiInputs(
        purchases=purchases,
        returns=frames.returns,
        members=members,
        points=points,
        reward_values=frames.values,
        reward_values_source=frames.source,
    )
    report = compute_kpis(inputs, query.settings, window, baseline=baseline, groups=groups)
    report["program"]["currency"] = active.program.currency
    report["window"]["points_source"] = "accounts" if whole_history else "ledger_entries"
    result: dict[str, Any] = rounded(report)
    return result
