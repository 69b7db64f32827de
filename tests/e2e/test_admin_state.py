"""The emulator's state endpoints of the five services, as processes on PostgreSQL.

Each service runs here as a process of this module's own (``ADMIN_API=1``, an
``ADMIN_TOKEN``) on a database of its own, so that resetting it never touches
the data or the sessions of the stack the other suites share.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import sqlalchemy

from vendorkit.testing import SERVICES, HttpResult, ServerProcess, http_request

ADMIN_TOKEN = "e2e-admin-token"
AUTHORIZED = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {"Accept": "application/json"}


# -- each vendor's own API: log in, read as the logged-in caller, change something -------------


@dataclass(frozen=True)
class Vendor:
    """How a test logs in to a vendor, proves the login still works and changes its data."""

    login: Callable[[str], dict]  # base URL -> what ``probe`` and ``change`` need
    probe: Callable[[str, dict], HttpResult]  # an authenticated read
    change: Callable[[str, dict], HttpResult]  # deletes or changes demo data
    stale_status: int  # the vendor's answer to a session that no longer exists
    passwords: tuple[str, ...]  # demo passwords or API keys, which the state holds hashed only


def _form(url: str, fields: dict[str, str]) -> HttpResult:
    return http_request(
        "POST", url, body=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


class Refused(AssertionError):
    """A vendor call that did not answer 200."""

    def __init__(self, response: HttpResult):
        super().__init__(f"{response.status}: {response.text}")
        self.status = response.status


def _ok(response: HttpResult) -> HttpResult:
    if response.status != 200:
        raise Refused(response)
    return response


def _wipe_login(base: str) -> dict:
    body = _ok(_form(base + "/api/v1/login", {"user": "admin", "pass": "admin-demo"})).json()
    return {"Cookie": f"grommunioAuthJwt={body['grommunioAuthJwt']}", "X-Csrf-Token": body["csrf"]}


def _bulkuser_login(base: str) -> dict:
    response = http_request(
        "POST", base + "/v1/auth", json_body={"email_or_name": "admin", "password": "admin-demo"}
    )
    return {"X-Auth-Token": _ok(response).json()["payload"]["token"]}


def _offboard_login(base: str) -> dict:
    password = base64.b64encode(b"admin-demo").decode()
    response = http_request(
        "POST",
        base + "/webconsole/api/Login",
        json_body={"username": "admin", "password": password},
        headers=JSON,
    )
    return {"Authtoken": _ok(response).json()["token"], **JSON}


def _emm_login(base: str) -> dict:
    fields = {"grant_type": "password", "username": "admin", "password": "admin-demo"}
    return {"Authorization": f"Bearer {_ok(_form(base + '/oauth2/token', fields)).json()['access_token']}"}


def _agenda_login(base: str) -> dict:
    response = http_request(
        "POST",
        base + "/AktionNEXT/API/login",
        json_body={"UserLogin": "api", "ApiKey": "api-demo-key"},
        headers=JSON,
    )
    return {"token": _ok(response).json()["Token"]}


VENDORS: dict[str, Vendor] = {
    "wipe": Vendor(
        login=_wipe_login,
        probe=lambda base, session: http_request("GET", base + "/api/v1/profile", headers=session),
        change=lambda base, session: http_request(
            "DELETE", base + "/api/v1/domains/1/users/3", headers=session
        ),
        stale_status=401,
        passwords=("admin-demo", "alice-demo", "helpdesk-demo"),
    ),
    "bulkuser": Vendor(
        login=_bulkuser_login,
        probe=lambda base, session: http_request("GET", base + "/v1/user", headers=session),
        change=lambda base, session: http_request("DELETE", base + "/v1/user/7", headers=session),
        stale_status=401,
        passwords=("admin-demo", "agent-demo"),
    ),
    "offboard": Vendor(
        login=_offboard_login,
        probe=lambda base, session: http_request("GET", base + "/webconsole/api/User/5", headers=session),
        change=lambda base, session: http_request(
            "POST", base + "/webconsole/api/User/Offboard", json_body={"userId": 5}, headers=session
        ),
        stale_status=401,
        passwords=("admin-demo",),
    ),
    "emm": Vendor(
        login=_emm_login,
        probe=lambda base, session: http_request("GET", base + "/mdm-admin/users/count", headers=session),
        change=lambda base, session: http_request(
            "DELETE", base + "/mdm-admin/users?username=kim", headers=session
        ),
        stale_status=401,
        passwords=("admin-demo", "kim$1234", "foo$1234"),
    ),
    "agenda": Vendor(
        login=_agenda_login,
        probe=lambda base, session: http_request(
            "GET", f"{base}/AktionNEXT/API/user/getAll?Token={session['token']}", headers=JSON
        ),
        change=lambda base, session: http_request(
            "POST",
            f"{base}/AktionNEXT/API/user/remove?Token={session['token']}",
            json_body={"LoginName": "John.Doo"},
            headers=JSON,
        ),
        stale_status=401,
        passwords=("api-demo-key", "reader-demo-key"),
    ),
}
NAMES = list(VENDORS)


# -- the services under test --------------------------------------------------------------------


@dataclass
class AdminService:
    """One service process with the admin API on, and the state it had on its fresh start."""

    name: str
    process: ServerProcess
    fresh_start: dict

    @property
    def url(self) -> str:
        return self.process.url

    def admin(self, method: str, path: str, **kwargs) -> HttpResult:
        headers = {**AUTHORIZED, **kwargs.pop("headers", {})}
        return http_request(method, f"{self.url}/_admin/{path}", headers=headers, **kwargs)

    def reset(self) -> None:
        response = self.admin("POST", "reset")
        assert response.status == 200, response.text
        assert response.json() == {"service": self.name, "reset": True}

    def state(self) -> dict:
        response = self.admin("GET", "state")
        assert response.status == 200, response.text
        return response.json()

    def put(self, document: dict) -> HttpResult:
        return self.admin("PUT", "state", json_body=document)


@pytest.fixture(scope="module")
def services(stack) -> Iterator[Callable[[str], AdminService]]:
    """``services(name)``: that service, started on first use on a fresh database of its own."""
    started: dict[str, AdminService] = {}

    def get(name: str) -> AdminService:
        if name not in started:
            env = stack.service_env(name, ADMIN_API="1", ADMIN_TOKEN=ADMIN_TOKEN)
            env["DATABASE_URL"] = stack.postgres.create_database(f"admin_{SERVICES[name]}")
            process = ServerProcess(
                f"{SERVICES[name]}:create_app()", env=env, log_path=stack.workdir / f"admin-{name}.log"
            ).start()
            fresh = http_request("GET", process.url + "/_admin/state", headers=AUTHORIZED)
            assert fresh.status == 200, fresh.text
            started[name] = AdminService(name, process, fresh.json())
        return started[name]

    yield get
    for service in started.values():
        service.process.stop()


def ids(state: dict) -> dict[str, list]:
    """The first column (the id, for every table that has one) of every table's rows."""
    return {table: [next(iter(row.values())) for row in rows] for table, rows in state["tables"].items()}


