"""pytest fixtures for end-to-end tests, and the rule marking those tests ``e2e``; the root conftest loads this plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vendorkit.testing import DEMO_SECRETS, PostgresServer, RedisServer, Stack, quick_password_hashing

E2E_FOLDER = "e2e"
# The fixtures that start processes: this plugin's, and the emulator plugin's
# vendor_stack (which ``vendors`` builds on). A test using one, even through
# another fixture, is end-to-end.
PROCESS_FIXTURES = frozenset({"postgres", "redis_server", "stack", "vendor_stack"})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``e2e`` every test in an ``e2e`` folder and every test using a fixture that starts processes.

    The one rule behind ``make test-fast`` (``-m "not e2e"``). A test outside an ``e2e``
    folder that starts processes in its own body, which no fixture shows, carries
    ``@pytest.mark.e2e`` itself.
    """
    for item in items:
        folders = (
            item.path.parent.relative_to(config.rootpath).parts
            if item.path.is_relative_to(config.rootpath)
            else ()
        )
        if E2E_FOLDER in folders or PROCESS_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.e2e)


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
