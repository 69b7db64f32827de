"""The emulator's state (request journal, faults) as one state for the whole gateway.

Three places it can live, chosen at start (see ``state_for``):

- ``LocalState``: in this process; the gateway runs one worker and keeps no
  state anywhere else. Journaling costs a request only an append to a deque.
- ``RedisState``: in the gateway's Redis (``rate_limit_storage`` is Redis), so
  that every worker and every replica using that Redis sees the same journal
  and faults, and a fault's ``times`` are counted exactly across all of them.
- ``KeeperState`` (gateway.keeper): in the state keeper, a process of the
  ``gateway`` command's own that its workers talk to over a unix socket, when
  several workers count in memory.

Every method that reads or changes the state is a coroutine; a state that
cannot be reached raises StateUnavailable (the admin API answers 503), except
on the request path, where an unreachable state fails open: no fault applies
and the entry is not kept, as the rate limits fail open.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from gateway.faults import Fault, FaultBook, new_id, roll_key
from gateway.journal import Journal, Record, matches, rfc3339
from gateway.outage import Outage

if TYPE_CHECKING:
    from gateway.config import GatewayConfig

log = logging.getLogger("gateway.state")

# How long a request may wait on Redis for the emulator's state before it goes on without it.
REQUEST_TIMEOUT_SECONDS = 0.25
# Admin reads move up to a whole journal: allow them more.
ADMIN_TIMEOUT_SECONDS = 5.0


class StateUnavailable(RuntimeError):
    """The shared state (Redis, or the state keeper) could not be reached."""


class LocalState:
    """The journal and faults of a gateway running as one process."""

    shared = False

    def __init__(self, capacity: int, max_body_bytes: int):
        self.journal = Journal(capacity, max_body_bytes)
        self.book = FaultBook()

    @property
    def armed(self) -> bool:
        """Whether a fault may apply to a request (cheap: asked on every routed request)."""
        return bool(self.book.faults)

    async def pick(self, route: str, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted as applied; None when none does."""
        return self.book.pick(route, method, path)

    async def add(self, record: Record) -> None:
        """Keep one record (a shared state only; this one's journal is appended to directly)."""
        self.journal.records.append(record)

    async def find(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest entries matching ``filters``."""
        return self.journal.find(filters) if self.journal.enabled else []

    async def get(self, request_id: str) -> dict[str, Any] | None:
        """The newest entry with ``request_id``."""
        return self.journal.get(request_id)

    async def clear_journal(self, routes: set[str] | None = None) -> None:
        """Drop every entry, or those of ``routes``."""
        self.journal.clear(routes)

    async def create_fault(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a validated fault; its document."""
        return self.book.create(fields).document()

    async def list_faults(self) -> list[dict[str, Any]]:
        """The faults in force, oldest first."""
        return [f.document() for f in self.book.faults]

    async def get_fault(self, fault_id: str) -> dict[str, Any] | None:
        """One fault's document, or None."""
        fault = self.book.get(fault_id)
        return None if fault is None else fault.document()

    async def remove_fault(self, fault_id: str) -> bool:
        """Remove one fault; False when unknown."""
        return self.book.remove(fault_id)

    async def clear_faults(self, routes: set[str] | None = None) -> None:
        """Remove every fault, or those of ``routes``."""
        self.book.clear(routes)

    async def counters_cleared(self, routes: set[str] | None) -> None:
        """The rate-limit counters of ``routes`` were cleared here; tell the other workers (none here)."""

    async def close(self) -> None:
        """Release connections."""


# -- Redis ----------------------------------------------------------------------------------

# KEYS: order (list of ids, oldest first), faults (hash id -> JSON), hits (hash), rolls (hash).
# ARGV: route, method, path. Picks and counts in one step, so that workers never both use
# a fault's last application.
PICK = """
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local f = cjson.decode(raw)
    local ok = f.route == ARGV[1]
    if ok and type(f.methods) == 'table' then
      ok = false
      for _, m in ipairs(f.methods) do
        if m == ARGV[2] then ok = true end
      end
    end
    if ok and type(f.path) == 'string' then
      ok = string.sub(ARGV[3], 1, #f.path) == f.path
    end
    if ok and f.probability < 1 then
      local n = redis.call('HINCRBY', KEYS[4], id, 1)
      local r = tonumber(string.sub(redis.sha1hex(f.key .. ':' .. n), 1, 13), 16) / 4503599627370496
      ok = r < f.probability
    end
    if ok then
      local hits = redis.call('HINCRBY', KEYS[3], id, 1)
      if type(f.times) == 'number' and hits >= f.times then
        redis.call('LREM', KEYS[1], 0, id)
        redis.call('HDEL', KEYS[2], id)
        redis.call('HDEL', KEYS[3], id)
        redis.call('HDEL', KEYS[4], id)
      end
      return {raw, hits}
    end
  end
end
return false
"""
# KEYS: the journal; ARGV: the entry, the capacity. One command per entry (cheaper than a pipeline).
PUSH = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1
"""
# KEYS as PICK's: every fault in force, oldest first, as [document, hits, ...].
LIST = """
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    out[#out + 1] = raw
    out[#out + 1] = redis.call('HGET', KEYS[3], id) or '0'
  end
end
return out
"""
# KEYS as PICK's; ARGV: one id. Answers 1 when it was there.
REMOVE = """
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""
# KEYS as PICK's; ARGV: route names. Removes those routes' faults.
CLEAR_FAULTS = """
local routes = {}
for _, name in ipairs(ARGV) do routes[name] = true end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('HGET', KEYS[2], id)
  if not raw or routes[cjson.decode(raw).route] then
    redis.call('LREM', KEYS[1], 0, id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
  end
end
return 1
"""
# KEYS: the journal; ARGV: route names. Keeps the other entries, in their order.
CLEAR_JOURNAL = """
local routes = {}
for _, name in ipairs(ARGV) do routes[name] = true end
local all = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
for _, entry in ipairs(all) do
  local head = cjson.decode(string.sub(entry, 1, string.find(entry, '\\n', 1, true) - 1))
  if not routes[head[1]] then redis.call('RPUSH', KEYS[1], entry) end
end
return 1
"""


def redis_url(storage_url: str) -> str | None:
    """The redis-py URL of a ``limits`` storage URL when it names a single Redis, else None."""
    url = storage_url.removeprefix("async+")
    if url.startswith(("redis://", "rediss://")):
        return url
    if url.startswith("redis+unix://"):
        return "unix://" + url.removeprefix("redis+unix://")
    return None


def namespace(config: GatewayConfig) -> str:
    """The Redis key prefix of this gateway's state: replicas (the same routes) share it, other gateways do not."""
    names = ",".join(sorted(route.name for route in config.routes))
    return f"gateway:emulator:{hashlib.sha1(names.encode(), usedforsecurity=False).hexdigest()[:12]}:"


def _entry_line(entry: dict[str, Any]) -> str:
    # A small head to filter on without decoding the whole entry, then the entry.
    head = [entry["route"], entry["method"], entry["path"], entry["status"], entry["id"]]
    return json.dumps(head) + "\n" + json.dumps(entry)


class RedisState:
    """The journal and faults in the gateway's Redis, shared by every worker and replica using it."""

    shared = True

    def __init__(self, url: str, prefix: str, capacity: int, max_body_bytes: int, faults_possible: bool):
        self.url = url
        self.capacity = capacity
        self.max_body_bytes = max_body_bytes
        self.faults_possible = faults_possible
        self.journal_key = prefix + "journal"
        self.fault_keys = [
            prefix + "fault_order",
            prefix + "faults",
            prefix + "fault_hits",
            prefix + "fault_rolls",
        ]
        self.sequence_key = prefix + "fault_seq"
        self._client = None
        self._scripts: dict[str, Any] = {}
        self.outage = Outage(
            "emulator state in Redis", self._reachable, timeout=REQUEST_TIMEOUT_SECONDS * 2, log=log
        )

    def _redis(self):
        # Made on first use, inside the worker's event loop (never before the worker forks).
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.from_url(
                self.url, socket_timeout=ADMIN_TIMEOUT_SECONDS, socket_connect_timeout=REQUEST_TIMEOUT_SECONDS
            )
            for name, source in (
                ("pick", PICK), ("push", PUSH), ("list", LIST), ("remove", REMOVE),
                ("clear_faults", CLEAR_FAULTS), ("clear_journal", CLEAR_JOURNAL),
            ):  # fmt: skip
                self._scripts[name] = self._client.register_script(source)
        return self._client

    async def _call(self, work, timeout: float = ADMIN_TIMEOUT_SECONDS):
        import redis.exceptions

        client = self._redis()
        try:
            async with asyncio.timeout(timeout):
                return await work(client)
        except (redis.exceptions.RedisError, ConnectionError, TimeoutError, OSError) as exc:
            self.outage.begin()
            raise StateUnavailable(str(exc) or type(exc).__name__) from exc

    async def _reachable(self) -> bool:
        return await self._client.ping()

    @property
    def armed(self) -> bool:
        """Whether a fault may apply: only Redis knows, so ask it unless it is known to be down."""
        return self.faults_possible and not self.outage.known

    async def pick(self, route: str, method: str, path: str) -> Fault | None:
        """The fault that applies (its application counted in Redis, atomically); None when none does or Redis is down."""
        try:
            found = await self._call(
                lambda _c: self._scripts["pick"](keys=self.fault_keys, args=[route, method, path]),
                REQUEST_TIMEOUT_SECONDS,
            )
        except StateUnavailable as exc:
            log.warning("no fault applied: %s", exc)
            return None
        if not found:
            return None
        fault = Fault.of(json.loads(found[0]))
        fault.hits = int(found[1])
        return fault

    async def add(self, record: Record) -> None:
        """Keep one record, redacted before it leaves the process; dropped (and logged) when Redis is down."""
        if self.outage.known:
            return
        line = _entry_line(record.entry())
        try:
            await self._call(
                lambda _c: self._scripts["push"](keys=[self.journal_key], args=[line, self.capacity]),
                REQUEST_TIMEOUT_SECONDS,
            )
        except StateUnavailable as exc:
            log.warning("journal entry dropped: %s", exc)

    async def _lines(self) -> list[tuple[list, bytes]]:
        lines = await self._call(lambda c: c.lrange(self.journal_key, 0, self.capacity - 1))
        found = []
        for line in lines:
            head, _, entry = line.partition(b"\n")
            found.append((json.loads(head), entry))
        return found

    async def find(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest entries matching ``filters`` (the list is kept newest first)."""
        if self.capacity == 0:
            return []
        found = []
        for (route, method, path, status, _id), entry in await self._lines():
            if matches(filters, route, method, path, status):
                found.append(json.loads(entry))
                if len(found) >= filters["limit"]:
                    break
        return found

    async def get(self, request_id: str) -> dict[str, Any] | None:
        """The newest entry with ``request_id``."""
        if self.capacity == 0:
            return None
        entry = next((e for head, e in await self._lines() if head[4] == request_id), None)
        return None if entry is None else json.loads(entry)

    async def clear_journal(self, routes: set[str] | None = None) -> None:
        """Drop every entry, or those of ``routes``."""
        if routes is None:
            await self._call(lambda c: c.delete(self.journal_key))
        elif routes:
            await self._call(
                lambda _c: self._scripts["clear_journal"](keys=[self.journal_key], args=sorted(routes))
            )

    async def create_fault(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a validated fault; its document."""
        number = await self._call(lambda c: c.incr(self.sequence_key))
        document = {
            **fields, "id": new_id(number), "hits": 0, "created": rfc3339(time.time()), "key": roll_key(fields),
        }  # fmt: skip
        order, faults, hits, _rolls = self.fault_keys

        async def store(client) -> None:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(faults, document["id"], json.dumps(document))
                pipe.hset(hits, document["id"], 0)
                pipe.rpush(order, document["id"])
                await pipe.execute()

        await self._call(store)
        return Fault.of(document).document()

    async def list_faults(self) -> list[dict[str, Any]]:
        """The faults in force, oldest first, with their hits."""
        flat = await self._call(lambda _c: self._scripts["list"](keys=self.fault_keys))
        documents = []
        for raw, hits in zip(flat[::2], flat[1::2], strict=True):
            fault = Fault.of(json.loads(raw))
            fault.hits = int(hits)
            documents.append(fault.document())
        return documents

    async def get_fault(self, fault_id: str) -> dict[str, Any] | None:
        """One fault's document, or None."""
        return next((f for f in await self.list_faults() if f["id"] == fault_id), None)

    async def remove_fault(self, fault_id: str) -> bool:
        """Remove one fault; False when unknown."""
        removed = await self._call(lambda _c: self._scripts["remove"](keys=self.fault_keys, args=[fault_id]))
        return bool(removed)

    async def clear_faults(self, routes: set[str] | None = None) -> None:
        """Remove every fault, or those of ``routes``."""
        if routes is None:
            await self._call(lambda c: c.delete(*self.fault_keys))
        elif routes:
            await self._call(
                lambda _c: self._scripts["clear_faults"](keys=self.fault_keys, args=sorted(routes))
            )

    async def counters_cleared(self, routes: set[str] | None) -> None:
        """Nothing to tell: the counters live in the same Redis, cleared for every worker at once."""

    async def close(self) -> None:
        """Stop probing and close the connections."""
        self.outage.close()
        if self._client is not None:
            await self._client.aclose()


def state_for(config: GatewayConfig):
    """Where this gateway keeps its emulator state: Redis, the state keeper of its workers, or this process."""
    journal = config.journal
    url = redis_url(config.rate_limit_storage)
    if url is not None and (config.admin.enabled or journal.capacity > 0):
        return RedisState(
            url, namespace(config), journal.capacity, journal.max_body_bytes, config.admin.enabled
        )
    from gateway import keeper

    address = keeper.address_from_environment()
    if address is not None and (config.admin.enabled or journal.capacity > 0):
        return keeper.KeeperState(address, journal.capacity, journal.max_body_bytes, config.admin.enabled)
    return LocalState(journal.capacity, journal.max_body_bytes)
