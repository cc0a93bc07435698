"""Settings of the message channels, read from the environment when they are used (so a
test, or an operator restarting with a new value, needs no reload).

- ``PATRON_SMTP_URL``: ``smtp://[user:pass@]host[:port]`` (STARTTLS when the server offers
  it; port 25 by default) or ``smtps://user:pass@host[:port]`` (TLS from the first byte; port
  465). Unset: email messages stay queued, and ``patron messages list`` says why.
- ``PATRON_MAIL_FROM``: the ``From`` address, e.g. ``Demo Store <rewards@example.com>``.
- ``PATRON_PUBLIC_URL``: where members reach this server (links in messages), default
  ``http://127.0.0.1:8000``.
- ``PATRON_MAIL_WELCOME_IMPORTED``: ``1`` also welcomes members enrolled by an import
  (default ``0``: an import's members already know the program).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from patron.kit.errors import InvalidInputError

SMTP_URL_ENV = "PATRON_SMTP_URL"
MAIL_FROM_ENV = "PATRON_MAIL_FROM"
PUBLIC_URL_ENV = "PATRON_PUBLIC_URL"
WELCOME_IMPORTED_ENV = "PATRON_MAIL_WELCOME_IMPORTED"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None
    sender: str


def parse_smtp_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """``(host, port, implicit_tls, username, password)`` of an ``smtp://`` or ``smtps://``
    URL; :class:`InvalidInputError` names what is wrong (never the password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise InvalidInputError(
            f"{SMTP_URL_ENV} must start with smtp:// or smtps://", field=SMTP_URL_ENV
        )
    try:
        port = parts.port
    except ValueError as error:
        raise InvalidInputError(f"{SMTP_URL_ENV} has a bad port", field=SMTP_URL_ENV) from error
    if not parts.hostname:
        raise InvalidInputError(f"{SMTP_URL_ENV} names no host", field=SMTP_URL_ENV)
    implicit = parts.scheme == "smtps"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port or (465 if implicit else 25), implicit, username, password


def smtp_settings() -> tuple[SmtpSettings | None, str | None]:
    """The SMTP settings, or ``None`` and the reason email cannot be sent yet."""
    url = os.environ.get(SMTP_URL_ENV, "").strip()
    if not url:
        return None, f"{SMTP_URL_ENV} is not set"
    sender = os.environ.get(MAIL_FROM_ENV, "").strip()
    if not sender:
        return None, f"{MAIL_FROM_ENV} is not set"
    try:
        host, port, implicit, username, password = parse_smtp_url(url)
    except InvalidInputError as error:
        return None, error.message
    return SmtpSettings(host, port, implicit, username, password, sender), None


def public_url() -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL).rstrip("/")


def welcome_imported() -> bool:
    return os.environ.get(WELCOME_IMPORTED_ENV, "0").strip().lower() in ("1", "true", "yes")
