"""Per-route rate limits counted by the ``limits`` library (asyncio storages), with Kong's and the IETF draft's headers.

A storage that fails is marked bad: from then on requests do not wait on it
(they fail open or closed at once, as configured) while one background task
probes it until it answers again. So an outage costs a timeout only to the
requests already waiting on the storage when it failed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from gateway.outage import Outage

log = logging.getLogger("gateway.ratelimit")

# How long one request may wait on the storage before it counts as down.
STORAGE_TIMEOUT_SECONDS = 0.25


class StorageUnavailable(RuntimeError):
    """The counters could not be read or written."""


@dataclass
class Decision:
    allowed: bool
    headers: list[tuple[str, str]] = field(default_factory=list)
    retry_after: int | None = None


def _async_url(storage_url: str) -> str:
    return storage_url if storage_url.startswith("async+") else "async+" + storage_url


class RateLimiter:
    """Sliding-window counters shared by every worker that uses the same storage.

    The storage is made on first use, inside the running event loop (never at
    import or construction time, and never before a worker process forks).
    """

    def __init__(self, storage_url: str):
        self.storage_url = storage_url
        self.remote = not storage_url.startswith("memory://")
        self._storage = None
        self._strategy: SlidingWindowCounterRateLimiter | None = None
        self.outage = Outage(
            "rate-limit storage", self._reachable, timeout=STORAGE_TIMEOUT_SECONDS * 2, log=log
        )
        # With several workers counting in memory: the state keeper's client, through which a
        # counter reset made by another worker reaches this one's counters (gateway.keeper).
        self.resets = None

    def _ensure_storage(self) -> SlidingWindowCounterRateLimiter:
        if self._strategy is None:
            options: dict = {}
            if self.storage_url.startswith(("redis://", "rediss://", "redis+unix://")):
                options = {
                    "implementation": "redispy",
                    "wrap_exceptions": True,
                    "socket_timeout": STORAGE_TIMEOUT_SECONDS,
                    "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS,
                }
            self._storage = storage_from_string(_async_url(self.storage_url), **options)
            self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        return self._strategy

    async def check(self, items: tuple[RateLimitItem, ...], scope: str, key: str) -> Decision:
        """Count one request of ``key`` against every limit in ``items``; all must hold."""
        if not items:
            return Decision(True)
        if self.resets is not None and self.resets.stale():
            await self.resets.catch_up(self)
        if self.outage.known:
            raise StorageUnavailable("rate-limit storage is down (probing in the background)")
        strategy = self._ensure_storage()
        try:
            if self.remote:
                async with asyncio.timeout(STORAGE_TIMEOUT_SECONDS):
                    outcomes = await self._count(strategy, items, scope, key)
            else:  # counters in this process cannot stall
                outcomes = await self._count(strategy, items, scope, key)
        except (StorageError, ConnectionError, TimeoutError, OSError) as exc:
            self.outage.begin()
            raise StorageUnavailable(str(exc) or type(exc).__name__) from exc

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

    @staticmethod
    async def _count(strategy, items, scope: str, key: str) -> list:
        outcomes = []
        for item in items:
            allowed = await strategy.hit(item, scope, key)
            outcomes.append((item, allowed, await strategy.get_window_stats(item, scope, key)))
        return outcomes

    async def clear(self, routes: set[str] | None = None) -> None:
        """Forget the counters of ``routes`` (a route's own and its overrides'), or every counter."""
        if self._strategy is None:
            return  # nothing was ever counted
        storage = self._storage
        try:
            if routes is None:
                await storage.reset()
            elif hasattr(storage, "bridge"):
                # Redis: delete the routes' keys there (limits names them LIMITER/<scope>/...).
                for name in routes:
                    await storage.bridge.lua_clear_keys(
                        [storage.bridge.prefixed_key(f"*LIMITER/{name}[/:]*")]
                    )
            else:
                # Memory: every counter of a route is keyed LIMITER/<route>/... or LIMITER/<route>:<path>/...
                prefixes = tuple(f"LIMITER/{name}{sep}" for name in routes for sep in "/:")
                for key in [k for k in [*storage.storage, *storage.events] if k.startswith(prefixes)]:
                    await storage.clear(key)
        except (StorageError, ConnectionError, TimeoutError, OSError) as exc:
            raise StorageUnavailable(str(exc) or type(exc).__name__) from exc

    async def _reachable(self) -> bool:
        return await self._storage.check()

    async def close(self) -> None:
        """Stop probing."""
        self.outage.close()