# -- reset ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_reset_restores_the_demo_data_with_the_same_ids(services, name):
    service, vendor = services(name), VENDORS[name]
    service.reset()
    demo = service.state()
    assert demo["service"] == name
    assert ids(demo) == ids(service.fresh_start)  # the ids a fresh start with DEMO_DATA=1 gives

    session = vendor.login(service.url)
    _ok(vendor.change(service.url, session))
    changed = service.state()
    assert changed != demo

    service.reset()

    assert service.state() == demo
    # Every reset writes the very same rows.
    service.reset()
    assert service.state() == demo


@pytest.mark.parametrize("name", NAMES)
def test_a_session_from_before_a_reset_stops_working(services, name):
    service, vendor = services(name), VENDORS[name]
    session = vendor.login(service.url)
    assert vendor.probe(service.url, session).status == 200

    service.reset()

    assert vendor.probe(service.url, session).status == vendor.stale_status
    assert vendor.probe(service.url, vendor.login(service.url)).status == 200


@pytest.mark.parametrize("name", ["wipe", "bulkuser"])
def test_a_reset_through_one_replica_holds_for_the_others(stack, services, name):
    """Two processes on one database, as a scaled service runs: stateless tokens and demo rows are shared."""
    service, vendor = services(name), VENDORS[name]
    replica = ServerProcess(
        f"{SERVICES[name]}:create_app()",
        env=service.process.env,
        log_path=stack.workdir / f"admin-{name}-replica.log",
    ).start()
    try:
        session = vendor.login(replica.url)
        assert vendor.probe(replica.url, session).status == 200

        service.reset()

        assert vendor.probe(replica.url, session).status == vendor.stale_status
        demo = service.state()
        _ok(vendor.change(replica.url, vendor.login(replica.url)))
        _ok(http_request("POST", replica.url + "/_admin/reset", headers=AUTHORIZED))
        assert _ok(http_request("GET", replica.url + "/_admin/state", headers=AUTHORIZED)).json() == demo
    finally:
        replica.stop()


