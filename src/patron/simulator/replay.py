"""Replay a history under a program: every member purchase's points and tier, exactly as the
per-event path would give them with each purchase recorded at its own time.

The purchases are scored with :func:`patron.rules.vectorised.score_frame` once per tier (no
tier, then each level, each only for the members who could reach it), which gives every
purchase's points under each tier; the walk
(:mod:`patron.simulator.walk`) then picks, purchase by purchase, the tier the member had.
This is exact when a purchase's points depend on its own tier only. They can also depend on
the tiers of earlier purchases, through a limited rule whose use depends on the tier (a
``tier_in`` condition, or a ``stop_after`` rule with one before it): then the purchases are
scored again with the walked tiers, the new points replace those of the walked tiers, and the
walk runs again, until scoring and walk agree (each round settles at least one more purchase
of every member, so this ends; :class:`TiersNotSettledError` after ``MAX_ROUNDS``).
Purchases without a member earn nothing and are left out.

The program's purchase campaigns (:mod:`.campaign_frame`, :mod:`.campaigns`) add their points
to each purchase's score, per tier when a campaign reads the tier; when a campaign's use also
depends on earlier purchases (limits, a budget, an every-N-th prize) and it reads the tier,
the purchases are scored again with the walked tiers until both agree, as above.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from patron.kit.time import start_of_local_day
from patron.programs.schema import Program, QualifyOn
from patron.purchases.bulk.timing import with_lot_timing
from patron.rules.compiled import compile_program
from patron.rules.vectorised import score_frame
from patron.simulator.campaign_frame import CampaignFacts, CampaignPlan, campaign_facts, plan
from patron.simulator.campaigns import CampaignRun, CampaignScorer, run_campaigns
from patron.simulator.errors import TiersNotSettledError
from patron.simulator.history import History
from patron.simulator.walk import WalkInput, WalkResult, walk
from patron.tiers.policy import thresholds, window_start

MAX_ROUNDS = 50
NO_TIER = "none"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Replay:
    """``purchases``: the member purchases in ``seq`` order with ``tier_id`` (the tier each
    earned with), ``points``, ``pending_until`` and ``expires_at`` (null without points or
    without expiry); ``tiers``: ``"none"`` then the level ids; ``month_counts[k][r]``:
    members at tier ``tiers[r]`` at month end ``k``; ``rounds``: scoring rounds of the
    fixed point (0 when one walk was exact). ``points`` includes the campaigns' points,
    ``campaign_points`` holds them alone; ``campaigns`` the projected campaigns and those
    not projected, ``campaign_run`` what each purchase got (rows in ``seq`` order)."""

    purchases: pl.DataFrame
    tiers: list[str]
    month_counts: np.ndarray
    rounds: int
    campaigns: CampaignPlan | None = None
    campaign_run: CampaignRun | None = None
    campaign_facts: CampaignFacts | None = None


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware instant (the unit of Polars' ``Datetime``)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _has_tier_dependent_limits(program: Program) -> bool:
    """Whether a limited rule's use can depend on the tier (see the module docstring)."""
    stopped_by_tier = False
    for rule in compile_program(program).rules:
        depends = rule.when.tiers is not None or stopped_by_tier
        if depends and rule.rule.limit is not None:
            return True
        if depends and rule.rule.stop_after:
            stopped_by_tier = True
    return False


def _window_starts(program: Program, frame: pl.DataFrame) -> pl.Expr:
    """The start (microseconds) of the qualification window ending at each purchase."""
    tiers = program.tiers
    if tiers is None or tiers.window == "lifetime":
        return pl.lit(0, dtype=pl.Int64)
    if tiers.window == "calendar_year":
        timezone = program.program.timezone
        years = frame.select(pl.col("at").dt.convert_time_zone(timezone).dt.year().unique())
        starts = {
            year: micros(start_of_local_day(date(year, 1, 1), timezone))
            for year in years.to_series().to_list()
        }
        local_year = pl.col("at").dt.convert_time_zone(timezone).dt.year()
        return local_year.replace_strict(starts, return_dtype=pl.Int64)
    months = tiers.rolling_months
    return pl.col("at").dt.offset_by(f"-{months}mo").dt.epoch("us")


