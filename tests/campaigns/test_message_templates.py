"""The program's own messages in the program file (``messages:``, sent by ``send_message``):
every problem with its path (unknown placeholder, a language without its subject or body, no
text in the default language, an unknown message, a coupon placeholder with no coupon), the
placeholders filled, and the section left out of the stored document when empty."""

from __future__ import annotations

import pytest

from patron.programs.document import document_of
from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.programs.message_templates import PLACEHOLDERS, fill
from tests.campaigns.programs import messages_example, with_campaigns
from tests.conftest import SEED_PROGRAM

CAMPAIGN = """
  - key: december-gift
    name: {ru: "Декабрьский подарок", en: "December gift"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {order_total_gte: "3000.00"}
    effect: {bonus_points: 200}
    deferred:
      - send_message: {template: december-thanks}
      - issue_reward: {reward: DISC10}
"""
GOOD = """
messages:
  - id: december-thanks
    subject:
      ru: "{campaign}: ваш купон"
      en: "{campaign}: your coupon"
    body:
      ru: "Вы получили {points}. Ваш купон: {coupon_code} ({reward})."
      en: "You got {points}. Your coupon: {coupon_code} ({reward})."
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(text)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_a_message_and_its_effect_are_valid_and_stored() -> None:
    program = load_program(with_campaigns(CAMPAIGN) + GOOD)
    message = program.message("december-thanks")
    assert message is not None
    assert message.placeholders() == {"campaign", "points", "coupon_code", "reward"}
    assert message.pick("pl", "ru")[0] == "ru"  # no Polish: the default language
    assert message.pick("en", "ru")[0] == "en"
    assert document_of(program)["messages"][0]["id"] == "december-thanks"
    assert "messages" not in document_of(load_program(SEED_PROGRAM.read_text()))


def test_every_problem_comes_with_its_path() -> None:
    bad = """
messages:
  - id: december-thanks
    subject: {en: "Hello {first_name}"}
    body: {en: "Points: {points}", pl: "Punkty: {Points} {coupon code}"}
  - id: december-thanks
    subject: {ru: "Привет"}
    body: {ru: "Текст"}
  - id: lonely
    subject: {ru: "Привет", en: "Hi"}
    body: {ru: "Вы получили {points}"}
  - id: coupon
    subject: {ru: "Купон"}
    body: {ru: "Ваш купон: {coupon_code}"}
"""
    campaigns = (
        CAMPAIGN
        + """
  - key: welcome
    name: {en: Welcome}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: signup
    effect: {bonus_points: 100}
    deferred:
      - send_message: {template: coupon}
      - send_message: {template: nowhere}
"""
    )
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    assert _problems(with_campaigns(campaigns) + bad) == [
        "campaigns[1].deferred[0].send_message.template: the message uses {coupon_code} but "
        "no issue_reward of this list issues a coupon",
        "campaigns[1].deferred[1].send_message.template: 'nowhere' is not the id of a message "
        "in messages",
        "messages[0]: give the subject and the body in ru, the program's default_language "
        "(what a member whose language the message lacks gets)",
        "messages[0].subject.pl: give the subject in pl as well",
        f"messages[0].subject.en: unknown placeholder {{first_name}}; use {known}",
        f"messages[0].body.pl: unknown placeholder {{Points}}, {{coupon code}}; use {known}",
        "messages[1].id: message id 'december-thanks' is used twice",
        "messages[2].body.en: give the body in en as well",
    ]


def test_an_earn_rule_may_send_a_message_too() -> None:
    text = SEED_PROGRAM.read_text().replace(
        "        bonus_points: 500\n",
        "        bonus_points: 500\n      deferred:\n        - send_message: {template: nope}\n",
        1,
    )
    assert _problems(text) == [
        "earning.rules[1].deferred[0].send_message.template: 'nope' is not the id of a message "
        "in messages"
    ]


def test_placeholders_are_filled_and_nothing_else_is_read() -> None:
    values = {"name": "Анна", "points": "200 баллов"}
    text = "{name}, вы получили {points}. {{name}} {unknown} {"
    assert fill(text, values) == "Анна, вы получили 200 баллов. {Анна} {unknown} {"
    # a value is never read as a placeholder again, nor as template code
    assert fill("{name}", {"name": "{points} {{ 7*7 }}"}) == "{points} {{ 7*7 }}"


def test_the_documented_example_is_valid() -> None:
    program = load_program(messages_example())
    assert [message.id for message in program.messages] == ["spring-thanks", "welcome-points"]
    assert [campaign.key for campaign in program.campaigns] == ["spring-gift", "welcome"]
