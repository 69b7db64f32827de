"""A shared store known to be down: skipped at once, probed in the background, back in use at its first answer."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway import outage
from gateway.outage import Outage


class Store:
    """A store whose probe answers ``up``, counting the probes."""

    def __init__(self):
        self.up = False
        self.probes = 0

    async def reachable(self) -> bool:
        self.probes += 1
        if not self.up:
            raise ConnectionError("refused")
        return True


@pytest.fixture(autouse=True)
def quick_probes(monkeypatch):
    monkeypatch.setattr(outage, "PROBE_INTERVAL_SECONDS", 0.01)


async def until(condition, seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.005)


def test_a_store_is_known_down_until_a_probe_reaches_it(caplog):
    async def scenario():
        store = Store()
        down = Outage("the test store", store.reachable, timeout=1.0, log=logging.getLogger("test.outage"))
        assert not down.known
        down.begin()
        down.begin()  # a second failure while down starts no second probe
        assert down.known
        await until(lambda: store.probes >= 3)
        assert down.known  # failing probes keep it down
        store.up = True
        await until(lambda: not down.known)
        probes = store.probes
        await asyncio.sleep(0.05)
        assert store.probes == probes  # back: probing stopped
        down.close()

    with caplog.at_level(logging.WARNING, logger="test.outage"):
        asyncio.run(scenario())
    went_down, came_back = (record.getMessage() for record in caplog.records)
    assert went_down.startswith("the test store unreachable; probing it every ")
    assert came_back == "the test store reachable again"


def test_closing_stops_the_probes():
    async def scenario():
        store = Store()
        down = Outage("the test store", store.reachable, timeout=1.0, log=logging.getLogger("test.outage"))
        down.begin()
        await until(lambda: store.probes >= 1)
        down.close()
        await asyncio.sleep(0)
        probes = store.probes
        await asyncio.sleep(0.05)
        assert store.probes == probes and down.known

    asyncio.run(scenario())
