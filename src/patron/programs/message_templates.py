"""Messages a program writes itself (``messages:`` in the program file): what the deferred
effect ``send_message: {template: ID}`` sends (docs/campaigns.md, "Messages to members").

A message has an ``id``, a ``subject`` and a ``body``, each per language (``ru``, ``pl``,
``en``). The texts are plain text with a few **placeholders** in braces, filled when the
message is queued: :data:`PLACEHOLDERS`. Nothing else is interpreted (no template code), so a
program file cannot reach anything but these values; the HTML part escapes them.

Checked with the rest of the file (:func:`message_problems`): ids unique, every placeholder
known, the subject and the body written in the same languages, one of them the program's
``default_language`` (the fallback for a member whose language the message lacks), every
``send_message`` naming a message, and ``{coupon_code}`` / ``{reward}`` only in messages sent
next to an ``issue_reward`` (there is nothing else to fill them with).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from patron.programs.strict import Strict
from patron.rules.vocabulary.base import Slug

if TYPE_CHECKING:
    from patron.programs.schema import Program
    from patron.rules.vocabulary.effects import Deferred

PLACEHOLDERS: dict[str, str] = {
    "name": "the member's name (empty when the member has none)",
    "program": "the program's name",
    "campaign": "the campaign's name in the message's language (an earn rule's name)",
    "points": "the points the campaign or rule gave this time, with the word (5 баллов)",
    "coupon_code": "the code of the coupon the same campaign or rule issued (issue_reward)",
    "reward": "the name of that coupon's reward in the message's language",
}
"""Placeholder → what it is filled with."""
NEEDS_COUPON = frozenset({"coupon_code", "reward"})

_PLACEHOLDER = re.compile(r"\{([^{}\n]*)\}")

Subject = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00\r\n]*$")]
Body = Annotated[str, Field(min_length=1, max_length=5000, pattern=r"^[^\x00]*$")]


class MessageSubjects(Strict):
    ru: Subject | None = Field(default=None, exclude_if=lambda value: value is None)
    pl: Subject | None = Field(default=None, exclude_if=lambda value: value is None)
    en: Subject | None = Field(default=None, exclude_if=lambda value: value is None)


class MessageBodies(Strict):
    ru: Body | None = Field(default=None, exclude_if=lambda value: value is None)
    pl: Body | None = Field(default=None, exclude_if=lambda value: value is None)
    en: Body | None = Field(default=None, exclude_if=lambda value: value is None)


def _given(texts: MessageSubjects | MessageBodies) -> dict[str, str]:
    return {language: text for language, text in texts.model_dump().items() if text is not None}


class MessageTemplate(Strict):
    """One message of the program: ``subject`` and ``body`` per language."""

    id: Slug
    subject: MessageSubjects
    body: MessageBodies

    def languages(self) -> set[str]:
        return set(_given(self.subject)) & set(_given(self.body))

    def pick(self, language: str, default: str) -> tuple[str, str, str]:
        """``(language, subject, body)`` in ``language`` when the message has it, else in the
        program's ``default`` language (validation makes sure it has that one)."""
        chosen = language if language in self.languages() else default
        subjects, bodies = _given(self.subject), _given(self.body)
        return chosen, subjects[chosen], bodies[chosen]

    def placeholders(self) -> set[str]:
        texts = [*_given(self.subject).values(), *_given(self.body).values()]
        return {found for text in texts for found in _PLACEHOLDER.findall(text)}


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{placeholder}`` replaced by its value (validated: all known)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def _template_problems(program: Program) -> list[str]:
    problems: list[str] = []
    default = program.program.default_language.value
    seen: set[str] = set()
    for index, message in enumerate(program.messages):
        path = f"messages[{index}]"
        if message.id in seen:
            problems.append(f"{path}.id: message id {message.id!r} is used twice")
        seen.add(message.id)
        subjects, bodies = set(_given(message.subject)), set(_given(message.body))
        for missing in sorted(subjects ^ bodies):
            part = "body" if missing in subjects else "subject"
            problems.append(f"{path}.{part}.{missing}: give the {part} in {missing} as well")
        if default not in subjects & bodies:
            problems.append(
                f"{path}: give the subject and the body in {default}, the program's "
                "default_language (what a member whose language the message lacks gets)"
            )
        for part, texts in (("subject", message.subject), ("body", message.body)):
            for language, text in _given(texts).items():
                unknown = sorted(set(_PLACEHOLDER.findall(text)) - set(PLACEHOLDERS))
                if unknown:
                    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
                    names = ", ".join("{" + name + "}" for name in unknown)
                    problems.append(
                        f"{path}.{part}.{language}: unknown placeholder {names}; use {known}"
                    )
    return problems


def _deferred_lists(program: Program) -> list[tuple[str, list[Deferred]]]:
    lists = [(path, rule.deferred) for path, rule in program.all_rules()]
    lists += [(f"campaigns[{i}]", c.deferred) for i, c in enumerate(program.campaigns)]
    return lists


def message_problems(program: Program) -> list[str]:
    """``path: message`` for every problem of ``messages`` and of the ``send_message`` effects
    that name them."""
    problems = _template_problems(program)
    messages = {message.id: message for message in program.messages}
    for base, deferred in _deferred_lists(program):
        coupon = any(item.issue_reward is not None for item in deferred)
        for index, item in enumerate(deferred):
            if item.send_message is None:
                continue
            here = f"{base}.deferred[{index}].send_message.template"
            message = messages.get(item.send_message.template)
            if message is None:
                template = item.send_message.template
                problems.append(f"{here}: {template!r} is not the id of a message in messages")
            elif not coupon and message.placeholders() & NEEDS_COUPON:
                needs = ", ".join(
                    "{" + p + "}" for p in sorted(message.placeholders() & NEEDS_COUPON)
                )
                problems.append(
                    f"{here}: the message uses {needs} but no issue_reward of this list "
                    "issues a coupon"
                )
    return problems
