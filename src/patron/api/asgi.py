"""ASGI entry point for multi-worker servers: ``uvicorn patron.api.asgi:app``.

The database comes from ``PATRON_DATABASE_URL`` (default ``./patron.db``); the logs go to
stderr as ``PATRON_LOG_FORMAT`` and ``PATRON_LOG_LEVEL`` say (:mod:`patron.kit.logs`).
"""

from __future__ import annotations

import os

from patron.api.app import create_app
from patron.kit.logs import configure_logging

configure_logging(os.environ)
app = create_app()
