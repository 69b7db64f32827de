"""Hostile bodies and query strings: every service refuses them in its vendor's envelope, never with 5xx.

Each service runs in-process on a real PostgreSQL database (it, unlike SQLite, refuses NUL and
unpaired surrogates, which is where unchecked input used to turn into 500s). Every case asserts
what a client sees (status below 500, the vendor's JSON or XML envelope, never HTML) and that no
row of any table changed.
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import MetaData, select

from vendorkit import db
from vendorkit.testing.openapi import find_route, openapi_document, operations
from vendorkit.xmlsafe import parse_xml

# Bigger than every service's body limit (the largest, the shared default, is 10 MiB).
OVERLONG = 11 * 1024 * 1024
DEEP = 10_000

JSON = "application/json"
XML = "application/xml"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Body:
    """An endpoint that takes a body: a valid sample, and the formats it reads."""

    method: str
    path: str
    sample: dict[str, Any] | list[Any]
    formats: tuple[str, ...] = (JSON,)
    headers: dict[str, str] = field(default_factory=dict)  # over the logged-in caller's


@dataclass(frozen=True)
class Service:
    package: str
    log_in: Callable[[Any], dict[str, Any]]  # test client -> {"headers": ..., "query": ...}
    bodies: list[Body]
    queries: list[str]  # request lines with ``{}`` where the hostile value goes, e.g. "GET /x?a={}"
    environ: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    # An authenticated request that proves the login still holds (run after all the cases).
    probe: str = ""
    # Tables ("name") or columns ("table.column") the service writes on every request by design:
    # audit trail, rate counters, idle clocks, last-seen times.
    bookkeeping: frozenset[str] = frozenset()
    # Path prefixes that serve the same operations as another: {alias: prefix}.
    aliases: dict[str, str] = field(default_factory=dict)


def _wipe_login(client) -> dict[str, Any]:
    body = client.post("/api/v1/login", data={"user": "admin", "pass": "admin-demo"}).json
    client.set_cookie("grommunioAuthJwt", body["grommunioAuthJwt"])
    return {"headers": {"X-Csrf-Token": body["csrf"]}}


def _bulkuser_login(client) -> dict[str, Any]:
    body = client.post("/v1/auth", json={"email_or_name": "admin", "password": "admin-demo"}).json
    return {"headers": {"X-Auth-Token": body["payload"]["token"]}}


def _emm_login(client) -> dict[str, Any]:
    form = {"grant_type": "password", "username": "admin", "password": "admin-demo"}
    token = client.post("/oauth2/token", data=form).json["access_token"]
    return {"headers": {"Authorization": f"Bearer {token}"}}


def _agenda_login(client) -> dict[str, Any]:
    body = client.post("/AktionNEXT/API/login", json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json
    return {"query": {"Token": body["Token"]}}


def _offboard_login(client) -> dict[str, Any]:
    password = base64.b64encode(b"admin-demo").decode()
    body = client.post("/webconsole/api/Login", json={"username": "admin", "password": password}).json
    return {"headers": {"Authtoken": body["token"]}}


NEW_OFFBOARD_USER = {"users": [{"userEntity": {"userName": "new.user"}, "email": "new.user@example.com"}]}
SERVICES = {
    "svc_wipe": Service(
        "svc_wipe",
        _wipe_login,
        [
            Body("POST", "/api/v1/service/wipe/alice@example.com", {"status": 1, "remoteIP": "192.0.2.1"}),
            Body("POST", "/api/v1/domains/1/users", {"username": "new.user"}),
            Body("POST", "/api/v1/login", {"user": "admin", "pass": "admin-demo"}, (FORM,)),
        ],
        [
            "GET /api/v1/service/wipe/alice@example.com?devices={}",
            "GET /api/v1/service/wipe/{}",
            "GET /api/v1/domains/1/users?limit={}",
        ],
        probe="GET /api/v1/profile",
        # A client address outside the wipe policy's host list (TEST-NET-1), like a phone's.
        environ={"REMOTE_ADDR": "192.0.2.10"},
    ),
    "svc_bulkuser": Service(
        "svc_bulkuser",
        _bulkuser_login,
        [
            Body("POST", "/v1/auth", {"email_or_name": "admin", "password": "admin-demo"}),
            Body(
                "POST",
                "/v1/user/create",
                {"name": "new.user", "passwd": "secret-pw", "email": "n@example.com"},
            ),
        ],
        ["GET /v1/user/list?name={}", "GET /v1/user/list?page={}", "DELETE /v1/user/all?email={}"],
        probe="GET /v1/user",
        bookkeeping=frozenset({"users.last_seen"}),
    ),
    "svc_emm": Service(
        "svc_emm",
        _emm_login,
        [
            Body(
                "POST",
                "/mdm-admin/users",
                {
                    "username": "new.user",
                    "firstname": "New",
                    "emailAddress": "n@example.com",
                    "roles": ["sales"],
                },
            ),
            Body("PUT", "/mdm-admin/users", {"username": "kim", "firstname": "Kim", "roles": ["sales"]}),
            Body("POST", "/mdm-admin/users/email-invitation", ["kim"]),
            Body("POST", "/mdm-admin/users/reset-password", {"username": "kim", "newPassword": "bmV3LXB3"}),
            Body(
                "POST",
                "/mdm-admin/users/change-password",
                {"username": "admin", "oldPassword": "d3Jvbmc=", "newPassword": "bmV3LXB3"},
            ),
            Body(
                "POST",
                "/oauth2/token",
                {"grant_type": "password", "username": "admin", "password": "x"},
                (FORM,),
            ),
            Body("POST", "/oauth2/revoke", {"token": "0" * 32}, (FORM,)),
        ],
        [
            "GET /mdm-admin/users/view?username={}",
            "GET /mdm-admin/users/view-users?username={}",
            "GET /mdm-admin/users/devices?username=kim&start={}",
            "GET /mdm-admin/users/{}",
            "GET /mdm-admin/outbox?recipient={}",
            "DELETE /mdm-admin/users?username={}",
        ],
        probe="GET /mdm-admin/users/count",
    ),
    "svc_agenda": Service(
        "svc_agenda",
        _agenda_login,
        [
            Body("POST", "/AktionNEXT/API/login", {"UserLogin": "api", "ApiKey": "x"}, (JSON, XML)),
            Body(
                "POST", "/AktionNEXT/API/user/create", {"LoginName": "New.User", "UserName": "N"}, (JSON, XML)
            ),
            Body("POST", "/AktionNEXT/API/user/remove", {"LoginName": "John.Doo"}, (JSON, XML)),
        ],
        [
            "GET /AktionNEXT/API/user/get?LoginName={}",
            "GET /AktionNEXT/API/user/getAll?PageNumber={}",
            "GET /AktionNEXT/API/user/getAll?Token={}",
        ],
        probe="GET /AktionNEXT/API/user/getAll?PageNumber=1&PageSize=1",
        # The default 20-second token would expire while the cases run, and refuse them all unread.
        settings={"AGENDA_TOKEN_TTL_SECONDS": 3600},
        bookkeeping=frozenset({"audit_entries", "rate_hits"}),
    ),
    "svc_offboard": Service(
        "svc_offboard",
        _offboard_login,
        [
            Body("POST", "/webconsole/api/Login", {"username": "admin", "password": "eA=="}, (JSON, XML)),
            Body("POST", "/webconsole/api/User", NEW_OFFBOARD_USER, (JSON, XML)),
            Body("POST", "/webconsole/api/User/Offboard", {"userId": 5}, (JSON, XML)),
            Body("POST", "/webconsole/api/Client/12", {"clientProperties": {}}, (JSON, XML)),
            Body(
                "POST",
                "/webconsole/api/Subclient/999999",
                {"subClientProperties": {"commonProperties": {}}},
                (JSON, XML),
            ),
            # Without a sessionId the header's token is renewed: a dead one, so that no case ends the login.
            Body(
                "POST",
                "/webconsole/api/RenewLoginToken",
                {"sessionId": "QSDK 00", "deviceId": "x"},
                headers={"Authtoken": "QSDK 00"},
            ),
        ],
        [
            "GET /webconsole/api/User?level={}",
            "GET /webconsole/api/Subclient?clientId={}",
            "GET /webconsole/api/User/{}",
            "DELETE /webconsole/api/User/5?newUserName={}",
        ],
        probe="GET /webconsole/api/User",
        bookkeeping=frozenset({"tokens"}),
        # The product serves one API under both roots: the cases under one cover both.
        aliases={"/commandcenter/api/": "/webconsole/api/"},
    ),
}


# --- the hostile cases ---------------------------------------------------------------------------

# JSON-text stand-ins for values, spliced into a valid sample in place of one field's value.
HOSTILE_VALUES = {
    "nul": '"a\\u0000b"',
    "lone-surrogate": '"\\ud800"',
    "trailing-lone-surrogate": '"x\\udfff"',
    "nan": "NaN",
    "infinity": "-Infinity",
    "overflowing-float": "1e999",
    "huge-integer": "1" + "0" * 5000,
    "deep-array": "[" * DEEP + "]" * DEEP,
    "deep-object": '{"a":' * DEEP + "1" + "}" * DEEP,
}


# A control character is text some fields may keep (a vendor decides), so a service may accept it;
# what it must not do is fail. Every other case must change nothing.
TOLERABLE = "escape-control"


def _json_cases(sample: dict[str, Any] | list[Any]) -> Iterator[tuple[str, bytes]]:
    text = json.dumps(sample)
    keys = list(sample) if isinstance(sample, dict) else []
    for key in keys:
        for name, value in [*HOSTILE_VALUES.items(), (TOLERABLE, '"a\\u001bb"')]:
            spliced = dict(sample)
            spliced[key] = "__HOSTILE__"
            yield f"{key}={name}", json.dumps(spliced).replace('"__HOSTILE__"', value).encode()
    if isinstance(sample, list):
        for name, value in HOSTILE_VALUES.items():
            yield f"item={name}", f"[{value}]".encode()
    if keys:
        # The same key again, its second value unusable: last-wins and refuse-repeats both refuse.
        yield "duplicate-key", (text[:-1] + f', {json.dumps(keys[0])}: "a\\u0000b"}}').encode()
        yield "raw-nul-in-key", text.replace(f'"{keys[0]}"', f'"{keys[0]}\x00"', 1).encode()
        yield "invalid-utf8", text.replace(json.dumps(sample[keys[0]]), '"\xff\xfe"', 1).encode("latin-1")
        yield "cesu-surrogate", text[:-1].encode() + b', "x": "\xed\xa0\x80"}'
    yield "raw-control", text[:-1].encode() + b', "x": "a\x07b"}'
    yield "raw-nul", text.encode() + b"\x00"
    yield "deep-array", b"[" * DEEP + b"]" * DEEP
    yield "deep-object", b'{"a":' * DEEP + b"1" + b"}" * DEEP
    yield "unclosed", text[:-1].encode()
    yield "trailing-garbage", text.encode() + b" }"
    yield "bare-nan", b"NaN"
    yield "single-quotes", text.replace('"', "'").encode()
    yield "utf16", text.encode("utf-16")
    yield "empty", b""
    for name, other in [("array", b'["x"]'), ("string", b'"x"'), ("number", b"5"), ("null", b"null")]:
        yield f"top-level-{name}", other
    if isinstance(sample, list):
        yield "top-level-object", b'{"a": 1}'
    yield "overlong", b'{"x": "' + b"a" * OVERLONG + b'"}'


def _xml_cases(sample: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    tag = next(iter(sample)).encode()
    entity = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]><Request><%s>&a;</%s></Request>' % (tag, tag)
    yield "doctype-entity", entity
    yield "external-entity", b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><Request>&e;</Request>'
    yield "char-reference-nul", b"<Request><%s>a&#0;b</%s></Request>" % (tag, tag)
    yield "raw-nul", b"<Request><%s>a\x00b</%s></Request>" % (tag, tag)
    yield "invalid-utf8", b"<Request><%s>\xff\xfe</%s></Request>" % (tag, tag)
    yield "deep", b"<a>" * DEEP + b"</a>" * DEEP
    yield "unclosed", b"<Request><%s>x" % tag
    yield "overlong", b"<Request><x>" + b"a" * OVERLONG + b"</x></Request>"


def _form_cases(sample: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    for key in sample:
        for name, encoded in [
            ("nul", "a%00b"),
            ("control", "a%1Bb"),
            ("invalid-utf8", "%FF%FE"),
            ("cesu-surrogate", "%ED%A0%80"),
            ("overlong", "a" * OVERLONG),
        ]:
            fields = {**{k: quote(str(v)) for k, v in sample.items()}, key: encoded}
            yield f"{key}={name}", "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    yield "repeated", b"&".join(f"{k}={quote(str(v))}&{k}=%00".encode() for k, v in sample.items())
    yield "binary", bytes(range(256))


HOSTILE_QUERY_VALUES = {
    "nul": "%00",
    "nul-suffix": "admin%00",
    "control": "a%1Bb",
    "invalid-utf8": "%FF%FE",
    "cesu-surrogate": "%ED%A0%80",
    "long": "a" * 10_000,
    "huge-number": "9" * 5000,
    "nan": "NaN",
    "brackets": "%5B%5D%7B%7D",
}


def _body_cases() -> Iterator[Any]:
    for package, service in SERVICES.items():
        for endpoint in service.bodies:
            for media_type in endpoint.formats:
                if media_type == JSON:
                    cases = _json_cases(endpoint.sample)
                elif media_type == XML:
                    cases = _xml_cases(endpoint.sample)
                else:
                    cases = _form_cases(endpoint.sample)
                for name, raw in cases:
                    case_id = f"{package}-{endpoint.method} {endpoint.path}-{media_type.split('/')[1]}-{name}"
                    tolerable = name.endswith(TOLERABLE)
                    yield pytest.param(
                        package,
                        endpoint.method,
                        endpoint.path,
                        {**endpoint.headers, "Content-Type": media_type},
                        raw,
                        tolerable,
                        id=case_id,
                    )


def _query_cases() -> Iterator[Any]:
    for package, service in SERVICES.items():
        for line in service.queries:
            method, target = line.split(" ", 1)
            for name, value in HOSTILE_QUERY_VALUES.items():
                yield pytest.param(package, method, target.format(value), id=f"{package}-{line}-{name}")


# --- fixtures and checks -------------------------------------------------------------------------


@dataclass
class Running:
    app: Any
    client: Any
    auth: dict[str, Any]
    tables: MetaData
    bookkeeping: frozenset[str]


@pytest.fixture(scope="module")
def running(postgres, quick_hashing) -> Iterator[Callable[[str], Running]]:
    """``running(package)``: that service on its own PostgreSQL database, logged in as an administrator."""
    started: dict[str, Running] = {}

    def get(package: str) -> Running:
        if package not in started:
            create_app = importlib.import_module(package).create_app
            url = postgres.create_database(f"hostile_{package}")
            service = SERVICES[package]
            app = create_app({"DATABASE_URL": url, "DEMO_DATA": True, **service.settings})
            client = app.test_client()
            client.environ_base.update(service.environ)
            tables = MetaData()
            tables.reflect(db.engine(app))
            started[package] = Running(app, client, service.log_in(client), tables, service.bookkeeping)
        return started[package]

    yield get
    for service in started.values():
        db.engine(service.app).dispose()


def table_contents(running: Running) -> dict[str, list[tuple]]:
    """Every row of every table, bookkeeping left out, so that a case can show it changed nothing."""
    contents = {}
    with db.engine(running.app).connect() as connection:
        for name, table in running.tables.tables.items():
            if name in running.bookkeeping:
                continue
            columns = [
                column for column in table.columns if f"{name}.{column.name}" not in running.bookkeeping
            ]
            contents[name] = sorted(connection.execute(select(*columns)).all(), key=repr)
    return contents


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    """The names of the tables whose rows differ."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def assert_vendor_envelope(response) -> None:
    """Below 500, and the body is JSON or XML (or empty on success): never an HTML error page."""
    assert response.status_code < 500, response.get_data()[:300]
    content_type = response.headers.get("Content-Type", "")
    data = response.get_data()
    assert "html" not in content_type.lower()
    assert b"<html" not in data[:200].lower() and b"<!doctype" not in data[:200].lower()
    if not data:
        assert response.status_code < 400, "an error must say what went wrong"
        return
    if "json" in content_type:
        json.loads(data)
    else:
        assert "xml" in content_type, content_type
        parse_xml(data)