# -- state ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_state_holds_no_password_and_no_token_in_clear(services, name):
    service, vendor = services(name), VENDORS[name]
    service.reset()
    session = vendor.login(service.url)

    text = json.dumps(service.state())

    # The session's tokens: the long parts of its values ("Bearer <token>", "grommunioAuthJwt=<jwt>").
    tokens = [part for value in session.values() for part in re.split(r"[ =]", value) if len(part) >= 32]
    assert tokens
    for secret in (*vendor.passwords, *tokens):
        assert secret not in text


@pytest.mark.parametrize("name", NAMES)
def test_put_of_an_earlier_state_restores_it_exactly(services, name):
    service, vendor = services(name), VENDORS[name]
    service.reset()
    session = vendor.login(service.url)
    before = service.state()
    _ok(vendor.change(service.url, session))
    assert service.state() != before

    response = service.put(before)

    assert response.status == 200, response.text
    assert response.json() == {"service": name, "restored": True}
    assert service.state() == before
    # The sessions the document holds are back, and new rows get ids past the restored ones.
    assert vendor.probe(service.url, session).status == 200
    _ok(vendor.change(service.url, vendor.login(service.url)))


def _first_table_with_rows(state: dict) -> str:
    return next(table for table, rows in state["tables"].items() if rows)


def _bad_documents(state: dict, other_service: str) -> dict[str, dict]:
    table = _first_table_with_rows(state)
    first_column = next(iter(state["tables"][table][0]))

    def changed(edit) -> dict:
        document = copy.deepcopy(state)
        edit(document)
        return document

    return {
        "another service": changed(lambda d: d.update(service=other_service)),
        "another schema revision": changed(lambda d: d.update(schema="0000_not_a_revision")),
        "an unknown table": changed(lambda d: d["tables"].update(no_such_table=[])),
        "an unknown column": changed(lambda d: d["tables"][table][0].update(no_such_column=1)),
        "a value of the wrong type": changed(lambda d: d["tables"][table][0].update({first_column: [1]})),
        "a duplicate primary key": changed(lambda d: d["tables"][table].append(d["tables"][table][0])),
    }


