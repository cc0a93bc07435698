"""When each purchase's points unlock and expire: :func:`patron.programs.expiry.lot_timing`
as Polars columns.

``pending_until = occurred_at + pending_days`` (none when 0); the expiry counts from the
moment the lot becomes active: plus ``after_days`` (a fixed number of days in UTC) or
``after_months`` (calendar months in UTC, the day clamped to the month's end, as
:func:`patron.kit.time.add_months` does), then pushed to the first instant of the next
local month or year when ``round_to`` says so. That last step depends only on the local
date, so it is computed by :func:`patron.kit.time.start_of_local_day` once per distinct
date and joined back.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from patron.kit.time import start_of_local_day
from patron.programs.schema import ExpiryRoundTo, Program


def _following(day: date, round_to: ExpiryRoundTo) -> date:
    if round_to is ExpiryRoundTo.END_OF_YEAR or day.month == 12:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def _rounded(frame: pl.DataFrame, program: Program, round_to: ExpiryRoundTo) -> pl.DataFrame:
    timezone = program.program.timezone
    frame = frame.with_columns(
        pl.col("expires_at").dt.convert_time_zone(timezone).dt.date().alias("expiry_day")
    )
    days = frame["expiry_day"].drop_nulls().unique().to_list()
    table = pl.DataFrame(
        {
            "expiry_day": days,
            "rounded": [start_of_local_day(_following(day, round_to), timezone) for day in days],
        },
        schema={"expiry_day": pl.Date(), "rounded": pl.Datetime("us", "UTC")},
    )
    joined = frame.join(table, on="expiry_day", how="left", maintain_order="left")
    return joined.drop("expires_at", "expiry_day").rename({"rounded": "expires_at"})


def with_lot_timing(frame: pl.DataFrame, program: Program) -> pl.DataFrame:
    """``frame`` (with ``at``, UTC) plus ``pending_until`` and ``expires_at`` (UTC, null for
    none), as ``lot_timing(program, at)`` gives them."""
    earning = program.earning
    at = pl.col("at")
    if earning.pending_days > 0:
        pending = at + pl.duration(days=earning.pending_days)
    else:
        pending = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    frame = frame.with_columns(pending.alias("pending_until"))
    policy = earning.expiry
    active_from = pl.coalesce(pl.col("pending_until"), at)
    if policy.never:
        expires = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    elif policy.after_days is not None:
        expires = active_from + pl.duration(days=policy.after_days)
    elif policy.after_months is not None:
        expires = active_from.dt.offset_by(f"{policy.after_months}mo")
    else:
        expires = active_from
    frame = frame.with_columns(expires.cast(pl.Datetime("us", "UTC")).alias("expires_at"))
    if policy.round_to is not None:
        frame = _rounded(frame, program, policy.round_to)
    return frame
