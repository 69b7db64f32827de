"""The request journal: the last N requests the gateway routed, secrets removed, newest first."""

from __future__ import annotations

import base64
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway import redact

if TYPE_CHECKING:
    from gateway.app import GatewayRequest, Reply

FILTERS = ("route", "method", "path", "status", "limit")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class FilterError(ValueError):
    """A journal query names an unknown filter or gives a bad value; the message names it."""


def rfc3339(timestamp: float) -> str:
    """``timestamp`` as RFC 3339 UTC with milliseconds, e.g. 2026-12-02T10:00:00.123Z."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _part(headers: tuple[tuple[str, str], ...], data: bytes | None, truncated: bool) -> dict[str, Any]:
    joined: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        joined[lower] = f"{joined[lower]}, {value}" if lower in joined else value
    if not data:
        return {"headers": joined, "body": None, "body_encoding": "text", "truncated": truncated}
    try:
        text, encoding = data.decode("utf-8"), "text"
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(data) - 3:
            # The cut fell inside a character: keep the text before it.
            text, encoding = data[: exc.start].decode("utf-8"), "text"
        else:
            text, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return {"headers": joined, "body": text, "body_encoding": encoding, "truncated": truncated}


def _kept_body(
    data: bytes | None, headers: list[tuple[str, str]], max_bytes: int
) -> tuple[bytes | None, bool]:
    """The body as the journal keeps it: secrets redacted, then cut at ``max_bytes``."""
    if not data:
        return None, False
    if redact.mentions_secret(data):
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        data = redact.body(data, content_type)
    if len(data) > max_bytes:
        return data[:max_bytes], True
    return data, False


@dataclass(slots=True)
class Record:
    """One journaled request, secrets already redacted; shown as an entry (a JSON object) when read.

    Kept in this compact form so that journaling costs a request little: the
    entry's formatting (time, header names, body text) is done when it is read.
    """

    id: str
    started: float
    duration: float
    route: str | None
    client: str
    method: str
    path: str
    query: str
    status: int | None
    upstream: str | None
    refused: str | None
    fault: str | None
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    request_truncated: bool
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes | None
    response_truncated: bool

    def entry(self) -> dict[str, Any]:
        """The entry as the admin API shows it."""
        return {
            "id": self.id,
            "time": rfc3339(self.started),
            "route": self.route,
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 3),
            "upstream": self.upstream,
            "refused": self.refused,
            "fault": self.fault,
            "request": _part(self.request_headers, self.request_body, self.request_truncated),
            "response": _part(self.response_headers, self.response_body, self.response_truncated),
        }


def parse_filters(args: dict[str, list[str]]) -> dict[str, Any]:
    """The filters of ``GET /_gateway/requests`` from its query arguments; FilterError names a bad one."""
    filters: dict[str, Any] = {"limit": DEFAULT_LIMIT}
    for name, values in args.items():
        if name not in FILTERS:
            raise FilterError(f"{name}: unknown filter (expected {', '.join(FILTERS)})")
        if len(values) != 1:
            raise FilterError(f"{name}: give it once")
        value = values[0]
        if name in ("status", "limit"):
            try:
                number = int(value)
            except ValueError:
                raise FilterError(f"{name}: expected a whole number") from None
            if name == "limit" and not 1 <= number <= MAX_LIMIT:
                raise FilterError(f"limit: expected 1 to {MAX_LIMIT}")
            if name == "status" and not 100 <= number <= 599:
                raise FilterError("status: expected an HTTP status code")
            filters[name] = number
        elif name == "method":
            filters[name] = value.upper()
        else:
            filters[name] = value
    return filters


class Journal:
    """The newest ``capacity`` entries of this process, oldest dropped first."""

    def __init__(self, capacity: int, max_body_bytes: int):
        self.capacity = capacity
        self.max_body_bytes = max_body_bytes
        self.records: deque[Record] = deque(maxlen=capacity or 1)

    @property
    def enabled(self) -> bool:
        """Whether requests are kept at all."""
        return self.capacity > 0

    def add(
        self,
        request: GatewayRequest,
        reply: Reply,
        client: str,
        request_id: str,
        duration: float,
        upstream: str | None,
    ) -> None:
        """Keep one answered request, secrets redacted (called once the reply is on its way)."""
        limit = self.max_body_bytes
        target = request.target
        query = redact.urlencoded(target.partition("?")[2]) if "?" in target else ""
        request_body, request_cut = _kept_body(request.body, request.headers, limit)
        if reply.abort:  # a reset fault: the client got no answer at all
            status, response_headers, response_body, response_cut = None, (), None, False
        else:
            status, response_headers = reply.status, redact.header_pairs(reply.headers)
            response_body, response_cut = _kept_body(reply.body, reply.headers, limit)
        record = Record(
            request_id, time.time() - duration, duration, reply.route, client, request.method,
            request.path, query, status, upstream, reply.refused, reply.fault,
            redact.header_pairs(request.headers), request_body, request_cut,
            response_headers, response_body, response_cut,
        )  # fmt: skip
        self.records.append(record)

    def find(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest entries matching every filter, at most ``filters['limit']``."""
        found = []
        route, method = filters.get("route"), filters.get("method")
        path, status = filters.get("path"), filters.get("status")
        for record in reversed(self.records):
            if (
                (route is None or record.route == route)
                and (method is None or record.method == method)
                and (path is None or record.path.startswith(path))
                and (status is None or record.status == status)
            ):
                found.append(record.entry())
                if len(found) >= filters["limit"]:
                    break
        return found

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The newest entry with ``request_id``, or None."""
        record = next((r for r in reversed(self.records) if r.id == request_id), None)
        return None if record is None else record.entry()

    def clear(self, routes: set[str] | None = None) -> None:
        """Drop every entry, or those of ``routes``."""
        if routes is None:
            self.records.clear()
            return
        kept = [r for r in self.records if r.route not in routes]
        self.records.clear()
        self.records.extend(kept)