def walk_input(program: Program, ordered: pl.DataFrame, month_ends: list[datetime]) -> WalkInput:
    member = ordered["member_index"].to_numpy()
    starts = np.flatnonzero(np.diff(member)) + 1
    columns = ordered.select(
        pl.col("at").dt.epoch("us").alias("at"),
        _window_starts(program, ordered).alias("window_start"),
        (pl.col("total") - pl.col("shipping")).alias("spend"),
    )
    ends = np.asarray([micros(moment) for moment in month_ends], dtype=np.int64)
    at = columns["at"].to_numpy().astype(np.int64)
    tiers, timezone = program.tiers, program.program.timezone
    window_starts = [
        0
        if tiers is None or (start := window_start(tiers, end, timezone)) is None
        else micros(start)
        for end in month_ends
    ]
    return WalkInput(
        starts=np.concatenate([[0], starts, [len(member)]]).astype(np.int64)
        if len(member)
        else np.zeros(1, dtype=np.int64),
        at=at,
        window_start=columns["window_start"].to_numpy().astype(np.int64),
        spend=columns["spend"].to_numpy().astype(np.int64),
        month_of=np.searchsorted(ends, at, side="right").astype(np.int64),
        month_ends=ends,
        month_window_starts=np.asarray(window_starts, dtype=np.int64),
    )


class _Scorer:
    """Scores the ordered member purchases with a tier per purchase: the program's rules, plus
    the projected campaigns' points (:class:`CampaignScorer`) when there are any."""

    def __init__(
        self,
        program: Program,
        ordered: pl.DataFrame,
        lines: pl.DataFrame,
        campaigns: CampaignScorer | None = None,
    ) -> None:
        self.program = program
        self.campaigns = campaigns
        self.frame = ordered.select(
            "seq",
            "member",
            pl.col("at").alias("occurred_at"),
            "total",
            "shipping",
            "channel",
            "store",
        )
        self.lines = lines

    def score(self, tiers: pl.Series, rows: np.ndarray | None = None) -> np.ndarray:
        """Points of the purchases at positions ``rows`` (default all; whole members only,
        so that per-member limits count the same) with the tier of each."""
        frame, lines = self.frame, self.lines
        if rows is not None:
            frame = frame[rows]
            lines = lines.join(frame.select("seq"), on="seq", how="semi")
        frame = frame.with_columns(tiers.alias("tier_id"))
        scored = score_frame(self.program, frame, lines, purchase_key="seq", member_key="member")
        points = scored["points"].to_numpy().astype(np.int64)
        if self.campaigns is not None:
            points = points + self.campaigns.points(tiers.to_list(), rows)
        return points


def _tier_table(
    program: Program, scorer: _Scorer, data: WalkInput, names: list[str | None]
) -> np.ndarray:
    """``table[rank][i]``: the points of purchase ``i`` scored with the tier of ``rank``.

    A member reaches rank ``r`` only with a metric made of points earned below it, so a
    member whose best points at ranks below ``r`` (or money spent) never sum up to the
    threshold of ``r`` never needs them: those purchases are not scored at that rank (the
    table repeats the rank below, never read)."""
    count = len(data.at)
    table = np.zeros((len(names), count), dtype=np.int64)
    if not count:
        return table
    table[0] = scorer.score(pl.Series([None] * count, dtype=pl.String))
    levels = [threshold for _, threshold in thresholds(program)]
    money = program.tiers is not None and program.tiers.qualify_on is QualifyOn.MONEY_SPENT
    firsts, counts = data.starts[:-1], np.diff(data.starts)
    best = table[0].copy()
    for rank in range(1, len(names)):
        totals = np.add.reduceat(data.spend if money else best, firsts)
        rows = np.flatnonzero(np.repeat(totals >= levels[rank - 1], counts))
        table[rank] = table[rank - 1]
        if len(rows):
            tiers = pl.Series([names[rank]] * len(rows), dtype=pl.String)
            table[rank, rows] = scorer.score(tiers, rows)
        best = np.maximum(best, table[rank])
    return table


