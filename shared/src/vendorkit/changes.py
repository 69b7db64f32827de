"""Rows kept in a process's memory until PostgreSQL announces that their tables changed.

A service whose every request looks up the same few rows (the caller's
access token) keeps them in a ``ChangeCache``. Its migration installs a
trigger that runs ``pg_notify(channel)`` after every statement that could
change such a row; a thread of each process listens on its own connection and
empties the cache on each announcement. The process that writes empties its
own cache as its transaction commits, before it answers; other processes do
so as soon as PostgreSQL delivers the announcement (PostgreSQL sends it at
commit). While the listening connection is down, nothing is served from the
cache and every look-up goes to the database; the cache starts empty once the
thread listens again. SQLite announces nothing: there the cache stays off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Hashable
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Seconds between the listener's checks that its connection still answers, and before it connects again.
LIVENESS_SECONDS = 1.0
RECONNECT_SECONDS = 0.2

_caches: weakref.WeakSet[ChangeCache] = weakref.WeakSet()


class ChangeCache:
    """A bounded per-process mapping, emptied whenever ``channel`` announces a change (PostgreSQL only)."""

    def __init__(self, engine: Engine, channel: str, max_entries: int = 4096):
        self.channel = channel
        self.max_entries = max_entries
        self._conninfo = (
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            if engine.dialect.name == "postgresql"
            else None
        )
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._listening = False
        self._listener_pid: int | None = None
        _caches.add(self)

    @property
    def enabled(self) -> bool:
        """Whether entries are served: the database announces changes and the listener hears them."""
        if self._conninfo is None:
            return False
        if self._listener_pid != os.getpid():
            self._start_listener()  # first use in this process (a forked server's child included)
        return self._listening

    def get(self, key: Hashable) -> Any | None:
        """The entry for ``key``, or None when there is none or the cache is off."""
        return self._entries.get(key) if self.enabled else None

    def generation(self) -> int:
        """Read before a look-up in the database; ``put`` keeps the row only if nothing changed meanwhile."""
        return self._generation

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        """Keep ``value`` if no change was announced since ``generation`` was read."""
        with self._lock:
            if not self._listening or generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest
            self._entries[key] = value

    def clear(self) -> None:
        """Forget every entry, and refuse rows read before now."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            self._generation += 1
            self._entries.clear()

    def _start_listener(self) -> None:
        with self._lock:
            if self._listener_pid == os.getpid():
                return
            self._listener_pid = os.getpid()
            self._listening = False
            self._entries.clear()
        # The thread holds the cache weakly: it ends once the cache of a discarded app is gone.
        threading.Thread(
            target=_listen, args=(weakref.ref(self),), name=f"listen {self.channel}", daemon=True
        ).start()


def _listen(reference: weakref.ref[ChangeCache]) -> None:
    """Empty the cache on every announcement; switch it off while the connection is down."""
    failing = False  # logged once when the connection fails, once when it is back
    while (cache := reference()) is not None:
        try:
            with psycopg.connect(
                cache._conninfo,
                autocommit=True,
                connect_timeout=5,
                application_name=f"listen {cache.channel}",
            ) as connection:
                connection.execute(f'LISTEN "{cache.channel}"')
                cache._set_listening(True)
                if failing:
                    log.info("change announcements heard again", extra={"fields": {"channel": cache.channel}})
                    failing = False
                del cache
                while (cache := reference()) is not None:
                    # Announcements that arrive during the liveness check are yielded next time.
                    for _ in connection.notifies(timeout=LIVENESS_SECONDS):
                        cache.clear()
                    connection.execute("SELECT 1")
                    del cache
                return
        except Exception as error:
            if not failing:
                log.warning(
                    "change announcements unavailable; looking every row up meanwhile",
                    extra={"fields": {"error": type(error).__name__}},
                )
                failing = True
        if (cache := reference()) is not None:
            cache._set_listening(False)
        del cache
        time.sleep(RECONNECT_SECONDS)


@event.listens_for(Session, "after_commit")
def _forget_on_commit(_session: Session) -> None:
    # A writer answers after its commit: it must not serve what it just changed from
    # its own cache, whose announcement may still be on its way.
    for cache in list(_caches):
        cache.clear()
