"""pytest fixtures for end-to-end tests; the root conftest loads this plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vendorkit.testing import DEMO_SECRETS, PostgresServer, RedisServer, Stack, quick_password_hashing


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole run; each service gets its own database in it."""
    server = PostgresServer().init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis for the whole run."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(postgres, redis_server, tmp_path_factory) -> Iterator[Stack]:
    """The gateway (started now) and the five services (started on first use) on PostgreSQL and Redis."""
    running = Stack(postgres, redis_server, tmp_path_factory.mktemp("stack"))
    running.gateway.start()
    yield running
    running.close()
    # Whatever the tests did through the stack, no process may have logged a demo secret.
    assert running.logs_holding(DEMO_SECRETS) == {}


@pytest.fixture(scope="session")
def quick_hashing() -> Iterator[None]:
    """Cheap password hashing for a whole in-process test session (request it, or make it autouse)."""
    with quick_password_hashing():
        yield
