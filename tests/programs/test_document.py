from __future__ import annotations

import hashlib
from typing import Any

from patron.programs.document import (
    checksum,
    diff_documents,
    document_of,
    normalised_json,
    render,
)
from patron.programs.loader import load_program
from tests.programs.test_loader import SEED, edited


def document(text: str) -> dict[str, Any]:
    return document_of(load_program(text))


def test_checksum_is_sha256_of_the_normalised_json() -> None:
    seed = document(SEED)
    text = normalised_json(seed)
    assert text.startswith('{"earning":{"base":{"per_amount":"1000.00","points":100,')
    assert checksum(seed) == hashlib.sha256(text.encode()).hexdigest()


def test_comments_quoting_key_order_and_spelled_defaults_do_not_change_the_checksum() -> None:
    same = edited(
        ("# The loyalty program", "# Edited comment. The loyalty program"),
        ('name: "Double points on coffee"', "name: Double points on coffee"),
        (
            '    points: 100\n    per_amount: "1000.00"\n',
            "    per_amount: '1000.00'\n    points: 100\n",
        ),
        ("        period: month\n", "        period: month\n      priority: 0\n"),
    )
    assert same != SEED
    assert checksum(document(same)) == checksum(document(SEED))


def test_a_changed_field_is_named_by_rule_id() -> None:
    changed = edited(("per_member: 4", "per_member: 5"))
    assert diff_documents(document(SEED), document(changed)) == [
        "earning.rules[weekend-boost].limit.per_member: 4 -> 5"
    ]


def test_several_changes_in_document_order() -> None:
    changed = edited(
        ('name: "Demo Store Rewards"', 'name: "Demo Store Rewards 2"'),
        ("multiply_lines: 2", "multiply_lines: 3"),
        ("weekday_in: [sat, sun]", "weekday_in: [fri, sat, sun]"),
        ("      limit:\n        per_member: 4\n        period: month\n", ""),
        ("perks: [priority_support]\n", "perks: [priority_support, birthday_gift]\n"),
        ("    cost_points: 0\n", "    cost_points: 50\n"),
    )
    assert diff_documents(document(SEED), document(changed)) == [
        'program.name: "Demo Store Rewards" -> "Demo Store Rewards 2"',
        "earning.rules[coffee-double].effect.multiply_lines: 2 -> 3",
        "earning.rules[weekend-boost].when.weekday_in: [sat, sun] -> [fri, sat, sun]",
        "earning.rules[weekend-boost].limit: {per_member: 4, period: month} -> null",
        "tiers.levels[silver].perks: [priority_support] -> [priority_support, birthday_gift]",
        "rewards[GOLD-PREVIEW].cost_points: 0 -> 50",
    ]


def test_added_removed_and_reordered_items() -> None:
    happy_hour = (
        "    - id: happy-hour\n"
        '      name: "Happy hour"\n'
        "      when:\n"
        '        time_between: ["17:00", "19:00"]\n'
        "      effect:\n"
        "        bonus_points: 50\n"
    )
    big_basket = (
        "    - id: big-basket\n"
        '      name: "Big basket bonus"\n'
        "      when:\n"
        '        order_total_gte: "10000.00"\n'
        "      effect:\n"
        "        bonus_points: 500\n"
    )
    free_ship = (
        "  - code: FREESHIP\n"
        '    name: "Free delivery"\n'
        "    kind: free_shipping\n"
        "    cost_points: 100\n"
        "    valid_days: 30\n"
    )
    changed = edited(
        (big_basket, ""),
        ("  rules:\n", "  rules:\n" + big_basket.replace("-basket", "-cart") + happy_hour),
        (free_ship, ""),
    )
    assert diff_documents(document(SEED), document(changed)) == [
        "earning.rules[big-basket]: removed",
        'earning.rules[big-cart]: added {id: big-cart, name: "Big basket bonus", '
        "when: {order_total_gte: 10000.00}, effect: {bonus_points: 500}, priority: 0, "
        "stop_after: false}",
        'earning.rules[happy-hour]: added {id: happy-hour, name: "Happy hour", '
        "when: {time_between: [17:00:00, 19:00:00]}, effect: {bonus_points: 50}, "
        "priority: 0, stop_after: false}",
        "rewards[FREESHIP]: removed",
    ]


def test_reordering_rules_is_a_change() -> None:
    seed = document(SEED)
    rules = seed["earning"]["rules"]
    swapped = {**seed, "earning": {**seed["earning"], "rules": [rules[1], rules[0], rules[2]]}}
    assert diff_documents(seed, swapped) == [
        "earning.rules: order coffee-double, big-basket, weekend-boost"
        " -> big-basket, coffee-double, weekend-boost"
    ]


def test_no_change_no_lines() -> None:
    assert diff_documents(document(SEED), document(SEED)) == []


def test_render() -> None:
    assert render(None) == "null"
    assert render(True) == "true"
    assert render(12) == "12"
    assert render("1.25") == "1.25"
    assert render("two words") == '"two words"'
    assert render("ends\n") == '"ends\\n"'
    assert render(["a", "b c"]) == '[a, "b c"]'
    assert render({"a": 1, "b": None, "c": {"d": []}}) == "{a: 1, c: {d: []}}"
