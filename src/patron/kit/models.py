"""The kit's own tables, imported here so that :func:`patron.migrations.load_all_models` finds
them like every domain's: the transactional outbox (:mod:`patron.kit.outbox`)."""

from patron.kit.outbox import OutboxEvent, OutboxHandlerRun

__all__ = ["OutboxEvent", "OutboxHandlerRun"]
