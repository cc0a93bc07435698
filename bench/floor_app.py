"""The floor of ``bench/floor.py``: a bare ASGI app (no framework, no Patron) that does for each
request the least any write API must do: read a JSON body, write one row in a transaction on
PostgreSQL through asyncpg, answer 201 with a small JSON body. ``FLOOR_DSN`` names the database.
"""

from __future__ import annotations

import json
import os
from typing import Any

import asyncpg

_INSERT = "INSERT INTO floor_rows (external_id, total) VALUES ($1, $2) RETURNING id"
_state: dict[str, Any] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _state["pool"] = await asyncpg.create_pool(
                    os.environ["FLOOR_DSN"], min_size=4, max_size=8
                )
                await send({"type": "lifespan.startup.complete"})
            else:
                await _state["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    data = json.loads(body)
    total = int(str(data["total"]).replace(".", ""))
    async with _state["pool"].acquire() as connection, connection.transaction():
        row = await connection.fetchrow(_INSERT, data["external_id"], total)
    answer = json.dumps({"id": row[0], "total": total}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": answer})