def _settle(
    program: Program, scorer: _Scorer, data: WalkInput, table: np.ndarray, names: list[str | None]
) -> tuple[WalkResult, np.ndarray, int]:
    """Walk, and while the program has tier-dependent limits, rescore with the walked tiers
    until the two agree (see the module docstring). Returns the walk, the chosen points and
    the rounds of rescoring that changed something."""
    positions = np.arange(len(data.at))
    dependent = _has_tier_dependent_limits(program) or (
        scorer.campaigns is not None and scorer.campaigns.tier_dependent_order
    )
    for rounds in range(MAX_ROUNDS + 1):
        walked = walk(program, data, table)
        chosen = table[walked.ranks, positions]
        if not dependent:
            return walked, chosen, rounds
        tiers = pl.Series([names[rank] for rank in walked.ranks.tolist()], dtype=pl.String)
        scored = scorer.score(tiers)
        if np.array_equal(scored, chosen):
            return walked, chosen, rounds
        table[walked.ranks, positions] = scored
    raise TiersNotSettledError(
        f"the tiers did not settle in {MAX_ROUNDS} rounds of scoring", field="program"
    )


def _campaign_scorer(
    program: Program,
    ordered: pl.DataFrame,
    lines: pl.DataFrame,
    seeds: dict[str, str] | None,
) -> tuple[CampaignPlan, CampaignScorer | None]:
    found = plan(program, seeds)
    if not found.campaigns or not ordered.height:
        return found, None
    frame = ordered.select("seq", "member", "at", "total", "shipping", "channel", "store",
                           "external_id")  # fmt: skip
    facts = campaign_facts(program, found.campaigns, frame, lines, seeds)
    order = np.argsort(ordered["seq"].to_numpy(), kind="stable")
    return found, CampaignScorer(facts, order)


def replay(
    program: Program,
    history: History,
    month_ends: list[datetime],
    *,
    seeds: dict[str, str] | None = None,
) -> Replay:
    """Replay ``history``'s member purchases under ``program`` (see the module docstring);
    ``month_ends`` are the review and report instants, ascending, the last one after the
    last purchase. ``seeds``: the committed seeds of prize campaigns, by campaign key."""
    levels = [level.id for level in program.tiers.levels] if program.tiers is not None else []
    names: list[str | None] = [None, *levels]
    ordered = history.member_purchases.with_columns(
        pl.col("member").rank("dense").cast(pl.Int64).alias("member_index")
    ).sort("member_index", "seq")
    lines = history.lines.join(ordered.select("seq"), on="seq", how="semi")
    campaigns, campaign_scorer = _campaign_scorer(program, ordered, lines, seeds)
    scorer = _Scorer(program, ordered, lines, campaign_scorer)
    data = walk_input(program, ordered, month_ends)
    walked, chosen, rounds = _settle(
        program, scorer, data, _tier_table(program, scorer, data, names), names
    )
    walked_tiers = [names[rank] for rank in walked.ranks.tolist()]
    run: CampaignRun | None = None
    campaign_points = np.zeros(len(chosen), dtype=np.int64)
    if campaign_scorer is not None:  # the walked tiers' campaigns, for the report
        tiers = np.asarray(walked_tiers, dtype=object)
        run = run_campaigns(campaign_scorer.facts, tiers, campaign_scorer.order)
        campaign_points = run.points
    result = ordered.select("seq", "member", "at", "total", "shipping").with_columns(
        pl.Series("tier_id", walked_tiers, dtype=pl.String),
        pl.Series("points", chosen, dtype=pl.Int64),
        pl.Series("campaign_points", campaign_points, dtype=pl.Int64),
    )
    result = with_lot_timing(result.sort("seq"), program)
    has_points = pl.col("points") > 0
    result = result.with_columns(
        pl.when(has_points).then(pl.col("pending_until")).alias("pending_until"),
        pl.when(has_points).then(pl.col("expires_at")).alias("expires_at"),
    )
    facts = campaign_scorer.facts if campaign_scorer is not None else None
    return Replay(result, [NO_TIER, *levels], walked.month_counts, rounds, campaigns, run, facts)
