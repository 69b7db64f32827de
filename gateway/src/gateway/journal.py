"""The request journal: the last N requests the gateway routed, secrets removed, newest first."""

from __future__ import annotations

import base64
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
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
    data: bytes | None, headers: tuple[tuple[str, str], ...] | list[tuple[str, str]], max_bytes: int
) -> tuple[bytes | None, bool]:
    """The body as the journal shows it: secrets redacted, then cut at ``max_bytes``."""
    if not data:
        return None, False
    if redact.mentions_secret(data):
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        data = redact.body(data, content_type)
    if len(data) > max_bytes:
        return data[:max_bytes], True
    return data, False


def _held_body(
    data: bytes | None, headers: list[tuple[str, str]], max_bytes: int
) -> tuple[bytes | None, bool]:
    """What a record holds of a body, and whether it is already shown (redacted and cut).

    A body within ``max_bytes`` (nearly all of them) is kept as it came, which
    costs the request nothing, and redacted when read; a longer one is redacted
    and cut at once, so that the journal never holds more than ``max_bytes`` of it.
    """
    if data is None or len(data) <= max_bytes:
        return data, False
    kept, _cut = _kept_body(data, headers, max_bytes)
    return kept, True


@dataclass(slots=True)
class Record:
    """One journaled request as it was answered; shown as an entry (a JSON object), secrets redacted, when read.

    Kept in this compact form so that journaling costs a request little: the
    redaction and the entry's formatting (time, header names, body text) are
    done when it is read. A record is never shown, written to Redis or kept
    anywhere but in the gateway's memory as it is: every way out (the admin
    API, the journal in Redis) goes through ``entry()``, which redacts. (The
    state keeper of several workers, a process of the gateway's own, keeps
    records as they are, and redacts them when they are read, like this one.)
    """

    id: str
    started: float
    duration: float
    route: str | None
    client: str
    method: str
    path: str
    target: str
    status: int | None
    upstream: str | None
    refused: str | None
    fault: str | None
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    request_cut: bool  # the body is already redacted and cut (it was longer than max_body_bytes)
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes | None
    response_cut: bool
    max_body_bytes: int

    def fields(self) -> tuple:
        """The record's fields in order (``Record(*fields)`` makes it again): how it travels to the state keeper."""
        return tuple([getattr(self, name) for name in self.__slots__])

    def entry(self) -> dict[str, Any]:
        """The entry as the admin API shows it, secrets redacted."""
        target = self.target
        query = redact.urlencoded(target.partition("?")[2]) if "?" in target else ""
        limit = self.max_body_bytes
        request_body, request_cut = self.request_body, self.request_cut
        if not request_cut:
            request_body, request_cut = _kept_body(request_body, self.request_headers, limit)
        response_body, response_cut = self.response_body, self.response_cut
        if not response_cut:
            response_body, response_cut = _kept_body(response_body, self.response_headers, limit)
        return {
            "id": self.id,
            "time": rfc3339(self.started),
            "route": self.route,
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "query": query,
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 3),
            "upstream": self.upstream,
            "refused": self.refused,
            "fault": self.fault,
            "request": _part(redact.header_pairs(self.request_headers), request_body, request_cut),
            "response": _part(redact.header_pairs(self.answered_headers()), response_body, response_cut),
        }

    def answered_headers(self) -> tuple[tuple[str, str], ...]:
        """The answer's headers as the client received them: the reply's, then the Date the HTTP layer adds.

        The server (or mock_vendors' adapter, in process) writes Date, to the
        second, as it sends the reply, just after this record was made; a reply
        with no headers at all (a reset fault, a client gone before its answer)
        was never sent, so it got no Date either.
        """
        if not self.response_headers:
            return self.response_headers
        answered = self.started + self.duration
        return (*self.response_headers, ("Date", formatdate(int(answered), usegmt=True)))


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


def matches(filters: dict[str, Any], route: str | None, method: str, path: str, status: int | None) -> bool:
    """Whether an entry with these fields passes every filter of ``filters`` (see parse_filters)."""
    wanted_route, wanted_method = filters.get("route"), filters.get("method")
    prefix, wanted_status = filters.get("path"), filters.get("status")
    return (
        (wanted_route is None or route == wanted_route)
        and (wanted_method is None or method == wanted_method)
        and (prefix is None or path.startswith(prefix))
        and (wanted_status is None or status == wanted_status)
    )


def record_of(
    request: GatewayRequest,
    reply: Reply,
    client: str,
    request_id: str,
    duration: float,
    upstream: str | None,
    max_body_bytes: int,
) -> Record:
    """The record of one answered request (nothing parsed or redacted yet: see Record.entry)."""
    if reply.abort:  # a reset fault: the client got no answer at all
        status, response_headers, response_body, response_cut = None, (), None, False
    else:
        status, response_headers = reply.status, tuple(reply.headers)
        response_body, response_cut = _held_body(reply.body, reply.headers, max_body_bytes)
    request_body, request_cut = _held_body(request.body, request.headers, max_body_bytes)
    return Record(
        request_id, time.time() - duration, duration, reply.route, client, request.method,
        request.path, request.target, status, upstream, reply.refused, reply.fault,
        tuple(request.headers), request_body, request_cut,
        response_headers, response_body, response_cut, max_body_bytes,
    )  # fmt: skip


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

    def find(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest entries matching every filter, at most ``filters['limit']``."""
        found = []
        for record in reversed(self.records):
            if matches(filters, record.route, record.method, record.path, record.status):
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
