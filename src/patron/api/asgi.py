"""ASGI entry point for multi-worker servers: ``uvicorn patron.api.asgi:app``.

The database comes from ``PATRON_DATABASE_URL`` (default ``./patron.db``).
"""

from __future__ import annotations

from patron.api.app import create_app

app = create_app()
