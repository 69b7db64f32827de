"""The emulator's state endpoints on a small service of its own (SQLite file): reset, read, restore, access."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import secrets
import threading
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    create_engine,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from vendorkit import admin, db
from vendorkit.config import load_settings
from vendorkit.dialects.problem import ProblemDialect
from vendorkit.endpoints import declare
from vendorkit.factory import create_service_app
from vendorkit.security import hash_token

REVISION = "toy0001"


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(20), unique=True)


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    name: Mapped[str] = mapped_column(String(40))
    joined: Mapped[datetime] = mapped_column(DateTime)
    avatar: Mapped[bytes | None] = mapped_column(LargeBinary)
    balance: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    active: Mapped[bool] = mapped_column(Boolean)
    tags: Mapped[list[str]] = mapped_column(JSON)
    profile: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # Salted like a password hash: every run of the loader gives other values.
    password_hash: Mapped[str] = mapped_column(String(64))


class StoredSession(Base):
    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))


DEMO_MEMBERS = [
    ("alice", 1, None),
    ("bob", 2, "alice"),
    ("carol", 1, "bob"),
]


class CountingLoader:
    """The toy service's demo loader, counting its runs."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, session: Session, config: dict[str, Any]) -> None:
        self.runs += 1
        for team_id, name in ((1, "red"), (2, "blue")):
            if session.get(Team, team_id) is None:
                session.add(Team(id=team_id, name=name))
        session.flush()
        known = {member.name: member for member in session.scalars(select(Member))}
        for name, team_id, mentor in DEMO_MEMBERS:
            if name not in known:
                member = Member(
                    team_id=team_id,
                    name=name,
                    joined=datetime(2024, 1, 2, 3, 4, 5, 678000),
                    avatar=name.encode() + b"\x00\xff",
                    balance=Decimal("12.50"),
                    active=True,
                    tags=["demo", name],
                    mentor_id=known[mentor].id if mentor else None,
                    password_hash=hash_token(secrets.token_hex(8) + name),
                )
                session.add(member)
                session.flush()
                known[name] = member


toy = Blueprint("toy", __name__)


def _stateless_token(member_id: int) -> str:
    key = admin.signing_secret(current_app.config["SECRET_KEY"]).encode()
    return f"{member_id}.{hmac.new(key, str(member_id).encode(), hashlib.sha256).hexdigest()}"


@toy.post("/members")
@declare("anyone")
def create_member():
    """Add a member."""
    body = request.get_json()
    session = db.session()
    member = Member(
        team_id=body["team_id"],
        name=body["name"],
        joined=datetime(2025, 5, 5),
        balance=Decimal("0"),
        active=True,
        tags=[],
        password_hash=hash_token(body["name"]),
    )
    session.add(member)
    session.commit()
    return jsonify(id=member.id), 201


@toy.delete("/members/<int:member_id>")
@declare("anyone")
def delete_member(member_id: int):
    """Remove a member."""
    session = db.session()
    member = session.get(Member, member_id)
    if member is None:
        return jsonify(message="no such member"), 404
    session.delete(member)
    session.commit()
    return "", 204


@toy.post("/login/<int:member_id>")
@declare("anyone")
def login(member_id: int):
    """A stored session token and a stateless signed token for a member."""
    session = db.session()
    stored = secrets.token_hex(16)
    session.add(StoredSession(token_hash=hash_token(stored), member_id=member_id))
    stateless = _stateless_token(member_id)
    session.commit()
    return jsonify(stored=stored, stateless=stateless)


@toy.get("/me")
@declare("anyone")
def me():
    """Who a token belongs to: 401 for a token that is not valid (any more)."""
    session = db.session()
    if "X-Stored" in request.headers:
        found = session.get(StoredSession, hash_token(request.headers["X-Stored"]))
        member_id = found.member_id if found else None
    else:
        member_id_text, _, _signature = request.headers.get("X-Stateless", "").partition(".")
        valid = member_id_text.isdigit() and hmac.compare_digest(
            _stateless_token(int(member_id_text)), request.headers.get("X-Stateless", "")
        )
        member_id = int(member_id_text) if valid else None
    if member_id is None:
        return jsonify(message="not logged in"), 401
    return jsonify(member=member_id)


def make_database(path) -> str:
    """A SQLite file holding the toy schema at revision ``REVISION``."""
    return make_schema(f"sqlite:///{path}")


def make_schema(url: str) -> str:
    """``url`` with the toy schema at revision ``REVISION``."""
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES (:revision)"), {"revision": REVISION})
    engine.dispose()
    return url


