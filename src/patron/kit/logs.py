"""Structured logs: one JSON object a line on stderr (or plain text), through stdlib ``logging``.

``configure_logging`` installs one handler on the root logger: Patron's own loggers
(``patron.*``) at ``PATRON_LOG_LEVEL`` (default ``info``), every other library at ``warning``
(httpx, for one, logs each request's URL at ``info``). ``PATRON_LOG_FORMAT`` is ``json`` (the
default of ``patron serve`` and ``patron worker``) or ``text``.

A line holds the time, level, logger and message, then the fields the call passed in
``extra`` (``log.info("request", extra={"route": ..., "status": ...})``). An exception is
written as its type and its stack (file, line, function of each frame), never its message:
a message may quote the data that failed (an email address, a phone number, a token). What
Patron writes is listed in ``docs/security.md`` ("What is logged"); it never holds personal
data, secrets or SQL parameters (every engine hides them, :mod:`patron.kit.db`).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any, TextIO

import orjson

LEVEL_ENV = "PATRON_LOG_LEVEL"
FORMAT_ENV = "PATRON_LOG_FORMAT"
LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("json", "text")

# the attributes every LogRecord has: anything else on a record came from ``extra``
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def exception_text(error: BaseException) -> str:
    """``error``'s traceback (with its causes) as Python prints it, but each exception shown by
    its type alone: the frames say where, a message could say whose."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    parts = []
    for link in reversed(chain):
        frames = traceback.format_list(traceback.extract_tb(link.__traceback__))
        kind = type(link)
        parts.append(
            "Traceback (most recent call last):\n"
            + "".join(frames)
            + f"{kind.__module__}.{kind.__qualname__}"
        )
    return "\n\nwhich caused:\n\n".join(parts)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        name: value
        for name, value in record.__dict__.items()
        if name not in _STANDARD and not name.startswith("_")
    }


_second: tuple[int, str] = (-1, "")  # the last second formatted (one strftime a second)


def _moment(record: logging.LogRecord) -> str:
    """The record's time in UTC as ISO 8601 with milliseconds (``datetime.fromtimestamp``
    took 20 µs of a 30 µs log line here)."""
    global _second
    whole = int(record.created)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(record.msecs):03d}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``msg``, the ``extra`` fields,
    and ``error`` (the exception's type) with ``traceback`` when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _moment(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__module__}.{type(error).__qualname__}"
            line["traceback"] = exception_text(error)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``, the traceback on the lines after."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{name}={value}" for name, value in _fields(record).items())
        text = f"{_moment(record)} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            text += " " + fields
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + exception_text(record.exc_info[1])
        return text


class _PatronHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs (and replaces when called again).
    Without a stream of its own it writes to whatever ``sys.stderr`` is at the time (a
    command run inside a test's runner must not keep the runner's closed stream)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)
        self.follows_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self.follows_stderr:
            self.stream = sys.stderr
        super().emit(record)


def logging_settings(environ: Mapping[str, str], *, default_format: str) -> tuple[int, str]:
    """The level and format the environment sets (a bad value is a ValueError naming the
    setting: the command stops at its start)."""
    level = environ.get(LEVEL_ENV, "").strip().lower() or "info"
    if level not in LEVELS:
        raise ValueError(f"{LEVEL_ENV} must be one of {', '.join(LEVELS)}, not {level!r}")
    form = environ.get(FORMAT_ENV, "").strip().lower() or default_format
    if form not in FORMATS:
        raise ValueError(f"{FORMAT_ENV} must be json or text, not {form!r}")
    return logging.getLevelNamesMapping()[level.upper()], form


def configure_logging(
    environ: Mapping[str, str], *, default_format: str = "json", stream: TextIO | None = None
) -> None:
    """Send the process's logs to ``stream`` (stderr) in the format the environment sets (see
    the module docstring)."""
    level, form = logging_settings(environ, default_format=default_format)
    handler = _PatronHandler(stream)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _PatronHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("patron").setLevel(level)
