"""The fixtures every service's tests share, made for one service: ``in_process_fixtures``, ``stack_fixtures``.

A service's ``tests/conftest.py`` binds the ones it uses to their names, and
defines its own ``app`` (fresh per test, or shared and reset):

    DocumentedClient = documented_client("/v1", fallback_schema="Unrouted")
    demo_database, client, openapi = in_process_fixtures(create_app, DocumentedClient)

and its ``tests/e2e/conftest.py`` the service of the shared stack and its document:

    bulkuser, bulkuser_openapi = stack_fixtures("bulkuser")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient

from vendorkit import db
from vendorkit.testing import ServerProcess
from vendorkit.testing.openapi import openapi_document, served_openapi


class InProcessFixtures(NamedTuple):
    demo_database: Any
    client: Any
    openapi: Any


def in_process_fixtures(
    create_app: Callable[[dict[str, Any]], Flask], client_class: type[FlaskClient]
) -> InProcessFixtures:
    """``demo_database``, ``client`` and ``openapi`` for the service that ``create_app`` builds.

    ``client_class`` is the service's ``documented_client``: every answer a test
    client of it receives is held to the service's OpenAPI document.
    """

    @pytest.fixture(scope="session")
    def demo_database(tmp_path_factory) -> Path:
        """A migrated SQLite file with the demo data, built once (hashing the demo secrets is slow): tests copy it."""
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        template = create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True})
        db.engine(template).dispose()  # the last connection to close checkpoints the WAL into the file
        return path

    @pytest.fixture
    def client(app: Flask) -> FlaskClient:
        """The app's test client; every API response it receives must be one the OpenAPI document allows."""
        app.test_client_class = client_class
        return app.test_client()

    @pytest.fixture
    def openapi(app: Flask) -> dict[str, Any]:
        """The OpenAPI document the app serves: the one ``client`` holds every response to."""
        return openapi_document(app)

    return InProcessFixtures(demo_database, client, openapi)


class StackFixtures(NamedTuple):
    service: Any
    openapi: Any


def stack_fixtures(name: str) -> StackFixtures:
    """The service ``name`` of the shared stack (``vendorkit.testing.fixtures.stack``) and its OpenAPI document."""

    @pytest.fixture(scope="session")
    def service(stack) -> ServerProcess:
        """The service, started by the shared stack on first use."""
        return stack.start(name)

    @pytest.fixture(scope="session")
    def openapi(stack) -> dict[str, Any]:
        """The OpenAPI document the shared stack's service serves."""
        return served_openapi(stack.start(name).url)

    return StackFixtures(service, openapi)
