"""The vectorised tier walk and candidate filter against the per-purchase checks of
``upgrade_if_qualified`` (written out here with :mod:`patron.tiers.policy`), on random
members and purchases of a points program and of a money program (DB-free)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from patron.programs.loader import load_program
from patron.programs.schema import Program, QualifyOn
from patron.purchases.bulk.tiers import Standing, TierMove, candidates, since, walk
from patron.tiers.policy import next_threshold, qualified_tier, rank
from tests.conftest import SEED_PROGRAM

NOW = datetime(2026, 12, 20, tzinfo=UTC)
TIERS = [None, "bronze", "silver", "gold", "removed-level"]


def _program(money: bool) -> Program:
    text = SEED_PROGRAM.read_text()
    if money:
        text = text.replace("qualify_on: points_earned", "qualify_on: money_spent")
        for points in ("1000", "5000", "15000"):
            text = text.replace(f"threshold: {points}\n", f'threshold: "{points}.00"\n')
    program = load_program(text)
    assert program.tiers is not None
    assert (program.tiers.qualify_on is QualifyOn.MONEY_SPENT) is money
    return program


def _reference(
    program: Program, purchases: pl.DataFrame, standings: dict[int, Standing]
) -> tuple[dict[int, str | None], list[TierMove]]:
    start = since(program, NOW)
    assert program.tiers is not None
    money = program.tiers.qualify_on is QualifyOn.MONEY_SPENT
    state = {m: (s.tier_id, s.lifetime_earned, s.metric) for m, s in standings.items()}
    tiers: dict[int, str | None] = {}
    moves: list[TierMove] = []
    for seq, member, at, points, total, shipping in purchases.iter_rows():
        current, lifetime, metric = state[member]
        tiers[seq] = current
        lifetime += points
        if start is None or at >= start:
            metric += total - shipping if money else points
        after = current
        threshold = next_threshold(program, current)
        if threshold is not None and (money or lifetime >= threshold):
            target = qualified_tier(program, metric)
            if rank(program, target) > rank(program, current):
                after = target
                reason = f"upgrade: metric {metric} reached the threshold"
                moves.append(TierMove(member, current, after, metric, reason))
        state[member] = (after, lifetime, metric)
    return tiers, moves


@pytest.mark.parametrize("money", [False, True])
def test_the_walk_and_the_candidates_match_the_per_purchase_checks(money: bool) -> None:
    program = _program(money)
    draw = random.Random(7)
    for _trial in range(150):
        count = draw.randint(1, 12)
        standings = {
            member: Standing(draw.choice(TIERS), draw.randint(0, 20_000), draw.randint(0, 20_000))
            for member in range(count)
        }
        size = draw.randint(0, 60)
        purchases = pl.DataFrame(
            {
                "seq": list(range(size)),
                "member_id": [draw.randrange(count) for _ in range(size)],
                "at": sorted(NOW - timedelta(days=draw.randint(0, 700)) for _ in range(size)),
                "points": [draw.randint(0, 4_000) for _ in range(size)],
                "total": [draw.randint(0, 1_500_000) for _ in range(size)],
                "shipping": [draw.randint(0, 1_000) for _ in range(size)],
            },
            schema={
                "seq": pl.Int64(),
                "member_id": pl.Int64(),
                "at": pl.Datetime("us", "UTC"),
                "points": pl.Int64(),
                "total": pl.Int64(),
                "shipping": pl.Int64(),
            },
        )
        tiers, moves = _reference(program, purchases, standings)
        walked = walk(program, purchases, standings, NOW)
        assert walked.tiers == tiers
        assert walked.moves == moves
        members = pl.DataFrame(
            {
                "member_id": list(standings),
                "tier_id": [s.tier_id for s in standings.values()],
                "lifetime_earned": [s.lifetime_earned for s in standings.values()],
            },
            schema={"member_id": pl.Int64(), "tier_id": pl.String(), "lifetime_earned": pl.Int64()},
        )
        earned = purchases.group_by("member_id").agg(pl.col("points").sum())
        expected = {
            member
            for member, points in earned.iter_rows()
            if (threshold := next_threshold(program, standings[member].tier_id)) is not None
            and (money or standings[member].lifetime_earned + points >= threshold)
        }
        assert set(candidates(program, members, purchases.select("member_id", "points"))) == (
            expected
        )
