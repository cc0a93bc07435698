"""Which handlers and pollers the dispatcher runs (:mod:`patron.kit.outbox`).

The worker is a surface: it may import every feature, so the features' handlers are joined
here, and no domain has to know who reacts to its events. A feature names its handlers in its
own ``handlers.py`` (a list of :class:`~patron.kit.outbox.Handler`) and its delivery loops as
:class:`~patron.kit.outbox.Poller`\\ s; add them below. A handler's ``name`` keys its runs in
``outbox_handler_runs``: never rename one that has run.
"""

from __future__ import annotations

from patron.campaigns.deferred import HANDLERS as DEFERRED_HANDLERS
from patron.campaigns.handlers import HANDLERS as CAMPAIGN_HANDLERS
from patron.campaigns.wallet_holds import HANDLERS as WALLET_HOLD_HANDLERS
from patron.challenges.handlers import HANDLERS as CHALLENGE_HANDLERS
from patron.feedback.handlers import HANDLERS as FEEDBACK_HANDLERS
from patron.kit.outbox import Handler, Poller
from patron.notifications import handlers as notification_handlers
from patron.notifications import sender as notification_sender
from patron.tiers.handlers import HANDLERS as TIER_HANDLERS
from patron.webhooks import delivery as webhook_delivery
from patron.webhooks import handlers as webhook_handlers
from patron.worker.feedback_loop import HANDLERS as FEEDBACK_LOOP_HANDLERS


def handlers() -> list[Handler]:
    """Every handler, in the order the dispatcher offers each event to them."""
    return [
        *TIER_HANDLERS,
        *CAMPAIGN_HANDLERS,
        *DEFERRED_HANDLERS,
        *WALLET_HOLD_HANDLERS,
        *CHALLENGE_HANDLERS,
        *FEEDBACK_HANDLERS,
        *FEEDBACK_LOOP_HANDLERS,
        *webhook_handlers.handlers(),
        *notification_handlers.handlers(),
    ]


def pollers() -> list[Poller]:
    """Every delivery loop run next to the dispatcher."""
    return [*webhook_delivery.pollers(), *notification_sender.pollers()]
