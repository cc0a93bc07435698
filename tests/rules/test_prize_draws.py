"""The draws of instant prizes and raffles (pure): what docs/campaigns.md tells an auditor to
recompute, recomputed here with nothing but hashlib and hmac, and the raffle's invariants."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.prizes import (
    Prize,
    Raffle,
    draw_winners,
    prize_draw,
    raffle_entries,
    seed_hash,
)

SEED = "00" * 31 + "2a"  # 32 bytes, written as 64 hex digits


def _auditor_draw(seed: str, key: str, purchase: str) -> int:
    """docs/campaigns.md, "Instant prizes": HMAC-SHA256 keyed with the seed's bytes over
    "<key>:<purchase external id>", read as a big-endian number, mod 1,000,000."""
    mac = hmac.new(bytes.fromhex(seed), f"{key}:{purchase}".encode(), hashlib.sha256)
    return int(mac.hexdigest(), 16) % 1_000_000


def _auditor_winners(seed: str, key: str, tickets: dict[int, int], winners: int) -> list[int]:
    """docs/campaigns.md, "Raffles", step by step."""
    pool = dict(sorted(tickets.items()))
    chosen: list[int] = []
    for i in range(1, winners + 1):
        total = sum(pool.values())
        if not total:
            break
        mac = hmac.new(bytes.fromhex(seed), f"{key}:raffle:{i}".encode(), hashlib.sha256)
        r = int(mac.hexdigest(), 16) % total
        running = 0
        for member, entries in pool.items():
            running += entries
            if running > r:
                chosen.append(member)
                del pool[member]
                break
    return chosen


def test_the_commitment_is_the_sha256_of_the_seeds_hex_text() -> None:
    assert seed_hash(SEED) == hashlib.sha256(SEED.encode()).hexdigest()
    assert len(seed_hash(SEED)) == 64


def test_a_prize_draw_is_the_documented_hmac() -> None:
    draws = [prize_draw(SEED, "lucky", f"p-{n}") for n in range(200)]
    assert draws == [_auditor_draw(SEED, "lucky", f"p-{n}") for n in range(200)]
    assert all(0 <= d < 1_000_000 for d in draws)
    assert len(set(draws)) > 190  # not a constant
    # the key is part of the message: another campaign draws differently
    assert prize_draw(SEED, "other", "p-1") != prize_draw(SEED, "lucky", "p-1")


def test_probability_is_read_to_the_millionth() -> None:
    assert Prize(probability="0.05").ppm == 50_000  # type: ignore[arg-type]
    assert Prize(probability="1").ppm == 1_000_000  # type: ignore[arg-type]
    assert Prize(probability="0.000001").ppm == 1  # type: ignore[arg-type]
    for bad in ("0", "1.5", "0.0000001"):
        with pytest.raises(ValidationError):
            Prize(probability=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="exactly one of every, probability"):
        Prize(every=10, probability="0.5")  # type: ignore[arg-type]


def test_raffle_entries_per_purchase_or_per_amount() -> None:
    assert raffle_entries(Raffle(per_purchase=2), 99, None) == 2
    assert raffle_entries(Raffle(per_amount="500.00"), 149_999, 50_000) == 2  # type: ignore[arg-type]
    assert raffle_entries(Raffle(per_amount="500.00"), 49_999, 50_000) == 0  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="exactly one of per_purchase, per_amount"):
        Raffle()


def _campaign(**extra: object) -> dict[str, object]:
    return {
        "key": "k",
        "name": {"en": "K"},
        "window": {"start": "2026-12-01", "end": "2026-12-31"},
        **extra,
    }


def test_a_prize_or_raffle_campaign_is_a_purchase_campaign_and_one_of_the_two() -> None:
    Campaign.model_validate(_campaign(prize={"every": 3}, effect={"bonus_points": 5}))
    Campaign.model_validate(
        _campaign(prize={"every": 3}, deferred=[{"issue_reward": {"reward": "FREESHIP"}}])
    )
    Campaign.model_validate(_campaign(raffle={"per_purchase": 1}))
    # a campaign on another trigger may give its deferred effects alone
    Campaign.model_validate(
        _campaign(trigger="signup", deferred=[{"issue_reward": {"reward": "FREESHIP"}}])
    )
    refusals = {
        "prize: give the prize": _campaign(prize={"every": 3}),
        "not both": _campaign(
            prize={"every": 3}, raffle={"per_purchase": 1}, effect={"bonus_points": 5}
        ),
        "only purchase campaigns": _campaign(raffle={"per_purchase": 1}, trigger="signup"),
        "effect: give the points effect": _campaign(),
        "a campaign on another trigger with deferred effects": _campaign(trigger="signup"),
    }
    for message, data in refusals.items():
        with pytest.raises(ValidationError, match=message):
            Campaign.model_validate(data)


tickets_strategy = st.dictionaries(
    st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=50), max_size=30
)


@given(tickets=tickets_strategy, winners=st.integers(min_value=1, max_value=40))
def test_the_raffle_draw_is_the_documented_one_and_fair_in_shape(
    tickets: dict[int, int], winners: int
) -> None:
    shuffled = list(reversed(list(tickets.items())))
    drawn = draw_winners(SEED, "raffle", shuffled, winners)
    assert drawn == _auditor_winners(SEED, "raffle", tickets, winners)
    assert drawn == draw_winners(SEED, "raffle", sorted(tickets.items()), winners)  # order-free
    assert len(drawn) == len(set(drawn))  # a member wins at most once
    holders = {member for member, entries in tickets.items() if entries > 0}
    assert set(drawn) <= holders
    assert len(drawn) == min(winners, len(holders))


def test_another_seed_draws_other_winners() -> None:
    tickets = [(member, 1) for member in range(1, 101)]
    first = draw_winners(SEED, "raffle", tickets, 5)
    assert first == draw_winners(SEED, "raffle", tickets, 5)
    assert first != draw_winners("11" * 32, "raffle", tickets, 5)
    assert first[:3] == draw_winners(SEED, "raffle", tickets, 3)  # more winners extend the list