def _send(running: Running, method: str, target: str, **options):
    headers = dict(running.auth.get("headers", {}))
    headers.update(options.pop("headers", {}))
    query = running.auth.get("query", {})
    if query:
        joiner = "&" if "?" in target else "?"
        # A hostile Token given by the case comes first, so it is the one read.
        target += joiner + "&".join(f"{name}={value}" for name, value in query.items())
    return running.client.open(target, method=method, headers=headers, **options)


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("package", "method", "path", "headers", "raw", "tolerable"), list(_body_cases()))
def test_a_hostile_body_is_refused_in_the_vendors_envelope(
    running, package, method, path, headers, raw, tolerable
):
    service = running(package)
    before = table_contents(service)
    response = _send(service, method, path, data=raw, headers=headers)
    assert_vendor_envelope(response)
    if not (tolerable and response.status_code < 400):
        assert changed_tables(before, table_contents(service)) == []


@pytest.mark.parametrize(("package", "method", "target"), list(_query_cases()))
def test_a_hostile_query_or_path_value_is_answered_in_the_vendors_envelope(running, package, method, target):
    service = running(package)
    before = table_contents(service)
    response = _send(service, method, target)
    assert_vendor_envelope(response)
    assert changed_tables(before, table_contents(service)) == []


@pytest.mark.parametrize("package", list(SERVICES))
def test_every_operation_that_reads_a_body_has_hostile_cases(running, package):
    """A new endpoint that reads a body fails this test until it has a sample above."""
    document = openapi_document(running(package).app)
    covered = {(body.method.lower(), find_route(document, body.path)) for body in SERVICES[package].bodies}
    aliases = SERVICES[package].aliases
    reading = {
        (method, next((path.replace(a, p, 1) for a, p in aliases.items() if path.startswith(a)), path))
        for (path, method), operation in operations(document).items()
        if "requestBody" in operation
    }
    assert reading - covered == set()


@pytest.mark.parametrize("package", list(SERVICES))
def test_after_all_cases_the_login_still_holds_so_every_case_reached_the_parser(running, package):
    """Runs last: had the session expired or been rate-limited, the cases above would prove nothing."""
    service = running(package)
    method, target = SERVICES[package].probe.split(" ", 1)
    response = _send(service, method, target)
    assert response.status_code == 200, response.get_data()[:300]
