"""Upstream replicas: DNS names re-resolved, round robin, ejection of refusing replicas, pooled connections."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from gateway.client import ConnectionPool

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Seconds a pooled upstream connection may sit idle before it is closed rather
# than reused. Upstreams close idle keep-alive connections themselves (gunicorn
# after 2 s by default); reusing one at that moment would lose the request in
# flight, so the gateway lets go first.
MAX_IDLE_SECONDS = 1.0


def _max_idle_seconds() -> float:
    return MAX_IDLE_SECONDS  # read at use time, so that tests may shorten it


@dataclass
class Endpoint:
    """One resolved replica: an address, its connection pool, and when it may be tried again."""

    url: str  # the configured upstream, e.g. http://svc-emm:8000
    address: str
    port: int
    pool: ConnectionPool
    host_header: str
    ejected_until: float = 0.0

    @property
    def label(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


class UpstreamSet:
    """The replicas of one route.

    A configured upstream whose host is a DNS name stands for every address it
    resolves to; the set is refreshed every ``resolve_interval`` seconds (by
    the first request after that, off the event loop), so replicas added or
    removed behind the name are picked up without a restart. A failed lookup
    keeps the last good set.
    """

    def __init__(
        self,
        urls: tuple[str, ...],
        *,
        connect_timeout: float,
        read_timeout: float,
        resolve_interval: float,
        eject_seconds: float,
        resolver: Resolver = system_resolver,
    ):
        self.urls = urls
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.resolve_interval = resolve_interval
        self.eject_seconds = eject_seconds
        self.resolver = resolver
        self._parts = [urllib.parse.urlsplit(url) for url in urls]
        self.needs_resolving = any(not _is_ip(parts.hostname or "") for parts in self._parts)
        self._pools: dict[tuple[str, str, int], ConnectionPool] = {}
        self._endpoints: list[Endpoint] = []
        self._resolved_at = -float("inf")
        self._refreshing: asyncio.Future | None = None
        self._counter = itertools.count()
        self._apply({url: self._lookup(url, parts) for url, parts in zip(urls, self._parts, strict=True)})

    def _lookup(self, url: str, parts: urllib.parse.SplitResult) -> list[str]:
        host = parts.hostname or ""
        if _is_ip(host):
            return [host]
        try:
            return self.resolver(host, self._port(parts))
        except OSError:
            return [e.address for e in self._endpoints if e.url == url]

    @staticmethod
    def _port(parts: urllib.parse.SplitResult) -> int:
        return parts.port or (443 if parts.scheme == "https" else 80)

    def _pool(self, parts: urllib.parse.SplitResult, address: str, port: int) -> ConnectionPool:
        key = (parts.scheme, address, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = ConnectionPool(
                address,
                port,
                connect_timeout=self.connect_timeout,
                tls_hostname=parts.hostname if parts.scheme == "https" else None,
                max_idle_seconds=_max_idle_seconds,
            )
            self._pools[key] = pool
        return pool

    def _apply(self, addresses: dict[str, list[str]]) -> None:
        previous = {(e.url, e.address, e.port): e for e in self._endpoints}
        endpoints: list[Endpoint] = []
        for url, parts in zip(self.urls, self._parts, strict=True):
            port = self._port(parts)
            for address in addresses[url]:
                known = previous.get((url, address, port))
                endpoints.append(
                    known or Endpoint(url, address, port, self._pool(parts, address, port), parts.netloc)
                )
        # Close the pools of replicas that left.
        live = {(e.address, e.port) for e in endpoints}
        for key, pool in list(self._pools.items()):
            if key[1:] not in live:
                pool.close()
                del self._pools[key]
        self._endpoints = endpoints
        self._resolved_at = time.monotonic()

    async def refresh(self) -> None:
        """Resolve every configured upstream again (in a thread); keep what worked before if a lookup fails."""
        loop = asyncio.get_running_loop()
        lookups = [
            loop.run_in_executor(None, self._lookup, url, parts)
            for url, parts in zip(self.urls, self._parts, strict=True)
        ]
        results = await asyncio.gather(*lookups)
        self._apply(dict(zip(self.urls, results, strict=True)))

    async def endpoints(self) -> list[Endpoint]:
        """The current replicas (re-resolved when the interval has passed)."""
        if self.needs_resolving and time.monotonic() - self._resolved_at >= self.resolve_interval:
            # One lookup at a time; requests arriving meanwhile wait for the same one.
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self.refresh())
                self._refreshing.add_done_callback(self._refreshed)
            await asyncio.shield(self._refreshing)
        return self._endpoints

    def _refreshed(self, _future: asyncio.Future) -> None:
        self._refreshing = None

    async def attempt_order(self) -> list[Endpoint]:
        """Replicas to try for one request: round robin, ejected ones last."""
        endpoints = await self.endpoints()
        if not endpoints:
            return []
        if len(endpoints) == 1:
            return [endpoints[0]]
        start = next(self._counter) % len(endpoints)
        rotated = endpoints[start:] + endpoints[:start]
        now = time.monotonic()
        healthy = [e for e in rotated if e.ejected_until <= now]
        ejected = [e for e in rotated if e.ejected_until > now]
        return healthy + ejected

    def eject(self, endpoint: Endpoint) -> None:
        """Take a replica that refused a connection out of rotation for a while."""
        endpoint.ejected_until = time.monotonic() + self.eject_seconds

    def close(self) -> None:
        """Close every pooled connection."""
        for pool in self._pools.values():
            pool.close()
