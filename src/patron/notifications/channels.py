"""The channel interface: how a message leaves Patron.

Email is the first :class:`Channel`; SMS and push come later as more implementations of the
same protocol, registered in :data:`patron.notifications.sender.CHANNELS` (by ``name``). The
handlers and the sender never look inside a channel: a handler asks it for the member's
:meth:`~Channel.address` and the consent it needs, the sender hands it an
:class:`OutgoingMessage` and learns from :class:`SendError` whether to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from patron.members.models import ConsentChannel


@dataclass(frozen=True, slots=True)
class Contact:
    """What a channel may know of a member to reach them."""

    member_id: int
    email: str | None
    phone: str | None
    language: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A rendered message, as the sender hands it to a channel. ``id`` is the row's id in
    the message log (stable across retries: a channel may use it to drop duplicates)."""

    id: int
    kind: str
    language: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    unsubscribe_url: str | None


class SendError(Exception):
    """A send that did not happen. ``transient``: try again later (a refused connection, a
    4xx reply); otherwise the message fails for good (a 5xx reply to the recipient)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Channel(Protocol):
    """A way to reach members.

    - ``name``: the channel's key in the message log (``messages.channel``), e.g. ``"email"``.
    - ``consent``: the member's consent that must be granted, when the message is queued and
      again when it is sent.
    - :meth:`address`: where this member is reached on the channel (None: nowhere, the
      message is recorded as ``skipped_no_address``).
    - :meth:`unavailable`: why the channel cannot send now (unconfigured), None when it can;
      messages wait queued meanwhile.
    - :meth:`send`: deliver one message or raise :class:`SendError`.
    """

    name: str
    consent: ConsentChannel

    def address(self, contact: Contact) -> str | None: ...

    def unavailable(self) -> str | None: ...

    async def send(self, message: OutgoingMessage) -> None: ...
