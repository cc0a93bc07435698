"""The segments refresh: RFM, behavioural groups and churn scores for every member.

The history is read in a read-only unit of work, the CLV models (BG/NBD and Gamma-Gamma of
:mod:`patron.analytics.clv`) are fitted outside any transaction, and every program's rows are
stored in one write unit of work through :mod:`patron.segments.service`. Idempotent: a second
refresh as of the same time stores the same rows.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from patron.analytics.clv.pipeline import ClvResult, fit_clv
from patron.analytics.clv.summary import CustomerSummary, TimeUnit, summarise_purchases
from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.kit.money import exponent
from patron.programs import service as program_service
from patron.programs.segmentation import SegmentSettings
from patron.segments import service as segment_service
from patron.segments.churn import CHURN_SCHEMA
from patron.segments.schemas import RefreshReport


def _fit(summary: CustomerSummary, settings: SegmentSettings) -> ClvResult:
    """Overflow in the models' series (extreme parameters of a small population) gives
    non-finite scores, which are stored as empty, rather than a warning."""
    with np.errstate(all="ignore"):
        return fit_clv(
            summary,
            horizon=float(settings.clv_horizon_days),
            discount_rate=float(settings.clv_discount_rate),
        )


def _finite(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [value if math.isfinite(value) else None for value in values.tolist()]


def _minor_units(value: float | None, scale: int) -> int | None:
    """A CLV in minor units, or None when it is unknown or beyond a 64-bit column."""
    if value is None or abs(value * scale) >= 2.0**63:
        return None
    return round(value * scale)


def churn_scores(
    purchases: pl.DataFrame, *, settings: SegmentSettings, currency: str, now: datetime
) -> tuple[pl.DataFrame | None, str | None]:
    """P(alive), expected purchases over ``clv_horizon_days`` and CLV (minor units) per member,
    or None when the models cannot be fitted; the second value says what could not be fitted.

    The log is the purchases with a total above 0 (the ones RFM counts), in days, observed to
    the UTC day of ``now``. When Gamma-Gamma cannot be fitted (no repeat spend, or q <= 1)
    BG/NBD alone still gives P(alive) and expected purchases, and the CLV stays empty. A
    score that is not a finite number is stored as empty.
    """
    counted = purchases.filter((pl.col("occurred_at") <= now) & (pl.col("total") > 0))
    if counted.height == 0:
        return None, "no purchases"
    scale = 10 ** exponent(currency)
    log = counted.select(
        pl.col("member_id").alias("customer_id"),
        pl.col("occurred_at").alias("purchased_at"),
        (pl.col("total") / scale).alias("amount"),
    )
    summary = summarise_purchases(log, observation_end=now.date(), time_unit=TimeUnit.DAYS)
    problem = None
    try:
        result = _fit(summary, settings)
    except PatronError as spend_error:
        # BG/NBD alone is tried next: if it fits, what failed was the spend model
        problem = spend_error.message
        if not problem.startswith("Gamma-Gamma"):
            problem = f"Gamma-Gamma: {problem}"
        try:
            result = _fit(dataclasses.replace(summary, monetary_value=None), settings)
        except PatronError as error:
            return None, error.message
    clv: list[int | None] = [None] * len(summary)
    if result.clv is not None:
        clv = [_minor_units(value, scale) for value in _finite(result.clv)]
    frame = pl.DataFrame(
        {
            "member_id": result.customer_id.astype(np.int64),
            "p_alive": _finite(result.p_alive),
            "expected_purchases": _finite(result.expected_purchases),
            "clv": clv,
        },
        schema=CHURN_SCHEMA,
    )
    return frame, problem


async def refresh_program_segments(database: Database, *, key: str, now: datetime) -> RefreshReport:
    """Refresh the stored segments of program ``key`` as of ``now``: read in a read-only unit
    of work, fit outside any transaction, store in one write unit of work."""
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=key)
        history = await segment_service.load_history(
            session, program_id=active.program_id, as_of=now
        )
    scores, problem = churn_scores(
        history.purchases,
        settings=segment_service.settings_of(active.program),
        currency=active.program.currency,
        now=now,
    )
    async with database.write() as session:
        return await segment_service.store_refresh(
            session,
            program_key=key,
            program_id=active.program_id,
            program=active.program,
            history=history,
            churn=scores,
            clv_problem=problem,
            now=now,
        )


async def program_keys(database: Database) -> list[str]:
    """The keys of the programs with an active version."""
    async with database.read() as session:
        return await program_service.program_keys(session)


async def refresh_segments(database: Database, *, now: datetime) -> dict[str, RefreshReport]:
    """Refresh the stored segments of every program with an active version, as of ``now``,
    each program in its own units of work."""
    return {
        key: await refresh_program_segments(database, key=key, now=now)
        for key in await program_keys(database)
    }
