"""The members' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from datetime import datetime

from patron.kit.outbox import DomainEvent


class MemberEnrolled(DomainEvent):
    type = "members.enrolled"
    member_id: int
    external_id: str
    language: str | None
    imported: bool
    enrolled_at: datetime


class MemberUpdated(DomainEvent):
    type = "members.updated"
    member_id: int
    fields: list[str]


class MemberLoginRequested(DomainEvent):
    """A member asked for a portal login link (``/portal/login``, by their email): the
    notifications handler makes the link and emails it. The event never holds the link."""

    type = "members.login_requested"
    member_id: int
    channel: str


class MemberUnblocked(DomainEvent):
    """A blocked member was unblocked (``POST /members/{id}/unblock`` or the console):
    the cashback held while they were blocked is credited by ``campaigns.release_held_cashback``
    (docs/campaigns.md, "The cashback wallet")."""

    type = "members.unblocked"
    member_id: int


class MemberErased(DomainEvent):
    type = "members.erased"
    member_id: int


class MemberFlagged(DomainEvent):
    """An abuse control flagged the member (docs/security.md, "Abuse controls"): ``reason``
    says which, ``details`` the figures; ``blocked`` when the program blocked them for it."""

    type = "members.flagged"
    member_id: int
    flag_id: int
    reason: str
    details: dict[str, int]
    blocked: bool
