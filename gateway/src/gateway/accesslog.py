"""The gateway's access log: one JSON line per request on standard output, written without the logging machinery.

The lines have the shape of every other log line of the project (vendorkit's
JSON formatter: time, level, logger, message, then the fields), but building a
LogRecord and flushing standard output for every request cost more than the
rest of the request, so the lines are formatted here and flushed in batches,
at most ``FLUSH_SECONDS`` after they were written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from datetime import UTC, datetime

FLUSH_SECONDS = 0.05
LOGGER_NAME = "gateway.access"

_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class AccessLog:
    """Writes request lines to a text stream; enabled when the ``gateway.access`` logger allows INFO."""

    def __init__(self, stream=None):
        self._stream = stream
        self._second = -1
        self._prefix = ""
        self._flush_pending = False
        self.enabled = logging.getLogger(LOGGER_NAME).isEnabledFor(logging.INFO)

    @property
    def stream(self):
        return self._stream or sys.stdout

    def _time(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((now - second) * 1000):03d}+00:00"

    def write(self, **fields) -> None:
        """One request's line; the caller passes no bodies, tokens or query strings."""
        if not self.enabled:
            return
        entry = {"time": self._time(), "level": "info", "logger": LOGGER_NAME, "message": "request"}
        entry.update(fields)
        self.stream.write(_encode(entry) + "\n")
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.stream.flush()
            return
        self._flush_pending = True
        loop.call_later(FLUSH_SECONDS, self._flush)

    def flush(self) -> None:
        """Write out what is buffered."""
        self._flush()

    def _flush(self) -> None:
        self._flush_pending = False
        # A closed or broken standard output must not stop the gateway.
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()
