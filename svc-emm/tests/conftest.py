"""Fixtures of svc-emm's tests: the app on SQLite, a real SMTP server (aiosmtpd), tokens."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from svc_emm import create_app
from svc_emm.auth import issue_tokens
from svc_emm.models import Token
from vendorkit import db
from vendorkit.testing import free_port
from vendorkit.testing.openapi import documented_client, openapi_document

API_ROOTS = ("/mdm-admin", "/oauth2/")


class RecordingHandler:
    """An aiosmtpd handler that keeps every accepted message, or refuses them all when ``refuse`` is set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 Delivery refused"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def received(self) -> list[tuple[list[str], EmailMessage]]:
        with self.lock:
            return list(self.messages)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
        self.refuse = False


class SmtpServer:
    """A real SMTP server on a free loopback port."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)

    @property
    def settings(self) -> dict[str, object]:
        return {"MAIL_HOST": self.host, "MAIL_PORT": self.port, "MAIL_TIMEOUT": 5.0}


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """One SMTP server for the run; each test that uses ``smtp`` starts from an empty mailbox."""
    server = SmtpServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.handler.reset()
    yield smtp_server
    smtp_server.handler.reset()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> str:
    """A migrated SQLite file with the demo data, built once (argon2 hashing is slow) and copied per test."""
    path = tmp_path_factory.mktemp("emm-template") / "template.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True})
    db.engine(app).dispose()
    return str(path)


@pytest.fixture
def app(tmp_path, demo_database, smtp):
    """A fresh app on its own copy of the demo database, mailing through the test SMTP server."""
    path = tmp_path / "test.db"
    shutil.copyfile(demo_database, path)
    # The copy is already migrated and holds the demo data: skip both steps.
    settings = {"DATABASE_URL": f"sqlite:///{path}", "RUN_MIGRATIONS": False, "DEMO_DATA": False}
    return create_app({**settings, **smtp.settings})


DocumentedClient = documented_client(*API_ROOTS, fallback_schema="ResponsePayload")


@pytest.fixture
def client(app):
    """The app's test client; every API response it receives must be one the OpenAPI document allows."""
    app.test_client_class = DocumentedClient
    return app.test_client()


@pytest.fixture
def openapi(app) -> dict[str, Any]:
    """The OpenAPI document the app serves: the one ``client`` holds every response to."""
    return openapi_document(app)


@pytest.fixture
def token_for(app):
    """``token_for("kim")``: a fresh access token of a user, issued without the slow password check."""

    def issue(username: str) -> dict:
        with app.app_context(), db.unit_of_work() as session:
            return issue_tokens(session, app.config, username)

    return issue


@pytest.fixture
def admin_headers(token_for) -> dict[str, str]:
    return {"Authorization": "Bearer " + token_for("admin")["access_token"]}


@pytest.fixture
def kim_headers(token_for) -> dict[str, str]:
    return {"Authorization": "Bearer " + token_for("kim")["access_token"]}


@pytest.fixture
def expire_tokens(app):
    """Make every token issued so far expire (as if their lifetime had passed)."""

    def expire() -> None:
        with app.app_context():
            session = db.session()
            session.execute(update(Token).values(access_expires_at=1, refresh_expires_at=1))
            session.commit()

    return expire
