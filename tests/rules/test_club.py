"""The closed club, pure (issue 12 part 6): a campaign's gate by window, early access and
audience, with a stable code and params."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from patron.rules.club import gate
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.audience import MemberFacts

ZONE = "Europe/Moscow"


def campaign(**extra: object) -> Campaign:
    return Campaign.model_validate(
        {
            "key": "members-sale",
            "name": {"en": "Members' sale"},
            "window": {"start": "2026-12-10", "end": "2026-12-13"},
            "early_access": {"audience": {"tiers": ["gold"]}, "start": "2026-12-08"},
            "effect": {"multiply_order": 2},
            **extra,
        }
    )


SALE = campaign()
GOLD = MemberFacts(tier_id="gold")
SILVER = MemberFacts(tier_id="silver")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def test_gold_gets_in_two_days_early_and_everyone_at_the_window() -> None:
    assert gate(SALE, ZONE, at(8), GOLD).to_dict() == {
        "eligible": True,
        "code": "early_access",
        "params": {
            "opens_at": "2026-12-08T00:00:00+03:00",
            "opens_for_everyone_at": "2026-12-10T00:00:00+03:00",
            "tier": "gold",
        },
    }
    assert gate(SALE, ZONE, at(8), SILVER).to_dict() == {
        "eligible": False,
        "code": "not_open_yet",
        "params": {
            "opens_at": "2026-12-10T00:00:00+03:00",
            "early_access": {
                "eligible": False,
                "code": "tier_not_in_audience",
                "params": {"tiers": ["gold"], "tier": "silver"},
            },
        },
    }
    # 7 December 20:59 UTC is 23:59 in Moscow: not yet, even for Gold
    early = gate(SALE, ZONE, datetime(2026, 12, 7, 20, 59, tzinfo=UTC), GOLD)
    assert (early.eligible, early.code) == (False, "not_open_yet")
    assert early.params["opens_at"] == "2026-12-08T00:00:00+03:00"
    # 21:00 UTC is midnight in Moscow: open for Gold
    assert gate(SALE, ZONE, datetime(2026, 12, 7, 21, 0, tzinfo=UTC), GOLD).eligible
    assert gate(SALE, ZONE, at(10), SILVER).code == "everyone"
    assert gate(SALE, ZONE, at(13, 21), GOLD).to_dict() == {
        "eligible": False,
        "code": "closed",
        "params": {"ends_at": "2026-12-14T00:00:00+03:00"},
    }


def test_a_segment_gated_campaign_names_the_segments() -> None:
    gated = campaign(audience={"segments": ["champions"]}, early_access=None)
    champion = MemberFacts(tier_id=None, segments=frozenset({"champions", "high_value"}))
    assert gate(gated, ZONE, at(11), champion).to_dict() == {
        "eligible": True,
        "code": "in_audience",
        "params": {"segments": ["champions"]},
    }
    assert gate(gated, ZONE, at(11), SILVER).code == "segment_not_in_audience"
    # the campaign's own audience holds before its early access
    both = campaign(audience={"segments": ["champions"]})
    assert gate(both, ZONE, at(8), GOLD).code == "segment_not_in_audience"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"early_access": {"audience": {"tiers": ["gold"]}, "start": "2026-12-10"}},
            "early_access.start: must be before window.start",
        ),
        ({"trigger": "signup", "effect": {"bonus_points": 5}}, "early_access: for purchase"),
        (
            {
                "trigger": "birthday",
                "audience": {"flags": ["vip"]},
                "effect": {"bonus_points": 5},
            },
            "early_access: for purchase campaigns only, not birthday",
        ),
        ({"early_access": {"audience": {}, "start": "2026-12-08"}}, "name the tiers"),
    ],
)
def test_bad_early_access_is_refused(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        campaign(**extra)
