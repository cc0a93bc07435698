"""Column-wise reads of large tables with ConnectorX: SQL in, Arrow tables out, no Python
object per row.

On PostgreSQL ConnectorX runs here, in threads. On SQLite it never runs in this process: it
carries its own copy of SQLite, and two copies of SQLite in one process destroy a database in
WAL mode that both open (see :mod:`patron.kit.columnar_child`; SQLite's "How To Corrupt An
SQLite Database File", section "multiple copies of SQLite linked into the same application").
SQLite reads go to a reader process started on first use and kept for the life of this one
(:class:`ReaderProcess`); it answers Arrow IPC streams over a pipe. Only this module may import
ConnectorX, and only for a PostgreSQL source.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy.engine import URL

CHILD_MODULE = "patron.kit.columnar_child"
TABLE, ERROR = b"T", b"E"
LENGTH_BYTES = 8


class ColumnarReadError(RuntimeError):
    """A read failed in ConnectorX, or the reader process died."""


@dataclass(frozen=True)
class ColumnarRead:
    """One query (or several whose results are concatenated), optionally split on a column."""

    query: str | tuple[str, ...]
    partition_on: str | None = None
    partition_num: int = 2

    def as_json(self) -> dict[str, Any]:
        query = list(self.query) if isinstance(self.query, tuple) else self.query
        return {
            "query": query,
            "partition_on": self.partition_on,
            "partition_num": self.partition_num,
        }


def connectorx_source(url: URL) -> str:
    """A SQLAlchemy URL in ConnectorX's form (plain scheme, absolute path)."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite://{Path(url.database or '').resolve()}"
    plain = url.set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)


async def read_tables(url: URL, reads: Sequence[ColumnarRead]) -> list[pa.Table]:
    """Run ``reads`` together; one table per read, in order."""
    source = connectorx_source(url)
    if url.get_backend_name() == "sqlite":
        return await asyncio.to_thread(reader_process().read, source, reads)
    return list(await asyncio.gather(*(asyncio.to_thread(_in_process, source, r) for r in reads)))


def _in_process(source: str, read: ColumnarRead) -> pa.Table:
    if source.startswith("sqlite:"):  # never: see the module's docstring
        raise ColumnarReadError("ConnectorX may not open a SQLite file in a Patron process")
    import connectorx as cx

    options: dict[str, Any] = {"return_type": "arrow"}
    if read.partition_on is not None:
        options |= {"partition_on": read.partition_on, "partition_num": read.partition_num}
    query = list(read.query) if isinstance(read.query, tuple) else read.query
    try:
        table: pa.Table = cx.read_sql(source, query, **options)
    except Exception as error:
        raise ColumnarReadError(f"{type(error).__name__}: {error}") from error
    return table


class ReaderProcess:
    """The SQLite reader process: started when first needed, restarted if it died, one request
    at a time (a lock: requests of several threads queue). It ends when this process closes
    its pipe: at exit (``atexit``), or when this process dies, however."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def read(self, source: str, reads: Sequence[ColumnarRead]) -> list[pa.Table]:
        request = json.dumps({"source": source, "reads": [r.as_json() for r in reads]})
        with self._lock:
            process = self._running()
            try:
                return self._exchange(process, request.encode() + b"\n", len(reads))
            except (OSError, EOFError) as error:
                self._stop()
                raise ColumnarReadError(f"the SQLite reader process failed: {error}") from error

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._process = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        return self._process

    @staticmethod
    def _exchange(process: subprocess.Popen[bytes], request: bytes, count: int) -> list[pa.Table]:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(request)
        process.stdin.flush()
        tables: list[pa.Table] = []
        failures: list[str] = []
        for _ in range(count):
            status = _exactly(process.stdout, 1)
            payload = _exactly(
                process.stdout, int.from_bytes(_exactly(process.stdout, 8), "little")
            )
            if status == ERROR:
                failures.append(payload.decode())
            else:
                tables.append(pa.ipc.open_stream(payload).read_all())
        if failures:
            raise ColumnarReadError("; ".join(failures))
        return tables

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        with self._lock:
            self._stop()


def _exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("the reader process ended mid-answer")
    return data


_READER = ReaderProcess()
atexit.register(_READER.close)


def reader_process() -> ReaderProcess:
    """This process's SQLite reader process."""
    return _READER
