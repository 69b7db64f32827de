"""Fixtures of svc-bulkuser's in-process tests (Flask test client on SQLite)."""

import shutil
from datetime import UTC, datetime

import pytest

from svc_bulkuser import create_app
from svc_bulkuser.auth import issue_token
from svc_bulkuser.models import User
from vendorkit import db
from vendorkit.testing.openapi import documented_client
from vendorkit.testing.suite import in_process_fixtures

DEMO_SECRET = "dnl-bulkuser-demo-secret"
ADMIN_ID, AGENT_ID = 1, 2
# Answers to requests no operation takes (404, 405) are held to this schema of the document.
UNROUTED = "Unrouted"

DocumentedClient = documented_client("/v1", fallback_schema=UNROUTED)
demo_database, client, openapi = in_process_fixtures(create_app, DocumentedClient)


@pytest.fixture
def app(tmp_path, demo_database):
    """A fresh app on its own copy of the demo database."""
    path = tmp_path / "test.db"
    shutil.copyfile(demo_database, path)
    # The copy is migrated and holds the demo data already; the loader only finds them there.
    return create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True, "RUN_MIGRATIONS": False})


def token_for(user_id: int, ttl: int = 3600, now: datetime | None = None) -> str:
    """A token as POST /v1/auth would issue it, without paying for the password check."""
    return issue_token(user_id, DEMO_SECRET, ttl, now or datetime.now(UTC).replace(tzinfo=None))


@pytest.fixture
def make_token():
    """``make_token(user_id, ttl=3600)``: a valid token for that user."""
    return token_for


@pytest.fixture
def admin_headers():
    return {"X-Auth-Token": token_for(ADMIN_ID)}


@pytest.fixture
def agent_headers():
    return {"X-Auth-Token": token_for(AGENT_ID)}


@pytest.fixture
def add_users(app):
    """Insert users directly: ``add_users(dict(name=..., ...), ...)`` returns their ids."""

    def add(*rows: dict) -> list[int]:
        with db.state(app).sessionmaker() as session, session.begin():
            users = [
                User(
                    **{
                        "email": f"{row['name']}@example.org",
                        "user_type": "client",
                        "role_id": 900,
                        "active": True,
                        "create_time": datetime(2025, 1, 1),
                        **row,
                    }
                )
                for row in rows
            ]
            session.add_all(users)
            session.flush()
            return [user.user_id for user in users]

    return add


@pytest.fixture
def user_names(app):
    """The names of all users, by id."""

    def names() -> list[str]:
        with db.state(app).sessionmaker() as session:
            return list(
                session.scalars(User.__table__.select().with_only_columns(User.name).order_by(User.user_id))
            )

    return names


def pytest_configure(config):
    # The contract's demo key is 24 bytes; PyJWT warns about it on every use.
    config.addinivalue_line("filterwarnings", "ignore::jwt.warnings.InsecureKeyLengthWarning")
