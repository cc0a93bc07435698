"""Every message kind has its three templates in every language, and each carries the
unsubscribe link in both parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from patron.notifications.formatting import LANGUAGES
from patron.notifications.render import language_of, render
from patron.notifications.schemas import MessageKind

VALUES: dict[str, Any] = {
    "name": "<b>Ann</b>",
    "program": "Demo",
    "unsubscribe_url": "https://x.example/u/1.email.sig",
    "public_url": "https://x.example",
    "earn_points": 100,
    "earn_amount": 100_000,
    "referral_code": "R-1",
    "direction": "up",
    "to_tier": "Silver",
    "from_tier": None,
    "multiplier": "1.25",
    "perks": ["closed_club"],
    "balance": 5,
    "expiring": 21,
    "expires_at": datetime(2026, 12, 31, 12, tzinfo=UTC),
    "days": 7,
    "survey": "NPS",
    "link": "https://x.example/s/t",
    "minutes": 15,
    "message_subject": "Spring gift",
    "message_body": "You got <i>5 points</i>.\nThank you!\n\nYour coupon: C-1.",
    "paragraphs": [["You got <i>5 points</i>.", "Thank you!"], ["Your coupon: C-1."]],
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(MessageKind))
def test_each_kind_renders_in_each_language(kind: MessageKind, language: str) -> None:
    rendered = render(kind.value, language, VALUES, currency="RUB", timezone="Europe/Moscow")
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert VALUES["unsubscribe_url"] in rendered.text
    assert f'href="{VALUES["unsubscribe_url"]}"' in rendered.html
    assert f'<html lang="{language}">' in rendered.html
    assert "<b>Ann</b>" not in rendered.html  # escaped in HTML
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rendered.html


def test_the_language_falls_back_to_the_program_then_english() -> None:
    assert language_of("pl", "ru") == "pl"
    assert language_of(None, "ru") == "ru"
    assert language_of(None, "de") == "en"


def test_a_program_message_keeps_its_paragraphs_and_escapes_its_text() -> None:
    rendered = render("campaign", "en", VALUES, currency="RUB", timezone="Europe/Moscow")
    assert rendered.subject == "Spring gift"
    assert (
        "Hello, <b>Ann</b>!\n\nYou got <i>5 points</i>.\nThank you!\n\nYour coupon" in rendered.text
    )
    assert "<p>You got &lt;i&gt;5 points&lt;/i&gt;.<br>\nThank you!</p>" in rendered.html
    assert "<p>Your coupon: C-1.</p>" in rendered.html
