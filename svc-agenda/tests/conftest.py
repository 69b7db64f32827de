"""Fixtures of svc-agenda's in-process tests (Flask test client on SQLite)."""

import contextlib
import shutil
import uuid

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from svc_agenda import create_app
from svc_agenda.auth import issue_token
from svc_agenda.models import ApiAccount
from svc_agenda.wire import utcnow
from vendorkit import db
from vendorkit.testing.openapi import documented_client
from vendorkit.testing.suite import in_process_fixtures

API = "/AktionNEXT/API"

DocumentedClient = documented_client(API, fallback_schema="BaseResp", fallback_xml_root="Response")
suite = in_process_fixtures(create_app, DocumentedClient)
demo_database, client = suite.demo_database, suite.client


def documented(app: Flask) -> Flask:
    """``app``, whose test clients check every API response against its OpenAPI document."""
    app.test_client_class = DocumentedClient
    return app


@pytest.fixture
def make_app(tmp_path, demo_database):
    """Apps over this test's own copy of the demo database, with settings overridden."""
    path = tmp_path / "test.db"
    shutil.copyfile(demo_database, path)

    def make(**overrides):
        return documented(create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True, **overrides}))

    return make


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory, demo_database):
    """One app per test module, for tests that change nothing another test could see."""
    path = tmp_path_factory.mktemp("agenda-shared") / "shared.db"
    shutil.copyfile(demo_database, path)
    return documented(create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True}))


@pytest.fixture
def app(make_app):
    """A fresh app on its own SQLite file, with the demo data."""
    return make_app()


@pytest.fixture
def token_for(app):
    """A valid token of a demo account, issued server-side (login itself is tested on its own)."""

    def issue(user_login: str = "api", lifetime: int = 3600) -> str:
        with app.app_context():
            session = db.session()
            account = session.scalars(select(ApiAccount).where(ApiAccount.user_login == user_login)).one()
            issued = issue_token(session, account, now=utcnow(), lifetime=lifetime)
            session.commit()
            return issued.token

    return issue


@pytest.fixture
def api_token(token_for):
    return token_for("api")


def unknown_guid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def failing(app):
    """``failing(prefix)``: a block in which every SQL statement of ``app`` starting with ``prefix`` fails."""

    @contextlib.contextmanager
    def fail_statements(statement: str):
        def fail(_conn, _cursor, sql, *_args):
            if sql.startswith(statement):
                raise OperationalError(sql, {}, Exception("disk full"))

        engine = db.engine(app)
        event.listen(engine, "before_cursor_execute", fail)
        try:
            yield
        finally:
            event.remove(engine, "before_cursor_execute", fail)

    return fail_statements
