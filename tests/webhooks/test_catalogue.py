"""The event types an endpoint may subscribe to are exactly the domains' events."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterator

import patron
from patron.kit.outbox import DomainEvent
from patron.webhooks.catalogue import EVENT_TYPES, unknown_events


def _subclasses(cls: type[DomainEvent]) -> Iterator[type[DomainEvent]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def domain_event_types() -> set[str]:
    """The ``type`` of every ``DomainEvent`` in a ``patron.<domain>.events`` module."""
    for module in pkgutil.iter_modules(patron.__path__):
        name = f"patron.{module.name}.events"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return {sub.type for sub in _subclasses(DomainEvent) if sub.__module__.startswith("patron.")}


def test_every_domain_event_may_be_subscribed_to() -> None:
    types = domain_event_types()
    assert "points.expiring" in types
    assert types == EVENT_TYPES
    assert unknown_events(sorted(types)) == []
