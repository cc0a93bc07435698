"""Errors as a person reads them: the text of a :class:`PatronError`'s stable ``code`` in the
page's language, filled with the error's ``params`` (the English ``message`` of the error is
for logs and the API)."""

from __future__ import annotations

from collections.abc import Callable

from patron.kit.errors import PatronError
from patron.web.templating import gettext_for


def _texts(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "program_not_found": _("No loyalty program is active yet: apply one first."),
        "member_not_found": _("There is no such member."),
        "member_blocked": _("This member is blocked: no points can be earned or spent."),
        "insufficient_points": _(
            "%(requested)s points are needed, but only %(available)s are available."
        ),
        "limit_exceeded": _("This is above the program's limit of %(limit)s."),
        "user_not_found": _("There is no such user."),
        "reward_not_found": _("There is no such reward."),
        "partner_not_found": _("The program has no such partner."),
        "reward_exists": _("The program already has a reward with this code."),
        "coupon_not_found": _("There is no coupon with this code."),
        "coupon_used": _("The coupon was already used."),
        "coupon_cancelled": _("The coupon was already cancelled."),
        "coupon_expired": _("The coupon is out of date."),
        "invalid_window": _("There are no purchases in this period yet."),
        "invalid_input": _("The request is not valid."),
        "validation_error": _("The request is not valid."),
        "webhook_not_found": _("There is no such webhook."),
        "webhook_delivery_not_found": _("The webhook has no such delivery."),
        "webhook_url_invalid": _("The URL must be an http:// or https:// address."),
        "webhook_url_refused": _(
            "The URL leads to a local or private address, which Patron does not call "
            "(PATRON_WEBHOOKS_ALLOW_PRIVATE=1 allows it)."
        ),
        "webhook_url_unresolvable": _("The URL's host name cannot be resolved."),
        "webhook_event_unknown": _("Choose at least one event."),
        "webhook_disabled": _("The webhook is disabled: enable it first."),
        "simulation_input_invalid": _(
            "the simulator cannot compare this file with the active version (another currency?)."
        ),
    }


def error_text(error: PatronError, language: str) -> str:
    _ = gettext_for(language)
    known = _texts(_).get(error.code)
    if known is not None and "%(" in known:
        try:
            return known % error.params
        except (KeyError, TypeError, ValueError):
            known = None  # params that do not fill the text: the general words below
    if known is not None:
        return known
    return str(_("Something went wrong (%(code)s).") % {"code": error.code})


def labels(language: str) -> dict[str, dict[str, str]]:
    """The words for the values of the domain's enums (entry kinds, member status, consent
    channels), in ``language``."""
    _ = gettext_for(language)
    return {
        "kind": {
            "earn": _("Earned"),
            "bonus": _("Bonus"),
            "redeem": _("Redeemed"),
            "expire": _("Expired"),
            "reverse": _("Taken back"),
            "adjust": _("Adjustment"),
            "transfer": _("Transfer"),
            "opening": _("Opening balance"),
        },
        "status": {"active": _("Active"), "blocked": _("Blocked")},
        "channel": {"email": _("Email"), "sms": _("SMS"), "push": _("Push")},
        "language": {"en": "English", "pl": "Polski", "ru": "Русский"},
        # the RFM segments of the default map (a program's own names are shown as written)
        "segment": {
            "hibernating": _("Hibernating"),
            "at_risk": _("At risk"),
            "cant_lose": _("Can't lose them"),
            "about_to_sleep": _("About to sleep"),
            "need_attention": _("Need attention"),
            "loyal": _("Loyal"),
            "promising": _("Promising"),
            "new": _("New"),
            "potential_loyalist": _("Potential loyalists"),
            "champion": _("Champions"),
        },
        # the topics of the feedback analysis
        "topic": {
            "delivery": _("Delivery"),
            "staff": _("Staff and service"),
            "price": _("Price"),
            "quality": _("Quality"),
            "app": _("App"),
            "payment": _("Payment"),
            "cleanliness": _("Cleanliness"),
            "waiting_time": _("Waiting time"),
            "product_availability": _("Product availability"),
            "loyalty_program": _("Loyalty program"),
            "returns": _("Returns"),
            "general": _("General"),
        },
        "trend": {
            "new": _("new"),
            "up": _("growing"),
            "down": _("falling"),
            "flat": _("steady"),
        },
        "coupon": {
            "active": _("To use"),
            "consumed": _("Used"),
            "cancelled": _("Cancelled"),
            "expired": _("Out of date"),
        },
        # the cashback wallet's entries (patron.wallet)
        "wallet_kind": {
            "credit": _("Cashback"),
            "spend": _("Paid with cashback"),
            "reverse": _("At a return"),
        },
    }
