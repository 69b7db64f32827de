"""Fixtures of svc-offboard's in-process tests (Flask test client on SQLite)."""

import base64
import shutil
import sys
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest

from svc_offboard import create_app
from svc_offboard.wire import ROOTS
from vendorkit import db
from vendorkit.xmlsafe import parse_xml

sys.path.insert(0, str(Path(__file__).parent))

from vendorkit.testing.openapi import documented_client
from vendorkit.testing.suite import in_process_fixtures

API = "/webconsole/api"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _xml_of(response) -> Element:
    """The XML body of a response (our own output: plain ElementTree is fine)."""
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    return parse_xml(response.data)


@pytest.fixture
def b64():
    """base64 of a UTF-8 text, as Commvault clients send passwords."""
    return _b64


@pytest.fixture
def xml_of():
    """The parsed XML body of a response, after checking its Content-Type."""
    return _xml_of


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing(quick_hashing):
    """argon2id at its lightest: the hashing code runs as in production, in a millisecond."""


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory, demo_database):
    """One app for the in-process tests (building one costs more than most tests)."""
    path = tmp_path_factory.mktemp("db") / "test.db"
    shutil.copyfile(demo_database, path)
    return create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": False, "RUN_MIGRATIONS": False}
    ), path


@pytest.fixture
def app(shared_app, demo_database):
    """The app on a fresh copy of the demo database."""
    app, path = shared_app
    db.engine(app).dispose()
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(demo_database, path)
    return app


DocumentedClient = documented_client(*ROOTS, fallback_xml_root="App_GenericResp")
# The database is migrated and loaded once (with fast_password_hashing, autouse); each test starts from a copy.
suite = in_process_fixtures(create_app, DocumentedClient)
demo_database, client = suite.demo_database, suite.client


@pytest.fixture
def login(client):
    """Log in through POST /Login; returns the token."""

    def log_in(username: str, password: str, **extra) -> str:
        body = {"username": username, "password": _b64(password), **extra}
        response = client.post(f"{API}/Login", json=body)
        assert response.status_code == 200, response.data
        return response.json["token"]

    return log_in


@pytest.fixture
def admin(login):
    """Headers of a logged-in master administrator."""
    return {"Authtoken": login("admin", "admin-demo")}


@pytest.fixture
def make_user(client, admin):
    """Create a user (optionally with a password, master, role associations); returns its userId."""

    def create(name: str, password: str | None = None, master: bool = False, associations=()):
        user = {"userEntity": {"userName": name}, "email": f"{name}@example.com"}
        if password:
            user["password"] = _b64(password)
        if master:
            user["associatedUserGroups"] = [{"userGroupName": "master"}]
        if associations:
            user["securityAssociations"] = {
                "associations": [
                    {
                        "entities": {"entity": [{"clientName": client_name}]},
                        "properties": {"role": {"roleName": role}},
                    }
                    for client_name, role in associations
                ]
            }
        response = client.post(f"{API}/User", json={"users": [user]}, headers=admin)
        assert response.json["response"][0]["errorCode"] == 0, response.json
        return response.json["response"][0]["entity"]["userId"]

    return create


@pytest.fixture
def user_headers(make_user, login):
    """Headers of a logged-in user who is not a master administrator."""
    make_user("plain", "plain-pass")
    return {"Authtoken": login("plain", "plain-pass")}
