"""The event types an endpoint may subscribe to.

The names are the contract of ``docs/events.md`` (issue #11): webhooks expose them. This list
is the webhooks' own copy until the domains' event classes are gathered into one catalogue;
then :data:`EVENT_TYPES` becomes that catalogue's names. ``tests/webhooks/test_catalogue.py``
holds it equal to the types of the domains' ``DomainEvent`` classes.
"""

from __future__ import annotations

from patron.kit.outbox import ALL_EVENTS

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "members.enrolled",
        "members.updated",
        "members.erased",
        "members.login_requested",
        "members.flagged",
        "members.unblocked",
        "purchases.recorded",
        "purchases.returned",
        "purchases.effects_due",
        "ledger.credited",
        "ledger.debited",
        "points.expiring",
        "points.expired",
        "tiers.changed",
        "wallet.credited",
        "wallet.debited",
        "campaigns.budget_alert",
        "campaigns.applied",
        "campaigns.raffle_drawn",
        "campaigns.prize_returned",
        "campaigns.message_due",
        "events.recorded",
        "challenges.completed",
        "badges.earned",
        "referrals.created",
        "referrals.flagged",
        "referrals.qualified",
        "referrals.rewarded",
        "referrals.clawed_back",
        "rewards.redeemed",
        "rewards.granted",
        "coupons.consumed",
        "surveys.invited",
        "surveys.answered",
        "reviews.created",
        "reviews.replied",
        "reviews.flagged",
        "tickets.created",
        "tickets.resolved",
    }
)


def unknown_events(events: list[str]) -> list[str]:
    """The names in ``events`` that are neither a known type nor ``"*"`` (all events)."""
    return [name for name in events if name != ALL_EVENTS and name not in EVENT_TYPES]


def matches(subscribed: list[str], event_type: str) -> bool:
    return ALL_EVENTS in subscribed or event_type in subscribed
