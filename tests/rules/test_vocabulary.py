"""The rule vocabulary: every type has its model and its written field, deferred effects are
collected but never scored, rule sets of other triggers are validated, and the seed
program's stored document is what it was before the vocabulary moved to ``patron.rules``."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from patron.programs.document import checksum, document_of
from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.rules import DeferredAction, EffectKind, EffectType, evaluate
from patron.rules.vocabulary import Conditions, ConditionType, Deferred, Effect
from patron.rules.vocabulary.conditions import CONDITION_MODELS, Condition
from patron.rules.vocabulary.effects import (
    CreditWallet,
    DeferredEffect,
    IssueReward,
    PointsEffect,
    SendMessage,
)

from .helpers import SEED_PROGRAM, line, make_program, purchase

# The checksum of the seed program's document on main before the move (b9e440b).
SEED_CHECKSUM = "94206d4f9ea03e501b0b337099c3caebbb3b0047a2014a31ece2902df187c2ab"


def _union_types(union: object) -> set[object]:
    members = typing.get_args(typing.get_args(union)[0])
    return {member.model_fields["type"].default for member in members}


@pytest.mark.parametrize("kind", list(ConditionType))
def test_every_condition_type_has_a_model_a_union_member_and_a_written_field(
    kind: ConditionType,
) -> None:
    assert CONDITION_MODELS[kind].model_fields["type"].default is kind
    assert kind in _union_types(Condition)
    assert kind.value in Conditions.model_fields


@pytest.mark.parametrize("kind", list(EffectType))
def test_every_effect_type_has_a_model_and_a_written_field_of_its_kind(kind: EffectType) -> None:
    if kind.kind is EffectKind.IMMEDIATE:
        assert kind in _union_types(PointsEffect)
        assert kind.value in Effect.model_fields
    else:
        assert kind in _union_types(DeferredEffect)
        assert kind.value in Deferred.model_fields


def test_the_seed_programs_document_and_checksum_are_unchanged() -> None:
    program = load_program(SEED_PROGRAM.read_text(encoding="utf-8"))
    document = document_of(program)
    assert checksum(document) == SEED_CHECKSUM
    assert "rule_sets" not in document
    assert all("deferred" not in rule for rule in document["earning"]["rules"])


def test_conditions_come_typed_in_enum_order() -> None:
    when = Conditions.model_validate({"tier_in": ["gold"], "line_category_in": ["coffee"]})
    assert [item.type for item in when.items()] == [
        ConditionType.LINE_CATEGORY_IN,
        ConditionType.TIER_IN,
    ]
    assert when.items()[1].value == ["gold"]


DEFERRED_RULES: list[dict[str, Any]] = [
    {
        "id": "big",
        "name": "Big basket",
        "when": {"order_total_gte": "5000.00"},
        "effect": {"bonus_points": 500},
        "deferred": [
            {"send_message": {"template": "thanks"}},
            {"credit_wallet": {"amount": "50.00"}},
        ],
    },
    {
        "id": "coffee",
        "name": "Coffee",
        "when": {"line_category_in": ["coffee"]},
        "effect": {"multiply_lines": 2},
        "deferred": [{"send_message": {"template": "coffee"}}],
    },
]


MESSAGES = [
    {"id": key, "subject": {"en": "Thanks"}, "body": {"en": "Thank you, {name}."}}
    for key in ("thanks", "coffee")
]


def test_deferred_effects_of_applied_rules_are_collected_and_never_scored() -> None:
    with_deferred = make_program(DEFERRED_RULES, messages=MESSAGES)
    without = make_program(
        [{k: v for k, v in rule.items() if k != "deferred"} for rule in DEFERRED_RULES]
    )
    sale = purchase(datetime(2026, 12, 1, 12, tzinfo=UTC), line("tea", 600_000))
    evaluation = evaluate(with_deferred, sale)
    plain = evaluate(without, sale)
    assert evaluation.points == plain.points == 600 + 500
    assert evaluation.to_breakdown() == plain.to_breakdown()
    assert evaluation.deferred == (
        DeferredAction("big", SendMessage(template="thanks")),
        DeferredAction("big", CreditWallet.model_validate({"amount": "50.00"})),
    )
    assert plain.deferred == ()
    small = evaluate(with_deferred, purchase(datetime(2026, 12, 1, 12, tzinfo=UTC), line("t", 100)))
    assert small.deferred == ()


def _program(extra: dict[str, Any], rules: list[dict[str, Any]] | None = None) -> str:
    document: dict[str, Any] = {
        "program": {"name": "Test", "currency": "RUB"},
        "earning": {"base": {"points": 1, "per_amount": "10.00"}, "rules": rules or []},
        "rewards": [
            {"code": "FREESHIP", "name": "Free shipping", "kind": "free_shipping", "cost_points": 1}
        ],
        **extra,
    }
    return yaml.safe_dump(document)


def _problems(text: str) -> list[str]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(text)
    return [f"{problem.path}: {problem.message}" for problem in caught.value.problems]


WELCOME: dict[str, Any] = {
    "id": "welcome",
    "name": "Welcome",
    "trigger": "signup",
    "rules": [
        {
            "id": "welcome-points",
            "name": "Welcome points",
            "when": {"tier_in": []},
            "effect": {"bonus_points": 100},
            "deferred": [{"issue_reward": {"reward": "FREESHIP"}}],
        }
    ],
}


def _welcome(**changes: Any) -> dict[str, Any]:
    rule = {k: v for k, v in WELCOME["rules"][0].items() if k != "when"}
    return {**WELCOME, "rules": [rule], **changes}


def test_a_rule_set_of_another_trigger_is_stored_and_not_run() -> None:
    program = load_program(_program({"rule_sets": [_welcome()]}))
    assert program.rule_sets[0].trigger.value == "signup"
    assert program.rule_sets[0].rules[0].deferred[0].typed() == IssueReward(reward="FREESHIP")
    evaluation = evaluate(program, purchase(datetime(2026, 1, 1, tzinfo=UTC), line("x", 1000)))
    assert evaluation.points == 1
    assert evaluation.trace == ()
    assert document_of(program)["rule_sets"][0]["rules"][0]["deferred"] == [
        {"issue_reward": {"reward": "FREESHIP"}, "credit_wallet": None, "send_message": None}
    ]
    again = load_program(yaml.safe_dump(document_of(program)))
    assert document_of(again) == document_of(program)


@pytest.mark.parametrize(
    ("rule_set", "expected"),
    [
        pytest.param(_welcome(trigger="purchase"), "purchase rules live in earning.rules", id="p"),
        pytest.param(_welcome(trigger="event"), "event: give it exactly when", id="no-event"),
        pytest.param(
            _welcome(trigger="event", event="Not A Name"), "dotted lowercase name", id="bad-event"
        ),
        pytest.param(
            _welcome(trigger="event", event="shop.visit\n"), "dotted lowercase name", id="event-nl"
        ),
        pytest.param(_welcome(trigger="schedule"), "schedule: give it exactly", id="no-schedule"),
        pytest.param(
            _welcome(trigger="schedule", schedule="0 9 * * *\n"), "five fields", id="cron-nl"
        ),
        pytest.param(
            _welcome(trigger="schedule", schedule="every day"), "five fields", id="bad-cron"
        ),
        pytest.param(
            {
                **_welcome(),
                "rules": [
                    {
                        "id": "x",
                        "name": "X",
                        "when": {"order_total_gte": "10.00"},
                        "effect": {"multiply_order": 2},
                    }
                ],
            },
            "rule_sets[0].rules[0].effect.multiply_order: needs a purchase; the trigger is "
            "signup; rule_sets[0].rules[0].when.order_total_gte: needs a purchase",
            id="purchase-only",
        ),
    ],
)
def test_rule_set_problems(rule_set: dict[str, Any], expected: str) -> None:
    problems = _problems(_program({"rule_sets": [rule_set]}))
    assert all(problem.startswith("rule_sets[0].") for problem in problems)
    assert expected in "; ".join(problems)


def test_references_and_ids_across_rule_sets() -> None:
    rule = {"id": "welcome-points", "name": "Twice", "effect": {"bonus_points": 1}}
    bad_reward = _welcome()
    bad_reward["rules"][0]["deferred"] = [
        {"issue_reward": {"reward": "NOPE"}},
        {"credit_wallet": {"amount": "1.001"}},
    ]
    problems = _problems(_program({"rule_sets": [bad_reward]}, rules=[rule]))
    assert sorted(problems) == [
        "rule_sets[0].rules[0].deferred[0].issue_reward.reward: 'NOPE' is not a reward code",
        "rule_sets[0].rules[0].deferred[1].credit_wallet.amount: has more than 2 decimal places "
        "for RUB",
        "rule_sets[0].rules[0].id: rule id 'welcome-points' is used twice",
    ]


def test_a_deferred_item_gives_exactly_one_effect() -> None:
    rule = {
        "id": "r",
        "name": "R",
        "effect": {"bonus_points": 1},
        "deferred": [{"send_message": {"template": "a"}, "credit_wallet": {"amount": "1"}}],
    }
    problems = _problems(_program({}, rules=[rule]))
    assert problems == [
        "earning.rules[0].deferred[0]: give exactly one of issue_reward, credit_wallet, "
        "send_message"
    ]
