"""Messages to members: email now, SMS and push later through the same :class:`Channel`.

Handlers (``handlers.py``) turn domain events into rows of ``messages`` in the event's unit of
work: rendered in the member's language, queued, or recorded as skipped when the member has no
consent or no address. The sender (``sender.py``, a :class:`~patron.kit.outbox.Poller`) sends
the queued rows through their channel, rechecking consent at send time, and retries transient
failures with backoff. ``docs/messages.md`` is the user's guide.
"""
