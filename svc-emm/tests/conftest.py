"""Fixtures of svc-emm's tests: the app on SQLite, a real SMTP server (aiosmtpd), tokens."""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import update

from svc_emm import create_app
from svc_emm.auth import issue_tokens
from svc_emm.models import Token
from vendorkit import db
from vendorkit.testing import free_port
from vendorkit.testing.openapi import documented_client
from vendorkit.testing.suite import in_process_fixtures

API_ROOTS = ("/mdm-admin", "/oauth2/")

DocumentedClient = documented_client(*API_ROOTS, fallback_schema="ResponsePayload")
demo_database, client, openapi = in_process_fixtures(create_app, DocumentedClient)


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


@pytest.fixture
def app_with(tmp_path, demo_database):
    """``app_with(**settings)``: an app of its own on a fresh copy of the demo database, ``settings`` on top."""
    copies = itertools.count()

    def make(**settings) -> Flask:
        path = tmp_path / f"test-{next(copies)}.db"
        shutil.copyfile(demo_database, path)
        # The copy is already migrated and holds the demo data: skip both steps.
        return create_app(
            {"DATABASE_URL": f"sqlite:///{path}", "RUN_MIGRATIONS": False, "DEMO_DATA": False, **settings}
        )

    return make


@pytest.fixture
def app(app_with, smtp):
    """A fresh app on its own copy of the demo database, mailing through the test SMTP server."""
    return app_with(**smtp.settings)


def bearer(app: Flask, username: str) -> dict[str, str]:
    """The Authorization header of a fresh access token of ``username`` at ``app``."""
    with app.app_context(), db.unit_of_work() as session:
        return {"Authorization": "Bearer " + issue_tokens(session, app.config, username)["access_token"]}


@pytest.fixture
def admin_of():
    """``admin_of(app)``: an admin's headers at an app of the test's own (``app_with``)."""
    return lambda app: bearer(app, "admin")


@pytest.fixture
def token_for(app):
    """``token_for("kim")``: a fresh access token of a user, issued without the slow password check."""

    def issue(username: str) -> dict:
        with app.app_context(), db.unit_of_work() as session:
            return issue_tokens(session, app.config, username)

    return issue


@pytest.fixture
def admin_headers(app) -> dict[str, str]:
    return bearer(app, "admin")


@pytest.fixture
def kim_headers(app) -> dict[str, str]:
    return bearer(app, "kim")


@pytest.fixture
def expire_tokens(app):
    """Make every token issued so far expire (as if their lifetime had passed)."""

    def expire() -> None:
        with app.app_context():
            session = db.session()
            session.execute(update(Token).values(access_expires_at=1, refresh_expires_at=1))
            session.commit()

    return expire