def make_app(url: str, loader=None, read_only_gets: bool = False, **settings):
    config = load_settings(
        "svc-toy",
        {"SECRET_KEY": "toy-secret"},
        demo_secrets={},
        environ={},
        overrides={"DATABASE_URL": url, "DEMO_DATA": True, "RUN_MIGRATIONS": False, **settings},
    )
    return create_service_app(
        "svc_toy",
        title="toy",
        settings=config,
        dialect=ProblemDialect(),
        blueprints=[toy],
        checks=[],
        demo_loader=loader or CountingLoader(),
        read_only_gets=read_only_gets,
    )


@pytest.fixture
def loader() -> CountingLoader:
    return CountingLoader()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.e2e)])
def app(request, tmp_path, loader):
    """The toy service with the admin API, on a SQLite file or on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        url = make_database(tmp_path / "toy.db")
    else:
        url = make_schema(request.getfixturevalue("postgres").create_database(f"toy_{uuid.uuid4().hex}"))
    application = make_app(url, loader, ADMIN_API=True)
    yield application
    db.engine(application).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def state_of(client) -> dict:
    response = client.get("/_admin/state")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_state_lists_every_table_in_primary_key_order_with_faithful_values(client):
    state = state_of(client)

    assert state["service"] == "toy"
    assert state["schema"] == REVISION
    assert set(state["tables"]) == {"teams", "members", "sessions"}
    assert [row["id"] for row in state["tables"]["members"]] == [1, 2, 3]
    alice = state["tables"]["members"][0]
    assert len(alice.pop("password_hash")) == 64
    assert alice == {
        "id": 1,
        "team_id": 1,
        "name": "alice",
        "joined": "2024-01-02T03:04:05.678000",
        "avatar": base64.b64encode(b"alice\x00\xff").decode(),
        "balance": "12.50",
        "active": True,
        "tags": ["demo", "alice"],
        "mentor_id": None,
        "profile": None,
    }
    assert state["tables"]["teams"] == [{"id": 1, "name": "red"}, {"id": 2, "name": "blue"}]


def without_hashes(state: dict) -> dict:
    """``state`` without the salted hashes, which every run of a demo loader makes anew."""
    copied = copy.deepcopy(state)
    for row in copied["tables"]["members"]:
        row.pop("password_hash")
    return copied


def test_reset_restores_the_demo_data_with_the_same_ids(client, loader):
    fresh_start = state_of(client)
    created = client.post("/members", json={"team_id": 2, "name": "dave"})
    assert created.get_json() == {"id": 4}
    assert client.delete("/members/3").status_code == 204

    response = client.post("/_admin/reset")

    assert response.status_code == 200
    assert response.get_json() == {"service": "toy", "reset": True}
    assert without_hashes(state_of(client)) == without_hashes(fresh_start)
    # Ids start again where a fresh start leaves them.
    assert client.post("/members", json={"team_id": 1, "name": "erin"}).get_json() == {"id": 4}


def test_later_resets_reuse_the_first_resets_rows_without_running_the_loader(client, loader):
    runs_at_start = loader.runs
    client.post("/_admin/reset")
    first = state_of(client)
    client.delete("/members/2")

    client.post("/_admin/reset")
    client.post("/_admin/reset")

    assert loader.runs == runs_at_start + 1
    assert state_of(client) == first


def test_every_worker_resets_to_the_same_rows_until_the_service_restarts(app, loader):
    worker = make_app(
        db.engine(app).url.render_as_string(hide_password=False), CountingLoader(), ADMIN_API=True
    )
    try:
        app.test_client().post("/_admin/reset")
        first = state_of(app.test_client())
        worker.test_client().delete("/members/1")

        worker.test_client().post("/_admin/reset")

        assert state_of(worker.test_client()) == first
        assert worker.extensions["vendorkit.admin"].demo_loader.runs == 1  # at its start only
    finally:
        db.engine(worker).dispose()

    restarted_loader = CountingLoader()
    restarted = make_app(
        db.engine(app).url.render_as_string(hide_password=False), restarted_loader, ADMIN_API=True
    )
    try:
        restarted.test_client().post("/_admin/reset")
        # A restart may bring another demo loader: its first reset runs it.
        assert restarted_loader.runs == 2
        again = state_of(restarted.test_client())
        assert [row["id"] for row in again["tables"]["members"]] == [1, 2, 3]
        assert (
            again["tables"]["members"][0]["password_hash"] != first["tables"]["members"][0]["password_hash"]
        )
    finally:
        db.engine(restarted).dispose()


def test_reset_ends_stored_sessions_and_stateless_tokens(client):
    tokens = client.post("/login/1").get_json()
    assert client.get("/me", headers={"X-Stored": tokens["stored"]}).get_json() == {"member": 1}
    assert client.get("/me", headers={"X-Stateless": tokens["stateless"]}).get_json() == {"member": 1}

    client.post("/_admin/reset")

    assert client.get("/me", headers={"X-Stored": tokens["stored"]}).status_code == 401
    assert client.get("/me", headers={"X-Stateless": tokens["stateless"]}).status_code == 401
    fresh = client.post("/login/1").get_json()
    assert client.get("/me", headers={"X-Stateless": fresh["stateless"]}).get_json() == {"member": 1}


def test_put_restores_an_earlier_state_exactly(client):
    client.post("/login/2")
    before = state_of(client)
    client.delete("/members/1")
    client.post("/members", json={"team_id": 2, "name": "dave"})

    response = client.put("/_admin/state", json=before)

    assert response.status_code == 200
    assert response.get_json() == {"service": "toy", "restored": True}
    assert state_of(client) == before
    # Later inserts continue past the restored ids.
    assert client.post("/members", json={"team_id": 1, "name": "erin"}).get_json() == {"id": 4}


def test_put_takes_rows_in_any_order_and_values_of_every_type(client):
    document = state_of(client)
    members = document["tables"]["members"]
    members.append(
        {
            **members[0],
            "id": 10,
            "name": "zed",
            "joined": "2030-12-31T23:59:59",
            "avatar": base64.b64encode(bytes(range(256))).decode(),
            "balance": 7,
            "tags": {"nested": [1, 2]},
            "mentor_id": 11,
        }
    )
    members.append({**members[0], "id": 11, "name": "yan", "mentor_id": None, "avatar": None})

    assert client.put("/_admin/state", json=document).status_code == 200

    stored = {row["id"]: row for row in state_of(client)["tables"]["members"]}
    assert stored[10]["avatar"] == base64.b64encode(bytes(range(256))).decode()
    assert stored[10]["balance"] == "7.00"
    assert stored[10]["tags"] == {"nested": [1, 2]}
    assert stored[10]["mentor_id"] == 11
    with db.engine(client.application).connect() as connection:
        # Nulls stay SQL NULLs, not the JSON text null.
        assert connection.scalar(text("SELECT count(*) FROM members WHERE profile IS NULL")) == 5


def _with(document: dict, change) -> dict:
    changed = copy.deepcopy(document)
    change(changed)
    return changed


def _set(table: str, index: int, column: str, value):
    def change(document):
        document["tables"][table][index][column] = value

    return change


BAD_DOCUMENTS = {
    "another service": (lambda d: d.update(service="emm"), "service"),
    "another revision": (lambda d: d.update(schema="toy0000"), "revision"),
    "unknown table": (lambda d: d["tables"].update(ghosts=[]), "ghosts"),
    "missing table": (lambda d: d["tables"].pop("teams"), "teams"),
    "unknown column": (_set("teams", 0, "colour", "red"), "colour"),
    "missing column": (lambda d: d["tables"]["teams"][0].pop("name"), "name"),
    "string for an integer": (_set("teams", 0, "id", "1"), "tables.teams[0].id"),
    "boolean for an integer": (_set("members", 0, "team_id", True), "team_id"),
    "integer for a boolean": (_set("members", 0, "active", 1), "active"),
    "bad date-time": (_set("members", 0, "joined", "yesterday"), "joined"),
    "bad base64": (_set("members", 0, "avatar", "***"), "avatar"),
    "too long": (_set("teams", 0, "name", "x" * 21), "20 characters"),
    "null in a required column": (_set("members", 0, "name", None), "null"),
    "duplicate key": (_set("teams", 1, "id", 1), "refuses"),
    "unique violation": (_set("teams", 1, "name", "red"), "refuses"),
    "dangling reference": (_set("members", 0, "team_id", 99), "refuses"),
    "rows not a list": (lambda d: d["tables"].update(teams={}), "teams"),
    "row not an object": (lambda d: d["tables"]["teams"].append([1, "x"]), "teams[2]"),
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS, ids=list(BAD_DOCUMENTS))
def test_a_bad_document_is_a_400_naming_the_problem_and_changes_nothing(client, case):
    client.delete("/members/3")
    before = state_of(client)
    change, named = BAD_DOCUMENTS[case]

    response = client.put("/_admin/state", json=_with(before, change))

    assert response.status_code == 400
    assert response.is_json
    assert named in response.get_json()["message"]
    assert state_of(client) == before


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"null"])
def test_a_body_that_is_not_a_document_is_a_400(client, body):
    response = client.put("/_admin/state", data=body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.get_json()) == {"message"}


def test_put_takes_documents_larger_than_the_vendors_body_limit(tmp_path):
    application = make_app(make_database(tmp_path / "small.db"), ADMIN_API=True, MAX_CONTENT_LENGTH=1024)
    client = application.test_client()
    try:
        document = state_of(client)
        document["tables"]["teams"].append({"id": 3, "name": "green"})
        document["tables"]["members"][0]["tags"] = ["x" * 100] * 20
        assert client.post("/members", json={"team_id": 1, "name": "x" * 2000}).status_code == 413

        response = client.put("/_admin/state", json=document)

        assert response.status_code == 200, response.get_data(as_text=True)
        assert state_of(client) == document
    finally:
        db.engine(application).dispose()


def test_unknown_admin_paths_and_methods_answer_in_json(client):
    unknown = client.get("/_admin/nothing")
    wrong_method = client.get("/_admin/reset")

    assert unknown.status_code == 404
    assert unknown.get_json() == {"message": "No route for /_admin/nothing"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert "message" in wrong_method.get_json()


def test_without_admin_api_the_paths_do_not_exist(tmp_path):
    application = make_app(make_database(tmp_path / "off.db"))
    client = application.test_client()
    try:
        for method, path in (("POST", "/_admin/reset"), ("GET", "/_admin/state"), ("PUT", "/_admin/state")):
            response = client.open(path, method=method, json={})
            assert response.status_code == 404
            # The service's own 404 shape (here RFC 9457 problem details), not the admin API's.
            assert response.content_type == "application/problem+json"
        with db.engine(application).connect() as connection:
            assert not connection.dialect.has_table(connection, admin.ADMIN_STATE.name)
    finally:
        db.engine(application).dispose()


def test_with_an_admin_token_every_admin_path_needs_it(tmp_path):
    application = make_app(make_database(tmp_path / "locked.db"), ADMIN_API=True, ADMIN_TOKEN="s3cret")
    client = application.test_client()
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            for method, path in (("POST", "/_admin/reset"), ("GET", "/_admin/state"), ("GET", "/_admin/x")):
                response = client.open(path, method=method, headers=headers)
                assert response.status_code == 401
                assert response.get_json() == {"message": "Admin token required"}
                assert response.headers["WWW-Authenticate"] == "Bearer"
        good = {"Authorization": "Bearer s3cret"}
        assert client.post("/_admin/reset", headers=good).status_code == 200
        assert client.get("/_admin/state", headers=good).status_code == 200
    finally:
        db.engine(application).dispose()


def test_a_reset_during_writes_leaves_either_state_never_half(app):
    """Writers and resets at once: afterwards the data is the demo data plus whole writes, nothing partial."""
    client = app.test_client()
    client.post("/_admin/reset")
    demo = state_of(client)
    errors: list[str] = []

    def write(worker: int) -> None:
        local = app.test_client()
        for n in range(15):
            response = local.post("/members", json={"team_id": 1, "name": f"w{worker}-{n}"})
            if response.status_code != 201:
                errors.append(response.get_data(as_text=True))

    def reset() -> None:
        local = app.test_client()
        for _ in range(5):
            response = local.post("/_admin/reset")
            if response.status_code != 200:
                errors.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=reset))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    final = state_of(client)["tables"]
    assert final["teams"] == demo["tables"]["teams"]
    assert final["members"][:3] == demo["tables"]["members"]
    assert all(row["name"].startswith("w") for row in final["members"][3:])


def test_the_token_salt_table_is_no_part_of_the_schema_alembic_compares():
    assert not admin.include_in_migrations(admin.ADMIN_STATE.name, "table", {})
    assert admin.include_in_migrations("users", "table", {})


def test_signing_secret_is_the_plain_secret_without_admin_api(tmp_path):
    application = make_app(make_database(tmp_path / "plain.db"))
    try:
        with application.test_request_context("/"):
            assert admin.signing_secret("k") == "k"
    finally:
        db.engine(application).dispose()


@pytest.mark.e2e
def test_on_postgresql_a_read_waits_while_a_reset_holds_the_lock(postgres):
    """Read-only requests run on an engine of their own: they too wait for a reset in progress."""
    url = make_schema(postgres.create_database(f"toy_{uuid.uuid4().hex}"))
    application = make_app(url, read_only_gets=True, ADMIN_API=True)
    stored = application.test_client().post("/login/1").get_json()["stored"]
    answers: list[int] = []
    reader = threading.Thread(
        target=lambda: answers.append(
            application.test_client().get("/me", headers={"X-Stored": stored}).status_code
        )
    )
    try:
        with create_engine(url).connect() as resetting:  # as a reset's transaction does, alone
            resetting.execute(text(f"SELECT pg_advisory_xact_lock({admin.RESET_LOCK_KEY})"))
            reader.start()
            reader.join(1)
            assert reader.is_alive(), "the read did not wait for the reset"
            resetting.rollback()
        reader.join(10)
        assert answers == [200]
    finally:
        db.engine(application).dispose()