@pytest.mark.parametrize("name", NAMES)
def test_a_bad_document_is_a_400_and_changes_nothing(services, name):
    service, vendor = services(name), VENDORS[name]
    service.reset()
    _ok(vendor.change(service.url, vendor.login(service.url)))
    before = service.state()
    other = next(n for n in NAMES if n != name)

    for case, document in _bad_documents(before, other).items():
        response = service.put(document)
        assert response.status == 400, (case, response.text)
        assert list(response.json()) == ["message"], case
        assert service.state() == before, case

    not_json = service.admin("PUT", "state", body="{", headers={"Content-Type": "application/json"})
    assert not_json.status == 400
    assert list(not_json.json()) == ["message"]


# -- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_without_the_admin_token_every_admin_path_is_a_401(services, name):
    service = services(name)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}):
        for method, path in (("POST", "reset"), ("GET", "state"), ("PUT", "state")):
            response = http_request(method, f"{service.url}/_admin/{path}", headers=headers, json_body={})
            assert response.status == 401
            assert response.json() == {"message": "Admin token required"}


@pytest.mark.parametrize("name", NAMES)
def test_without_admin_api_the_paths_are_the_services_own_404(stack, name):
    service = stack.start(name, ADMIN_API="0")  # the shared stack's process, restarted if it had the API on
    unknown = http_request("GET", service.url + "/no/such/path")
    assert unknown.status == 404

    for method, path in (("POST", "reset"), ("GET", "state"), ("PUT", "state")):
        response = http_request(method, f"{service.url}/_admin/{path}", headers=AUTHORIZED, json_body={})
        assert response.status == 404
        assert response.headers["Content-Type"] == unknown.headers["Content-Type"]


def test_the_gateway_never_serves_admin_paths(stack):
    for method, path in (("POST", "/_admin/reset"), ("GET", "/_admin/state")):
        assert http_request(method, stack.url(path), headers=AUTHORIZED).status == 404


# -- concurrency --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["emm", "agenda"])
def test_resets_during_vendor_traffic_all_succeed_and_leave_the_demo_data(services, name):
    service, vendor = services(name), VENDORS[name]
    service.reset()
    demo = service.state()
    failures: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            try:
                answer = vendor.change(service.url, vendor.login(service.url)).status
            except Refused as refused:
                answer = refused.status
            except OSError as error:
                failures.append(repr(error))
                continue
            # A reset may end the session just issued (a 4xx); it never breaks a request.
            if answer >= 500:
                failures.append(f"vendor request answered {answer}")

    def resets() -> None:
        for _ in range(10):
            response = service.admin("POST", "reset")
            if response.status != 200:
                failures.append(response.text)

    workers = [threading.Thread(target=traffic) for _ in range(3)]
    resetters = [threading.Thread(target=resets) for _ in range(2)]
    for thread in workers + resetters:
        thread.start()
    for thread in resetters:
        thread.join()
    stop.set()
    for thread in workers:
        thread.join()

    assert failures == []
    service.reset()
    assert service.state() == demo


@pytest.mark.parametrize("name", NAMES)
def test_the_state_is_every_table_of_the_service_rows_in_primary_key_order(stack, services, name):
    service, vendor = services(name), VENDORS[name]
    service.reset()
    _ok(
        vendor.change(service.url, vendor.login(service.url))
    )  # on PostgreSQL, a changed row moves to the end
    state = service.state()

    engine = sqlalchemy.create_engine(stack.postgres.url(f"admin_{SERVICES[name]}"))
    try:
        inspector = sqlalchemy.inspect(engine)
        # Beside the service's own tables: alembic's revision and the admin API's own (token salt, demo document).
        tables = set(inspector.get_table_names()) - {"alembic_version", "admin_state"}
        keys = {table: inspector.get_pk_constraint(table)["constrained_columns"] for table in tables}
        with engine.connect() as connection:
            revision = connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()

    assert (state["service"], state["schema"]) == (name, revision)
    assert set(state["tables"]) == tables
    for table, rows in state["tables"].items():
        order = [tuple(row[column] for column in keys[table]) for row in rows]
        assert keys[table] and order == sorted(order), table
    assert any(len(rows) > 1 for rows in state["tables"].values())
