"""Upstream replicas: DNS names re-resolved, round robin, ejection of refusing replicas, pooled connections."""

from __future__ import annotations

import ipaddress
import itertools
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import urllib3

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


class IdleLimitMixin:
    """A connection pool that closes connections idle longer than MAX_IDLE_SECONDS instead of reusing them."""

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        last_used = getattr(connection, "last_used", None)
        if last_used is not None and time.monotonic() - last_used > MAX_IDLE_SECONDS:
            connection.close()  # reconnects on its next request
        return connection

    def _put_conn(self, connection):
        if connection is not None:
            connection.last_used = time.monotonic()
        super()._put_conn(connection)


class UpstreamPool(IdleLimitMixin, urllib3.HTTPConnectionPool):
    pass


class UpstreamTLSPool(IdleLimitMixin, urllib3.HTTPSConnectionPool):
    pass


@dataclass
class Endpoint:
    """One resolved replica: an address, its connection pool, and when it may be tried again."""

    url: str  # the configured upstream, e.g. http://svc-emm:8000
    address: str
    port: int
    pool: urllib3.HTTPConnectionPool
    host_header: str
    ejected_until: float = 0.0

    @property
    def label(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


class UpstreamSet:
    """The replicas of one route.

    A configured upstream whose host is a DNS name stands for every address it
    resolves to; the set is refreshed every ``resolve_interval`` seconds (on
    the next request after that), so replicas added or removed behind the name
    are picked up without a restart. A failed lookup keeps the last good set.
    """

    def __init__(
        self,
        urls: tuple[str, ...],
        *,
        connect_timeout: float,
        read_timeout: float,
        resolve_interval: float,
        eject_seconds: float,
        pool_size: int = 32,
        resolver: Resolver = system_resolver,
    ):
        self.urls = urls
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.resolve_interval = resolve_interval
        self.eject_seconds = eject_seconds
        self.pool_size = pool_size
        self.resolver = resolver
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, str, int], urllib3.HTTPConnectionPool] = {}
        self._endpoints: list[Endpoint] = []
        self._resolved_at = -float("inf")
        self._counter = itertools.count()
        self.refresh()

    def _pool(self, scheme: str, address: str, port: int) -> urllib3.HTTPConnectionPool:
        key = (scheme, address, port)
        pool = self._pools.get(key)
        if pool is None:
            cls = UpstreamTLSPool if scheme == "https" else UpstreamPool
            pool = cls(
                address, port, maxsize=self.pool_size, block=False, timeout=self.timeout, retries=False
            )
            self._pools[key] = pool
        return pool

    def refresh(self) -> None:
        """Resolve every configured upstream again; keep what worked before if a lookup fails."""
        previous = {(e.url, e.address, e.port): e for e in self._endpoints}
        endpoints: list[Endpoint] = []
        for url in self.urls:
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if _is_ip(host):
                addresses = [host]
            else:
                try:
                    addresses = self.resolver(host, port)
                except OSError:
                    addresses = [e.address for e in self._endpoints if e.url == url]
            for address in addresses:
                known = previous.get((url, address, port))
                endpoints.append(
                    known
                    or Endpoint(url, address, port, self._pool(parts.scheme, address, port), parts.netloc)
                )
        # Close the pools of replicas that left.
        live = {(e.address, e.port) for e in endpoints}
        for (scheme, address, port), pool in list(self._pools.items()):
            if (address, port) not in live:
                pool.close()
                del self._pools[(scheme, address, port)]
        self._endpoints = endpoints
        self._resolved_at = time.monotonic()

    def endpoints(self) -> list[Endpoint]:
        """The current replicas (re-resolved when the interval has passed)."""
        if time.monotonic() - self._resolved_at >= self.resolve_interval:
            with self._lock:
                if time.monotonic() - self._resolved_at >= self.resolve_interval:
                    self.refresh()
        return self._endpoints

    def attempt_order(self) -> list[Endpoint]:
        """Replicas to try for one request: round robin, ejected ones last."""
        endpoints = self.endpoints()
        if not endpoints:
            return []
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
        for pool in self._pools.values():
            pool.close()
