"""The email channel: SMTP through ``aiosmtplib``, configured by ``PATRON_SMTP_URL`` and
``PATRON_MAIL_FROM`` (:mod:`patron.notifications.settings`).

Each message is ``multipart/alternative`` (plain text and HTML) with the RFC 8058 one-click
unsubscribe headers: ``List-Unsubscribe: <https://.../u/<token>>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (a mail client POSTs to the link, which
revokes the consent without a confirmation).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from patron.members.models import ConsentChannel
from patron.notifications.channels import Contact, OutgoingMessage, SendError
from patron.notifications.settings import SmtpSettings, smtp_settings

SEND_TIMEOUT = 30.0


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The MIME message for ``message`` from ``sender``."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "patron.invalid"
    email["Message-ID"] = make_msgid(idstring=f"patron-message-{message.id}", domain=domain)
    email["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    email["Content-Language"] = message.language  # after the content: set_content clears it
    return email


def _transient(error: aiosmtplib.SMTPException) -> bool:
    """5xx replies are permanent; a connection or timeout problem, a 4xx reply and a refused
    login (the operator fixes the settings, the message waits) are not."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return True
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= refused.code < 500 for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return not 500 <= error.code < 600
    return True


class EmailChannel:
    name = "email"
    consent = ConsentChannel.EMAIL

    def address(self, contact: Contact) -> str | None:
        return contact.email or None

    def unavailable(self) -> str | None:
        return smtp_settings()[1]

    async def send(self, message: OutgoingMessage) -> None:
        settings, reason = smtp_settings()
        if settings is None:
            raise SendError(reason or "email is not configured", transient=True)
        await send_email(settings, build_email(message, settings.sender))


async def send_email(settings: SmtpSettings, email: EmailMessage) -> None:
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.implicit_tls,
            start_tls=None if not settings.implicit_tls else False,
            timeout=SEND_TIMEOUT,
        )
    except aiosmtplib.SMTPException as error:
        raise SendError(f"{type(error).__name__}: {error}", transient=_transient(error)) from error
    except OSError as error:
        raise SendError(f"{type(error).__name__}: {error}", transient=True) from error
