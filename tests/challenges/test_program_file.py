"""The ``challenges`` section of the program file: accepted as documented, refused with the
path and the reason otherwise, and left out of the stored document when absent."""

from __future__ import annotations

import pytest

from patron.programs.loader import load_program
from patron.rules.vocabulary.challenges import ChallengeOf, ChallengePeriod
from tests.challenges.setup import program_text
from tests.conftest import SEED_PROGRAM
from tests.programs.test_loader import problems_of


def test_the_documented_challenges_load() -> None:
    program = load_program(program_text())
    coffee, weekly, critic, sharer = program.challenges
    assert (coffee.period, coffee.goal.target, coffee.goal.of) == (
        ChallengePeriod.MONTH,
        5,
        ChallengeOf.PURCHASE,
    )
    assert coffee.goal.when is not None
    assert coffee.goal.when.line_category_in == ["coffee"]
    assert (weekly.period, weekly.goal.target) == (ChallengePeriod.LIFETIME, 4)
    assert critic.reward is None
    assert critic.badge is not None
    assert (sharer.goal.of, sharer.goal.event) == (ChallengeOf.EVENT, "story_shared")
    assert program.challenge("weekly") is weekly


def test_a_program_without_challenges_stores_no_section() -> None:
    program = load_program(SEED_PROGRAM.read_text())
    assert program.challenges == []
    assert "challenges" not in program.model_dump(mode="json")


def _one(body: str) -> str:
    return program_text("challenges:\n" + body)


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (
            "  - {key: a, name: {en: A}, period: month, goal: {streak: {times: 4}},"
            " reward: {bonus_points: 1}}\n",
            "challenges[0].period",
            "a streak challenge is lifetime",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2, streak: {times: 4}},"
            " reward: {bonus_points: 1}}\n",
            "challenges[0].goal",
            "give exactly one of count and streak",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2, of: event}, reward: {bonus_points: 1}}\n",
            "challenges[0].goal.event",
            "of: event needs the custom event type",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2, of: review,"
            " when: {line_category_in: [x]}}, reward: {bonus_points: 1}}\n",
            "challenges[0].goal.when",
            "purchase conditions only with of: purchase",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2}}\n",
            "challenges[0]",
            "give a badge, a reward or both",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2}, reward: {bonus_points: 1}}\n"
            "  - {key: a, name: {en: B}, goal: {count: 3}, reward: {bonus_points: 1}}\n",
            "challenges[1].key",
            "challenge key 'a' is used twice",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2}, badge: {key: b, name: {en: B}}}\n"
            "  - {key: c, name: {en: C}, goal: {count: 3}, badge: {key: b, name: {en: B}}}\n",
            "challenges[1].badge.key",
            "badge key 'b' is used twice",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2, when: {tier_in: [platinum]}},"
            " reward: {bonus_points: 1}}\n",
            "challenges[0].goal.when.tier_in",
            "names unknown tiers ['platinum']",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2}, reward: {}}\n",
            "challenges[0].reward",
            "give bonus_points, issue_reward or both",
        ),
        (
            "  - {key: a, name: {en: A}, goal: {count: 2},"
            " reward: {issue_reward: {reward: NOPE}}}\n",
            "challenges[0].reward.issue_reward.reward",
            "'NOPE' is not a reward code",
        ),
    ],
)
def test_invalid_challenges_give_path_and_message(body: str, path: str, message: str) -> None:
    problems = problems_of(_one(body))
    assert any(where == path and message in text for where, text in problems), problems


def test_a_reward_may_be_a_coupon_and_points_alone_keep_their_document() -> None:
    program = load_program(
        _one(
            "  - {key: a, name: {en: A}, goal: {count: 2},"
            " reward: {issue_reward: {reward: DISC10}}}\n"
            "  - {key: b, name: {en: B}, goal: {count: 2}, reward: {bonus_points: 5}}\n"
        )
    )
    coupon, points = program.challenges
    assert coupon.reward is not None
    assert points.reward is not None
    assert coupon.reward.issue_reward is not None
    assert (coupon.reward.points, coupon.reward.issue_reward.reward) == (0, "DISC10")
    assert (points.reward.points, points.reward.issue_reward) == (5, None)
    assert [c["reward"] for c in program.model_dump(mode="json")["challenges"]] == [
        {"issue_reward": {"reward": "DISC10"}},
        {"bonus_points": 5},
    ]
