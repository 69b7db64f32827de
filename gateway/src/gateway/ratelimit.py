"""Per-route rate limits counted by the ``limits`` library, with Kong's and the IETF draft's headers."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger("gateway.ratelimit")

# Seconds to skip an unreachable storage before trying it again, so that a dead
# Redis costs one short timeout per second rather than one per request.
STORAGE_RETRY_SECONDS = 1.0
REDIS_TIMEOUT_SECONDS = 0.25


class StorageUnavailable(RuntimeError):
    """The counters could not be read or written."""


@dataclass
class Decision:
    allowed: bool
    headers: list[tuple[str, str]] = field(default_factory=list)
    retry_after: int | None = None


class RateLimiter:
    """Sliding-window counters shared by every worker that uses the same storage."""

    def __init__(self, storage_url: str):
        options: dict = {}
        if storage_url.startswith(("redis://", "rediss://", "redis+unix://")):
            options = {
                "wrap_exceptions": True,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            }
        self.storage = storage_from_string(storage_url, **options)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._skip_until = 0.0

    def check(self, items: tuple[RateLimitItem, ...], scope: str, key: str) -> Decision:
        """Count one request of ``key`` against every limit in ``items``; all must hold."""
        if not items:
            return Decision(True)
        if time.monotonic() < self._skip_until:
            raise StorageUnavailable("rate-limit storage was unreachable moments ago")
        try:
            outcomes = []
            for item in items:
                allowed = self.strategy.hit(item, scope, key)
                outcomes.append((item, allowed, self.strategy.get_window_stats(item, scope, key)))
        except (StorageError, ConnectionError, TimeoutError, OSError) as exc:
            self._skip_until = time.monotonic() + STORAGE_RETRY_SECONDS
            raise StorageUnavailable(str(exc)) from exc

        now = time.time()
        headers: list[tuple[str, str]] = []
        for item, _allowed, stats in outcomes:
            period = item.GRANULARITY.name.capitalize()
            headers.append((f"X-RateLimit-Limit-{period}", str(item.amount)))
            headers.append((f"X-RateLimit-Remaining-{period}", str(max(stats.remaining, 0))))
        # The most restrictive limit: fewest remaining, the longer window on a tie.
        item, _allowed, stats = min(
            outcomes, key=lambda o: (max(o[2].remaining, 0), -o[0].GRANULARITY.seconds)
        )
        headers.append(("RateLimit-Limit", str(item.amount)))
        headers.append(("RateLimit-Remaining", str(max(stats.remaining, 0))))
        headers.append(("RateLimit-Reset", str(max(math.ceil(stats.reset_time - now), 0))))

        refused = [(i, s) for i, ok, s in outcomes if not ok]
        if not refused:
            return Decision(True, headers)
        wait = max(max(math.ceil(s.reset_time - now), 1) for _i, s in refused)
        return Decision(False, headers, retry_after=wait)
