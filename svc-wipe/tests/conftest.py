"""Fixtures of svc-wipe's in-process tests (Flask test client on SQLite, every answer held to the OpenAPI document)."""

import shutil
import sqlite3

import pytest
from sqlalchemy import text

from svc_wipe import auth, create_app
from vendorkit import db
from vendorkit.testing.openapi import documented_client
from vendorkit.testing.suite import in_process_fixtures

# A client address that is not a policy host (TEST-NET-1).
REMOTE_ADDRESS = "192.0.2.10"

# Every answer under /api/v1 that a test client receives must be one the OpenAPI document allows.
DocumentedClient = documented_client("/api/v1", fallback_schema="Message")
# ``client`` is on 127.0.0.1: a policy host (grommunio-sync on the same machine).
demo_database, client, openapi = in_process_fixtures(create_app, DocumentedClient)

DEMO_IDS = {"admin": 0, "helpdesk@example.com": 1, "example": 2, "alice@example.com": 3, "bob@example.org": 4}


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing(quick_hashing):
    """Cheap argon2id parameters for the in-process tests: the production cost adds up."""


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory, demo_database):
    """One app for the whole run (building one costs ~0.1 s); ``app`` resets its data before each test."""
    path = tmp_path_factory.mktemp("shared") / "wipe.db"
    shutil.copyfile(demo_database, path)
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True})
    app.test_client_class = DocumentedClient
    return app


# Children first: the order in which the tables are emptied (and, reversed, refilled).
TABLES = ("device_history", "devices", "user_roles", "users", "domains")


@pytest.fixture
def app(shared_app, demo_database):
    """The app, its database holding exactly the demo data again."""
    path = db.engine(shared_app).url.database
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("ATTACH DATABASE ? AS template", (str(demo_database),))
        connection.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            connection.execute(f"DELETE FROM main.{table}")  # noqa: S608 (fixed table names)
        for table in reversed(TABLES):
            connection.execute(f"INSERT INTO main.{table} SELECT * FROM template.{table}")  # noqa: S608
        connection.execute("COMMIT")
        connection.execute("DETACH DATABASE template")
    finally:
        connection.close()
    return shared_app


@pytest.fixture
def make_app():
    """``make_app(settings)``: an app of its own, whose test clients hold every answer to its document."""

    def make(settings: dict):
        built = create_app(settings)
        built.test_client_class = DocumentedClient
        return built

    return make


@pytest.fixture
def remote(app):
    """A client from another machine: not a policy host."""
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = REMOTE_ADDRESS
    return test_client


@pytest.fixture
def make_token(app):
    """A valid login token for a username (minted directly: /login's password check is slow)."""

    def make(username: str, lifetime: int = 600) -> str:
        return auth.issue_token(username, app.config["SECRET_KEY"], lifetime)

    return make


@pytest.fixture
def log_in(make_token):
    """Set a user's login cookie on a test client; returns the CSRF header to send with writes."""

    def set_login(test_client, username: str) -> dict[str, str]:
        token = make_token(username)
        test_client.set_cookie(auth.TOKEN_COOKIE, token)
        return {auth.CSRF_HEADER: auth.csrf_token(token)}

    return set_login


@pytest.fixture
def admin(app, log_in):
    """A remote client logged in as the system administrator; ``admin.csrf`` holds its CSRF header."""
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = REMOTE_ADDRESS
    test_client.csrf = log_in(test_client, "admin")
    return test_client


@pytest.fixture
def run_sql(app):
    """Run a statement against the app's database outside any request, returning rows."""

    def run(statement, **params):
        with db.engine(app).begin() as connection:
            result = connection.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    return run
