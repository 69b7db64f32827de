"""A store the gateway shares with its other workers (Redis), known to be down and probed until it is back.

While a store is known to be down, requests do without it at once instead of
each waiting out its timeout; a background task probes it, and the first
answer puts it back in use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

# How often a store known to be down is probed.
PROBE_INTERVAL_SECONDS = 0.5


class Outage:
    """Whether ``store`` is known to be down; ``probe()`` answers True once it is reachable again."""

    def __init__(
        self, store: str, probe: Callable[[], Awaitable[bool]], *, timeout: float, log: logging.Logger
    ):
        self.store = store
        self.probe = probe
        self.timeout = timeout  # how long one probe may take
        self.log = log
        self.known = False
        self._probing: asyncio.Task | None = None

    def begin(self) -> None:
        """The store failed a request: known to be down from now on, probed in the background (once)."""
        if self.known:
            return
        self.known = True
        self.log.warning("%s unreachable; probing it every %.1f s", self.store, PROBE_INTERVAL_SECONDS)
        self._probing = asyncio.get_running_loop().create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)
            try:
                async with asyncio.timeout(self.timeout):
                    up = await self.probe()
            except Exception:  # any failure of the probe only means: still down
                up = False
            if up:
                self.known = False
                self._probing = None
                self.log.warning("%s reachable again", self.store)
                return

    def close(self) -> None:
        """Stop probing."""
        if self._probing is not None:
            self._probing.cancel()
