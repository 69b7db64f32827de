"""Faults injected on purpose: a route's requests delayed, refused, timed out or cut off, as a test asks."""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from dataclasses import dataclass
from typing import Any

from gateway.journal import rfc3339

ACTIONS = ("delay", "rate_limited", "unavailable", "bad_gateway", "timeout", "reset")
WAITING = ("delay", "timeout")
FIELDS = {
    "route",
    "methods",
    "path",
    "action",
    "when",
    "probability",
    "times",
    "seed",
    "delay_ms",
    "retry_after",
}
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
MAX_DELAY_MS = 60000
# Rolls are the first 52 bits of a SHA-1, as a fraction of 2**52 (Redis's Lua computes the same).
ROLL_HEX_DIGITS = 13
ROLL_SCALE = float(1 << 52)


def roll(key: str, number: int) -> float:
    """The ``number``-th roll (from 1) of the fault keyed ``key``: in [0, 1), the same on every run and in every worker.

    A roll is a function of the fault's key (its seed, or a random key for an
    unseeded fault) and the count of rolls so far, not a random source's state,
    so that the workers sharing a fault (through Redis or the state keeper)
    draw one sequence between them, and a seeded fault hits the same requests
    every run.
    """
    digest = hashlib.sha1(f"{key}:{number}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:ROLL_HEX_DIGITS], 16) / ROLL_SCALE


class FaultError(ValueError):
    """A fault document is invalid; the message names the field."""


@dataclass
class Fault:
    """One fault as stored; ``key`` and ``rolls`` decide which requests a fault of probability < 1 hits (see roll)."""

    id: str
    route: str
    action: str
    methods: list[str] | None = None
    path: str | None = None
    when: str = "before"
    probability: float = 1.0
    times: int | None = None
    seed: int | None = None
    delay_ms: int | None = None
    retry_after: int | None = None
    hits: int = 0
    created: str = ""
    key: str = ""
    rolls: int = 0

    @classmethod
    def of(cls, document: dict[str, Any]) -> Fault:
        """The fault a document of ``document()`` describes (as the shared state hands it back)."""
        return cls(**{name: document[name] for name in STORED if name in document})

    def matches(self, route: str, method: str, path: str) -> bool:
        """Whether this fault covers the request (before its probability is rolled)."""
        return (
            self.route == route
            and (self.methods is None or method in self.methods)
            and (self.path is None or path.startswith(self.path))
        )

    def hits_now(self) -> bool:
        """Roll for one request this fault covers: whether its probability hits (counted as a roll)."""
        if self.probability >= 1:
            return True
        self.rolls += 1
        return roll(self.key, self.rolls) < self.probability

    def document(self) -> dict[str, Any]:
        """The fault as the admin API shows it."""
        return {
            "id": self.id,
            "route": self.route,
            "methods": self.methods,
            "path": self.path,
            "action": self.action,
            "when": self.when,
            "probability": self.probability,
            "times": self.times,
            "seed": self.seed,
            "delay_ms": self.delay_ms,
            "retry_after": self.retry_after,
            "hits": self.hits,
            "created": self.created,
        }


def _whole(value: Any, name: str, low: int, high: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise FaultError(f"{name}: expected a whole number, {bound}")
    return value


def parse_fault(document: Any, read_timeouts: dict[str, float]) -> dict[str, Any]:
    """The stored fields of a ``POST /_gateway/faults`` document, defaults filled in; FaultError names a bad field.

    ``read_timeouts`` maps each configured route to its read timeout in seconds.
    """
    if not isinstance(document, dict):
        raise FaultError("(body): expected a JSON object")
    unknown = sorted(set(document) - FIELDS)
    if unknown:
        raise FaultError(f"{unknown[0]}: unknown field")
    route = document.get("route")
    if route not in read_timeouts:
        raise FaultError(f"route: expected one of {', '.join(read_timeouts)}")
    action = document.get("action")
    if action not in ACTIONS:
        raise FaultError(f"action: expected one of {', '.join(ACTIONS)}")

    methods = document.get("methods")
    if methods is not None:
        if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
            raise FaultError("methods: expected a list of HTTP methods")
        methods = [m.upper() for m in methods]
        bad = [m for m in methods if m not in KNOWN_METHODS]
        if bad:
            raise FaultError(f"methods: unknown method {bad[0]!r}")
    path = document.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise FaultError("path: expected a path prefix starting with '/'")

    when = document.get("when", "before")
    if when not in ("before", "after"):
        raise FaultError("when: expected 'before' or 'after'")
    if when == "after" and action == "delay":
        raise FaultError("when: a delay applies before the request is forwarded, not after")

    probability = document.get("probability", 1)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 < probability <= 1:
        raise FaultError("probability: expected a number greater than 0 and at most 1")
    times = document.get("times")
    if times is not None:
        times = _whole(times, "times", 1)
    seed = document.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultError("seed: expected a whole number or null")

    delay_ms = document.get("delay_ms")
    if action == "delay":
        if delay_ms is None:
            raise FaultError("delay_ms: required for a delay")
        delay_ms = _whole(delay_ms, "delay_ms", 1, MAX_DELAY_MS)
    elif action == "timeout":
        if delay_ms is None:
            delay_ms = min(round(read_timeouts[route] * 1000), MAX_DELAY_MS)
        delay_ms = _whole(delay_ms, "delay_ms", 1, MAX_DELAY_MS)
    elif delay_ms is not None:
        raise FaultError(f"delay_ms: only a delay or a timeout waits, not {action}")

    retry_after = document.get("retry_after")
    if action == "rate_limited":
        retry_after = _whole(1 if retry_after is None else retry_after, "retry_after", 0)
    elif retry_after is not None:
        raise FaultError("retry_after: only for rate_limited")

    return {
        "route": route,
        "methods": methods,
        "path": path,
        "action": action,
        "when": when,
        "probability": float(probability),
        "times": times,
        "seed": seed,
        "delay_ms": delay_ms,
        "retry_after": retry_after,
    }


STORED = (
    "id", "route", "action", "methods", "path", "when", "probability", "times", "seed", "delay_ms",
    "retry_after", "hits", "created", "key",
)  # fmt: skip


def new_id(number: int) -> str:
    """A fault id: its number in the book, and random bits so that ids of separate runs differ."""
    return f"f{number}-{random.getrandbits(32):08x}"


def roll_key(fields: dict[str, Any]) -> str:
    """The key of a new fault's rolls: its seed when it has one (the same hits every run), else random."""
    seed = fields["seed"]
    return str(seed) if seed is not None else f"{random.getrandbits(64):016x}"


class FaultBook:
    """The faults in force in this process, in the order they were created."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._numbers = itertools.count(1)

    def create(self, fields: dict[str, Any]) -> Fault:
        """Store a validated fault (see parse_fault)."""
        fault = Fault(
            id=new_id(next(self._numbers)), created=rfc3339(time.time()), key=roll_key(fields), **fields
        )
        self.faults.append(fault)
        return fault

    def pick(self, route: str, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted as applied; None when none does.

        The faults are tried in the order they were created; the first that
        covers the request and whose probability hits applies, and no other.
        """
        if not self.faults:
            return None
        for fault in self.faults:
            if not fault.matches(route, method, path):
                continue
            if not fault.hits_now():
                continue
            fault.hits += 1
            if fault.times is not None and fault.hits >= fault.times:
                self.faults.remove(fault)
            return fault
        return None

    def get(self, fault_id: str) -> Fault | None:
        """The fault with ``fault_id``, or None."""
        return next((f for f in self.faults if f.id == fault_id), None)

    def remove(self, fault_id: str) -> bool:
        """Remove one fault; False when there is none with that id."""
        fault = self.get(fault_id)
        if fault is None:
            return False
        self.faults.remove(fault)
        return True

    def clear(self, routes: set[str] | None = None) -> None:
        """Remove every fault, or those of ``routes``."""
        self.faults = [] if routes is None else [f for f in self.faults if f.route not in routes]
