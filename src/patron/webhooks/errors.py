from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError


class WebhookNotFoundError(NotFoundError):
    code = "webhook_not_found"


class DeliveryNotFoundError(NotFoundError):
    code = "webhook_delivery_not_found"


class WebhookUrlInvalidError(InvalidInputError):
    """Not an absolute http(s) URL with a host (or it carries a user name or password)."""

    code = "webhook_url_invalid"


class WebhookUrlRefusedError(InvalidInputError):
    """The host is, or resolves to, a loopback, private, link-local, cloud-metadata or other
    non-public address (``PATRON_WEBHOOKS_ALLOW_PRIVATE=1`` allows all but cloud metadata)."""

    code = "webhook_url_refused"


class WebhookUrlUnresolvableError(InvalidInputError):
    """The host has no address (DNS answers nothing)."""

    code = "webhook_url_unresolvable"


class WebhookEventUnknownError(InvalidInputError):
    code = "webhook_event_unknown"


class WebhookDisabledError(ConflictError):
    """A delivery of a disabled endpoint cannot be sent again before the endpoint is enabled."""

    code = "webhook_disabled"
