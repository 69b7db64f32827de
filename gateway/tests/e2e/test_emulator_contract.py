"""The emulator's contract, statement by statement, against the ``gateway`` command on real sockets.

The upstreams are small WSGI apps on loopback (gwsupport's echo, and a
vendor-like app below that answers with secrets of its own), so that every
statement about the gateway's admin API (who may use it, the journal and its
redaction, faults) is checked as a client sees it: status, headers, body.
The statements about the services' state are checked through the real
services in test_emulator_stack.py; docs/emulator.md maps each statement to
its tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import defusedxml.ElementTree
import pytest
import redis
import yaml
from gwsupport import BAD_FAULTS, echo_app, route, serve
from werkzeug.wrappers import Request, Response

from gateway.config import load_config
from vendorkit.dialects import Refusal, get_dialect
from vendorkit.testing import HttpResult, ServerProcess, free_port, http_request

ADMIN_PATHS = (
    ("GET", "/_gateway/requests"),
    ("DELETE", "/_gateway/requests"),
    ("GET", "/_gateway/requests/some-id"),
    ("GET", "/_gateway/faults"),
    ("POST", "/_gateway/faults"),
    ("DELETE", "/_gateway/faults"),
    ("DELETE", "/_gateway/faults/f1-00000000"),
    ("POST", "/_gateway/reset"),
    ("GET", "/_gateway/state"),
    ("PUT", "/_gateway/state"),
)
RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# The names whose values the journal never keeps, in the spellings a client may use.
SECRET_FIELDS = (
    "password",
    "PASS",
    "Passwd",
    "oldPassword",
    "NEWPASSWORD",
    "ApiKey",
    "token",
    "Access_Token",
    "refresh_token",
    "Client_Secret",
    "AuthToken",
    "CSRF",
    "grommunioAuthJwt",
)
SECRET_HEADERS = (
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "X-Auth-Token",
    "Authtoken",
    "X-CSRF-Token",
)
ENTRY_KEYS = {
    "id", "time", "route", "client", "method", "path", "query", "status", "duration_ms", "upstream",
    "refused", "fault", "request", "response",
}  # fmt: skip
PART_KEYS = {"headers", "body", "body_encoding", "truncated"}


# -- upstreams and gateways ---------------------------------------------------------------------


def secret_document(kind: str, prefix: str) -> str:
    """A body of ``kind`` (json, form, xml) holding one secret per secret field, beside a plain ``user``."""
    secrets = [(name, f"{prefix}-{kind}-{i}") for i, name in enumerate(SECRET_FIELDS)]
    if kind == "json":
        return json.dumps({"user": "kim", "outer": {"list": [dict([pair]) for pair in secrets]}})
    if kind == "form":
        return urlencode([("user", "kim"), *secrets])
    elements = "".join(f"<{name}>{value}</{name}>" for name, value in secrets)
    attributes = " ".join(f'{name}="{value}-attr"' for name, value in secrets)
    return f"<Doc><user>kim</user><Secrets {attributes}/>{elements}</Doc>"


CONTENT_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "xml": "application/xml",
}


@Request.application
def vendor_app(request: Request):
    """Answers with secrets of its own on ``/secrets/<kind>``, bytes on ``/binary``, nothing on ``/empty``; else echoes."""
    if "/secrets/" in request.path:
        kind = request.path.rsplit("/", 1)[1]
        response = Response(secret_document(kind, "answer"), content_type=CONTENT_TYPES[kind])
        response.headers["Set-Cookie"] = "grommunioAuthJwt=answer-cookie; HttpOnly"
        for i, name in enumerate(SECRET_HEADERS):
            response.headers[name] = f"answer-header-{i}"
        return response
    if request.path.endswith("/binary"):
        return Response(b"\xff\xfe\x00\x01", content_type="application/octet-stream")
    if request.path.endswith("/empty"):
        return Response(status=204)
    return echo_app  # a WSGI app: werkzeug hands it the request's environ


def start_gateway(workdir, config: dict, name: str, **env: str) -> ServerProcess:
    """The ``gateway`` command on a free port, with ``config`` as its YAML file."""
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return ServerProcess(
        "gateway:create_app()", env={"GATEWAY_CONFIG": str(path), **env}, log_path=workdir / f"{name}.log"
    ).start()


@pytest.fixture(scope="module")
def vendor():
    """The vendor-like upstream on loopback."""
    with serve(app=vendor_app) as url:
        yield url


@pytest.fixture(scope="module")
def emulator(vendor, tmp_path_factory) -> Iterator[ServerProcess]:
    """One gateway (admin and journal on) with a route for each of the journal's reasons of refusal."""
    dead = f"http://127.0.0.1:{free_port()}"
    config = {
        "trusted_proxies": [],
        "max_body_bytes": 2048,
        "admin": {"enabled": True, "allow": ["127.0.0.1/32"]},
        "journal": {"capacity": 1000, "max_body_bytes": 1024},
        "routes": [
            route("wipe", upstreams=[vendor]),
            route("bulkuser", prefixes=["/v1/"], dialect="dnl", upstreams=[vendor], methods=["GET"]),
            route("offboard", prefixes=["/webconsole/api/"], dialect="commvault", upstreams=[vendor]),
            route("emm", prefixes=["/mdm-admin/", "/oauth2/"], dialect="wso2", upstreams=[vendor]),
            route("agenda", prefixes=["/AktionNEXT/API/"], dialect="aktion", upstreams=[vendor]),
            route("leaver", prefixes=["/leaver/"], dialect="problem", upstreams=[vendor]),
            route("limited", prefixes=["/limited/"], upstreams=[vendor], rate_limits=["1/minute"]),
            route("denied", prefixes=["/denied/"], upstreams=[vendor], ip_deny=["127.0.0.0/8"]),
            route("gone", prefixes=["/gone/"], upstreams=[dead]),
            route("slow", prefixes=["/slow/"], upstreams=[vendor], timeouts={"connect": 2, "read": 0.5}),
        ],
    }
    gateway = start_gateway(tmp_path_factory.mktemp("contract"), config, "contract-gateway")
    yield gateway
    gateway.stop()


@pytest.fixture
def gw(emulator) -> ServerProcess:
    """The module's gateway, its journal and faults empty and its counters cleared."""
    assert (
        http_request("POST", emulator.url + "/_gateway/reset", json_body={"routes": ["limited"]}).status
        == 200
    )
    assert http_request("DELETE", emulator.url + "/_gateway/requests").status == 204
    assert http_request("DELETE", emulator.url + "/_gateway/faults").status == 204
    return emulator


def call(gateway: ServerProcess, method: str, path: str, **kwargs) -> HttpResult:
    return http_request(method, gateway.url + path, **kwargs)


def journal(gateway: ServerProcess, **filters) -> dict:
    answer = call(gateway, "GET", "/_gateway/requests" + (f"?{urlencode(filters)}" if filters else ""))
    assert answer.status == 200, answer.text
    return answer.json()


def create_fault(gateway: ServerProcess, **fields) -> dict:
    created = call(gateway, "POST", "/_gateway/faults", json_body=fields)
    assert created.status == 201, created.text
    return created.json()


def assert_json_message(answer: HttpResult, status: int, message: str | None = None) -> None:
    assert answer.status == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert "message" in body and isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message


# -- who may use it -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sections",
    [{}, {"admin": {"enabled": False}, "journal": {"capacity": 1000}}],
    ids=["defaults", "disabled"],
)
def test_with_admin_off_every_admin_path_is_a_404_naming_it(vendor, tmp_path, sections):
    gateway = start_gateway(tmp_path, {"routes": [route(upstreams=[vendor])], **sections}, "off")
    try:
        for method, path in ADMIN_PATHS:
            assert_json_message(call(gateway, method, path, json_body={}), 404, f"No route for {path}")
        assert call(gateway, "GET", "/api/v1/users").status == 200  # the vendor's own API is untouched
    finally:
        gateway.stop()


@pytest.mark.parametrize("journal_section", [None, {"capacity": 0}], ids=["default", "zero"])
def test_with_the_journal_off_the_journal_answers_200_with_no_entries(vendor, tmp_path, journal_section):
    config = {"routes": [route(upstreams=[vendor])], "admin": {"enabled": True}}
    if journal_section is not None:
        config["journal"] = journal_section
    gateway = start_gateway(tmp_path, config, "no-journal")
    try:
        assert call(gateway, "GET", "/api/v1/users", headers={"X-Request-ID": "unkept"}).status == 200
        assert journal(gateway) == {"requests": [], "count": 0}
        assert call(gateway, "GET", "/_gateway/requests/unkept").status == 404
    finally:
        gateway.stop()


def test_the_admin_token_is_required_and_the_environment_wins(vendor, tmp_path):
    admin = {"enabled": True, "token": "yaml-token", "allow": ["127.0.0.1/32"]}
    config = {"routes": [route(upstreams=[vendor])], "admin": admin, "trusted_proxies": []}
    from_file = start_gateway(tmp_path, config, "token-file")
    from_env = start_gateway(tmp_path, config, "token-env", GATEWAY_ADMIN_TOKEN="env-token")
    try:
        for method, path in ADMIN_PATHS:
            refused = call(from_file, method, path, json_body={})
            assert_json_message(refused, 401, "Admin token required")
        accepted = call(from_file, "GET", "/_gateway/faults", headers={"Authorization": "Bearer yaml-token"})
        assert (accepted.status, accepted.json()) == (200, {"faults": []})

        for wrong in ("Bearer yaml-token", "Bearer nope", "env-token", "Basic env-token"):
            refused = call(from_env, "GET", "/_gateway/faults", headers={"Authorization": wrong})
            assert_json_message(refused, 401, "Admin token required")
        accepted = call(from_env, "GET", "/_gateway/faults", headers={"Authorization": "Bearer env-token"})
        assert accepted.status == 200

        # The address is checked first: the right token from elsewhere is a 403.
        outside = call(
            from_env,
            "GET",
            "/_gateway/faults",
            headers={"Authorization": "Bearer env-token"},
            source="127.0.0.2",
        )
        assert_json_message(outside, 403)
        assert call(from_env, "GET", "/api/v1/users", source="127.0.0.2").status == 200
    finally:
        from_file.stop()
        from_env.stop()


def test_only_allowed_client_addresses_may_use_the_admin_paths(gw):
    for method, path in ADMIN_PATHS:
        assert_json_message(call(gw, method, path, json_body={}, source="127.0.0.2"), 403)
    # Claiming another address changes nothing: the gateway's client-address rule trusts no proxy here.
    claimed = call(
        gw, "GET", "/_gateway/faults", headers={"X-Forwarded-For": "127.0.0.1"}, source="127.0.0.2"
    )
    assert claimed.status == 403
    assert call(gw, "GET", "/_gateway/faults").status == 200


def test_admin_paths_are_never_rate_limited_journaled_or_faulted(vendor, tmp_path):
    # A catch-all route: were the admin paths routed, its limit and fault would hit them.
    config = {
        "routes": [route("all", prefixes=["/"], upstreams=[vendor], rate_limits=["1/minute"])],
        "admin": {"enabled": True},
        "journal": {"capacity": 100},
    }
    gateway = start_gateway(tmp_path, config, "catch-all")
    try:
        create_fault(gateway, route="all", action="unavailable")
        for _ in range(3):
            listed = call(gateway, "GET", "/_gateway/faults")
            assert listed.status == 200 and "RateLimit-Limit" not in listed.headers
            assert call(gateway, "GET", "/_gateway/requests").status == 200
        assert call(gateway, "GET", "/api/v1/users").status == 503  # the route itself is faulted
        [entry] = journal(gateway)["requests"]
        assert entry["path"] == "/api/v1/users"
        assert [f["hits"] for f in call(gateway, "GET", "/_gateway/faults").json()["faults"]] == [1]
    finally:
        gateway.stop()


def test_every_admin_answer_is_json_and_a_400_names_the_field(gw):
    for method, path, body, field in (
        ("POST", "/_gateway/faults", {"route": "wipe"}, "action"),
        ("POST", "/_gateway/faults", {"route": "wipe", "action": "reset", "times": 0}, "times"),
        ("POST", "/_gateway/reset", {"routes": "wipe"}, "routes"),
        ("PUT", "/_gateway/state", {"routes": {"nope": {}}}, "routes"),
    ):
        answer = call(gw, method, path, json_body=body)
        assert_json_message(answer, 400)
        assert answer.json()["message"].startswith(f"{field}:"), answer.json()
    not_json = call(gw, "POST", "/_gateway/faults", body="{", headers={"Content-Type": "application/json"})
    assert_json_message(not_json, 400)
    assert_json_message(call(gw, "GET", "/_gateway/requests/nobody"), 404)
    assert_json_message(call(gw, "DELETE", "/_gateway/faults/nobody"), 404)
    wrong = call(gw, "PATCH", "/_gateway/faults")
    assert_json_message(wrong, 405)
    assert call(gw, "GET", "/_gateway/faults").headers["Content-Type"].startswith("application/json")


# -- the journal --------------------------------------------------------------------------------


def test_an_entry_shows_the_request_and_the_answer_as_the_client_saw_them(gw, vendor):
    sent = {"Content-Type": "application/json", "X-Request-ID": "entry-1", "X-Client-Trace": "Abc 1"}
    answer = call(gw, "POST", "/api/v1/users?domain=1&name=kim", body='{"name": "kim"}', headers=sent)
    assert answer.status == 200

    found = journal(gw)
    assert found["count"] == 1
    [entry] = found["requests"]
    assert set(entry) == ENTRY_KEYS
    assert set(entry["request"]) == set(entry["response"]) == PART_KEYS
    assert RFC3339_MS.fullmatch(entry["time"])
    assert entry | {"time": None, "duration_ms": None, "request": None, "response": None} == {
        "id": "entry-1", "time": None, "route": "wipe", "client": "127.0.0.1", "method": "POST",
        "path": "/api/v1/users", "query": "domain=1&name=kim", "status": 200, "duration_ms": None,
        "upstream": vendor, "refused": None, "fault": None, "request": None, "response": None,
    }  # fmt: skip
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    # Request headers as sent and response headers as received, names in lower case.
    request = entry["request"]
    assert request["headers"]["x-client-trace"] == "Abc 1"
    assert request["headers"]["content-type"] == "application/json"
    assert (request["body"], request["body_encoding"], request["truncated"]) == (
        '{"name": "kim"}',
        "text",
        False,
    )
    received = {name.lower(): value for name, value in answer.headers.items()}
    assert entry["response"]["headers"] == received
    assert entry["response"]["body"] == answer.text
    assert call(gw, "GET", "/_gateway/requests/entry-1").json() == entry
    assert_json_message(call(gw, "GET", "/_gateway/requests/no-such-entry"), 404)


def test_bodies_are_text_base64_or_null_and_long_ones_are_cut(gw):
    call(
        gw,
        "POST",
        "/api/v1/binary",
        body=b"\x00\x01\xfe\xff",
        headers={"Content-Type": "application/octet-stream"},
    )
    call(gw, "GET", "/api/v1/empty")
    call(gw, "POST", "/api/v1/long", body="é" * 600, headers={"Content-Type": "text/plain"})
    long, empty, binary = journal(gw)["requests"]

    assert binary["request"] | {"headers": None} == {
        "headers": None, "body": "AAH+/w==", "body_encoding": "base64", "truncated": False
    }  # fmt: skip
    assert binary["response"]["body"] == "//4AAQ==" and binary["response"]["body_encoding"] == "base64"
    assert (empty["request"]["body"], empty["response"]["body"], empty["status"]) == (None, None, 204)
    assert empty["request"]["body_encoding"] == "text" and empty["request"]["truncated"] is False
    # 1200 bytes sent; 1024 kept (512 characters of two bytes each), marked truncated.
    assert (long["request"]["body"], long["request"]["truncated"]) == ("é" * 512, True)
    assert long["response"]["truncated"] is True and len(long["response"]["body"].encode()) <= 1024


def test_the_journal_keeps_capacity_entries_dropping_the_oldest(vendor, tmp_path):
    config = {"routes": [route(upstreams=[vendor])], "admin": {"enabled": True}, "journal": {"capacity": 3}}
    gateway = start_gateway(tmp_path, config, "capacity")
    try:
        for name in "abcde":
            call(gateway, "GET", f"/api/v1/{name}")
        assert [e["path"] for e in journal(gateway)["requests"]] == ["/api/v1/e", "/api/v1/d", "/api/v1/c"]
    finally:
        gateway.stop()


def test_filters_combine_newest_first_and_limit_defaults_to_100(gw):
    for i in range(105):
        call(gw, "GET", f"/api/v1/n{i}")
    call(gw, "DELETE", "/api/v1/users/3")
    call(gw, "GET", "/mdm-admin/users")
    call(gw, "POST", "/v1/user")  # bulkuser takes GET only: 405

    everything = journal(gw)
    assert everything["count"] == 100 and len(everything["requests"]) == 100
    assert [e["path"] for e in everything["requests"][:3]] == [
        "/v1/user",
        "/mdm-admin/users",
        "/api/v1/users/3",
    ]
    assert journal(gw, limit=1000)["count"] == 108
    assert [e["path"] for e in journal(gw, route="wipe", method="DELETE")["requests"]] == ["/api/v1/users/3"]
    assert [
        e["path"] for e in journal(gw, route="wipe", method="delete", path="/api/v1/users")["requests"]
    ] == ["/api/v1/users/3"]
    assert journal(gw, route="emm", method="DELETE") == {"requests": [], "count": 0}
    assert [e["path"] for e in journal(gw, path="/api/v1/n10", limit=1000)["requests"]] == [
        "/api/v1/n104", "/api/v1/n103", "/api/v1/n102", "/api/v1/n101", "/api/v1/n100", "/api/v1/n10"
    ]  # fmt: skip
    assert [e["route"] for e in journal(gw, status=405)["requests"]] == ["bulkuser"]
    assert [e["path"] for e in journal(gw, route="wipe", limit=2)["requests"]] == [
        "/api/v1/users/3",
        "/api/v1/n104",
    ]

    for query, name in (
        ("colour=red", "colour"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("status=ok", "status"),
        ("route=nope", "route"),
    ):
        refused = call(gw, "GET", f"/_gateway/requests?{query}")
        assert_json_message(refused, 400)
        assert name in refused.json()["message"], query


def test_deleting_the_journal_empties_it(gw):
    call(gw, "GET", "/api/v1/users", headers={"X-Request-ID": "gone-soon"})
    assert journal(gw)["count"] == 1
    deleted = call(gw, "DELETE", "/_gateway/requests")
    assert (deleted.status, deleted.body) == (204, b"")
    assert journal(gw) == {"requests": [], "count": 0}
    assert call(gw, "GET", "/_gateway/requests/gone-soon").status == 404


def test_each_reason_of_refusal_is_journaled_and_upstream_only_when_forwarded(gw, vendor):
    call(gw, "GET", "/limited/x")
    assert call(gw, "GET", "/limited/x").status == 429
    assert call(gw, "GET", "/denied/x").status == 403
    assert call(gw, "POST", "/v1/user").status == 405
    assert call(gw, "POST", "/api/v1/big", body="x" * 4096).status == 413
    assert call(gw, "GET", "/gone/x").status == 502
    assert call(gw, "GET", "/slow/slow?seconds=2").status == 504
    assert call(gw, "GET", "/nowhere").status == 404
    fault = create_fault(gw, route="wipe", action="unavailable", times=1)
    assert call(gw, "GET", "/api/v1/users").status == 503

    seen = {(e["path"], e["refused"], e["route"], e["upstream"], e["fault"]) for e in journal(gw)["requests"]}
    assert seen == {
        ("/limited/x", None, "limited", vendor, None),
        ("/limited/x", "rate_limited", "limited", None, None),
        ("/denied/x", "ip_denied", "denied", None, None),
        ("/v1/user", "method_not_allowed", "bulkuser", None, None),
        ("/api/v1/big", "body_too_large", "wipe", None, None),
        ("/gone/x", "upstream_unavailable", "gone", None, None),
        ("/slow/slow", "upstream_timeout", "slow", vendor, None),
        ("/nowhere", None, None, None, None),
        ("/api/v1/users", "fault", "wipe", None, fault["id"]),
    }


@pytest.mark.parametrize("kind", ["json", "form", "xml"])
def test_no_secret_of_a_request_or_an_answer_is_kept_and_the_shapes_are(gw, kind):
    headers = {name: f"header-secret-{i}" for i, name in enumerate(SECRET_HEADERS)}
    headers["Content-Type"] = CONTENT_TYPES[kind]
    query = urlencode(
        [("user", "kim"), *((name, f"query-secret-{i}") for i, name in enumerate(SECRET_FIELDS))]
    )
    answer = call(
        gw, "POST", f"/api/v1/secrets/{kind}?{query}", body=secret_document(kind, "sent"), headers=headers
    )
    assert answer.status == 200 and "answer-" in answer.text  # the client itself gets the secrets

    raw = call(gw, "GET", "/_gateway/requests").text
    for secret in ("secret-", "sent-", "answer-"):
        assert secret not in raw
    [entry] = json.loads(raw)["requests"]
    secret_headers = {name.lower() for name in SECRET_HEADERS} | {"set-cookie"}
    assert {n: v for n, v in entry["request"]["headers"].items() if n in secret_headers} == dict.fromkeys(
        secret_headers - {"set-cookie"}, "[redacted]"
    )
    # Every secret header the client received (Proxy-Authorization, hop-by-hop, stops at the gateway).
    received = {name.lower() for name in answer.headers} & secret_headers
    assert received >= secret_headers - {"proxy-authorization"}
    assert {n: v for n, v in entry["response"]["headers"].items() if n in secret_headers} == dict.fromkeys(
        received, "[redacted]"
    )
    assert dict(parse_qsl(entry["query"])) == {"user": "kim", **dict.fromkeys(SECRET_FIELDS, "[redacted]")}
    for part in (entry["request"], entry["response"]):
        assert shape(kind, part["body"]) == shape(
            kind, secret_document(kind, "x").replace("x-", "[redacted]-")
        )


def shape(kind: str, body: str):
    """A body's structure with every secret value read as ``[redacted]``."""

    def hidden(value: str) -> str:
        return "[redacted]" if value.startswith("[redacted]") else value

    if kind == "json":
        return json.loads(re.sub(r'"\[redacted\][^"]*"', '"[redacted]"', body))
    if kind == "form":
        return [(name, hidden(value)) for name, value in parse_qsl(body)]
    root = defusedxml.ElementTree.fromstring(body)
    return [(e.tag, hidden(e.text or ""), {k: hidden(v) for k, v in e.attrib.items()}) for e in root.iter()]


def test_a_login_answer_keeps_its_shape_with_its_token_redacted(gw):
    call(gw, "POST", "/api/v1/secrets/json", body="{}", headers={"Content-Type": "application/json"})
    [entry] = journal(gw)["requests"]
    answer = json.loads(entry["response"]["body"])
    assert answer["user"] == "kim"
    assert answer["outer"]["list"] == [{name: "[redacted]"} for name in SECRET_FIELDS]


# -- faults -------------------------------------------------------------------------------------


def test_a_fault_is_answered_201_as_stored_with_every_default(gw):
    defaults = {
        "methods": None, "path": None, "when": "before", "probability": 1.0, "times": None, "seed": None,
        "delay_ms": None, "retry_after": None, "hits": 0,
    }  # fmt: skip
    expected = {
        "unavailable": {},
        "bad_gateway": {},
        "reset": {},
        "rate_limited": {"retry_after": 1},
        "timeout": {"delay_ms": 500},  # the slow route's read timeout, 0.5 s, in milliseconds
        "delay": {"delay_ms": 20},
    }
    ids = []
    for action, filled in expected.items():
        sent = {"route": "slow", "action": action} | ({"delay_ms": 20} if action == "delay" else {})
        answer = call(gw, "POST", "/_gateway/faults", json_body=sent)
        assert answer.status == 201 and answer.headers["Content-Type"].startswith("application/json")
        stored = answer.json()
        assert set(stored) == {*defaults, "route", "action", "id", "created"}
        assert {k: v for k, v in stored.items() if k not in ("id", "created")} == {
            **defaults,
            "route": "slow",
            "action": action,
            **filled,
        }
        assert isinstance(stored["id"], str) and RFC3339_MS.fullmatch(stored["created"])
        ids.append(stored["id"])
    assert len(ids) == len(expected)

    given = {
        "route": "emm", "methods": ["delete", "GET"], "path": "/mdm-admin/users", "action": "timeout",
        "when": "after", "probability": 0.25, "times": 3, "seed": 7, "delay_ms": 1500,
    }  # fmt: skip
    stored = create_fault(gw, **given)
    assert {k: stored[k] for k in given} == {**given, "methods": ["DELETE", "GET"]}
    assert stored["retry_after"] is None and stored["hits"] == 0
    listed = call(gw, "GET", "/_gateway/faults").json()["faults"]
    assert [f["id"] for f in listed] == [*ids, stored["id"]]


@pytest.mark.parametrize(("fields", "field"), BAD_FAULTS)
def test_a_bad_fault_is_a_400_naming_the_field_and_nothing_is_stored(gw, fields, field):
    answer = call(gw, "POST", "/_gateway/faults", json_body=fields)
    assert_json_message(answer, 400)
    assert answer.json()["message"].startswith(f"{field}:"), answer.json()
    assert call(gw, "GET", "/_gateway/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("route_name", "path", "dialect"),
    [
        ("wipe", "/api/v1/users", "grommunio"),
        ("bulkuser", "/v1/user", "dnl"),
        ("offboard", "/webconsole/api/User", "commvault"),
        ("emm", "/mdm-admin/users", "wso2"),
        ("agenda", "/AktionNEXT/API/user/getAll", "aktion"),
        ("leaver", "/leaver/runs", "problem"),
    ],
)
def test_refusing_faults_answer_in_the_routes_dialect(gw, route_name, path, dialect):
    rendered = get_dialect(dialect)
    for action, refusal, extra in (
        ("rate_limited", Refusal.RATE_LIMITED, {}),
        ("unavailable", Refusal.STORAGE_UNAVAILABLE, {}),
        ("bad_gateway", Refusal.UPSTREAM_UNAVAILABLE, {}),
        ("timeout", Refusal.UPSTREAM_TIMEOUT, {"delay_ms": 50}),
    ):
        create_fault(gw, route=route_name, action=action, times=1, **extra)
        answer = call(gw, "GET", path)
        expected = rendered.refusal(refusal, client_ip="127.0.0.1")
        status = {"unavailable": 503, "bad_gateway": 502, "timeout": 504}.get(action, expected.status_code)
        assert answer.status == status, (action, answer.text)
        assert answer.headers["Content-Type"] == expected.headers["Content-Type"], action
        body = answer.json()
        if action == "rate_limited":
            assert body == json.loads(expected.get_data()), action
            assert answer.headers["Retry-After"] == "1"
        else:
            # The dialect's envelope: the same keys as its own refusals.
            assert envelope_keys(body) == envelope_keys(json.loads(expected.get_data())), action
    if dialect == "aktion":
        create_fault(gw, route="agenda", action="rate_limited", retry_after=9, times=1)
        limited = call(gw, "GET", path)
        assert (limited.status, limited.json()["Result"]["Code"], limited.headers["Retry-After"]) == (
            401,
            1008,
            "9",
        )


def envelope_keys(body: dict) -> set[str]:
    """A JSON refusal's keys, nested ones as ``outer.inner``."""
    keys = set()
    for key, value in body.items():
        keys.add(key)
        if isinstance(value, dict):
            keys |= {f"{key}.{inner}" for inner in value}
    return keys


def test_a_reset_fault_closes_the_connection_without_an_answer(gw):
    fault = create_fault(gw, route="wipe", action="reset", times=1)
    with pytest.raises((ConnectionError, OSError)) as dropped:
        call(gw, "GET", "/api/v1/users")
    assert not isinstance(dropped.value, TimeoutError)
    [entry] = journal(gw)["requests"]
    assert (entry["refused"], entry["fault"], entry["upstream"]) == ("fault", fault["id"], None)


def test_methods_and_path_limit_the_requests_a_fault_covers(gw):
    fault = create_fault(gw, route="wipe", methods=["DELETE"], path="/api/v1/users", action="unavailable")
    assert call(gw, "GET", "/api/v1/users").status == 200  # another method
    assert call(gw, "DELETE", "/api/v1/domains/1").status == 200  # another path
    assert call(gw, "DELETE", "/mdm-admin/users").status == 200  # another route
    assert call(gw, "DELETE", "/api/v1/users/3").status == 503  # a path under the prefix
    assert call(gw, "DELETE", "/api/v1/users").status == 503
    [listed] = call(gw, "GET", "/_gateway/faults").json()["faults"]
    assert (listed["id"], listed["hits"]) == (fault["id"], 2)

    everything = create_fault(gw, route="emm", action="bad_gateway")
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert call(gw, method, "/oauth2/token").status == 502, method
    hits = {f["id"]: f["hits"] for f in call(gw, "GET", "/_gateway/faults").json()["faults"]}
    assert hits[everything["id"]] == 5


def test_the_first_created_of_several_matching_faults_applies_alone(gw):
    first = create_fault(gw, route="wipe", path="/api/v1/users", action="unavailable", times=2)
    second = create_fault(gw, route="wipe", action="bad_gateway")
    assert call(gw, "GET", "/api/v1/users").status == 503
    assert call(gw, "GET", "/api/v1/domains").status == 502  # only the second covers this path
    hits = {f["id"]: f["hits"] for f in call(gw, "GET", "/_gateway/faults").json()["faults"]}
    assert hits == {first["id"]: 1, second["id"]: 1}
    assert call(gw, "GET", "/api/v1/users").status == 503
    # Its times used up, the first is no longer listed, and the second applies.
    assert [f["id"] for f in call(gw, "GET", "/_gateway/faults").json()["faults"]] == [second["id"]]
    assert call(gw, "GET", "/api/v1/users").status == 502
    assert [e["fault"] for e in journal(gw)["requests"]] == [
        second["id"],
        first["id"],
        second["id"],
        first["id"],
    ]


def test_a_fault_is_removed_by_its_id_or_with_all_the_others(gw):
    one = create_fault(gw, route="wipe", action="unavailable")
    other = create_fault(gw, route="emm", action="unavailable")
    removed = call(gw, "DELETE", f"/_gateway/faults/{one['id']}")
    assert (removed.status, removed.body) == (204, b"")
    assert_json_message(call(gw, "DELETE", f"/_gateway/faults/{one['id']}"), 404)
    assert call(gw, "GET", "/api/v1/users").status == 200
    assert [f["id"] for f in call(gw, "GET", "/_gateway/faults").json()["faults"]] == [other["id"]]
    create_fault(gw, route="wipe", action="unavailable")
    cleared = call(gw, "DELETE", "/_gateway/faults")
    assert (cleared.status, cleared.body) == (204, b"")
    assert call(gw, "GET", "/_gateway/faults").json() == {"faults": []}
    assert call(gw, "GET", "/api/v1/users").status == 200 and call(gw, "GET", "/mdm-admin/x").status == 200


def test_probability_applies_a_fault_to_a_share_of_its_requests(gw):
    create_fault(gw, route="wipe", action="unavailable", probability=0.5)
    statuses = [call(gw, "GET", "/api/v1/users").status for _ in range(60)]
    assert set(statuses) == {200, 503}
    [listed] = call(gw, "GET", "/_gateway/faults").json()["faults"]
    assert listed["hits"] == statuses.count(503)


def test_a_seeded_fault_hits_the_same_requests_on_every_run(gw):
    def run() -> list[int]:
        fault = create_fault(gw, route="wipe", action="unavailable", probability=0.3, seed=2026)
        statuses = [call(gw, "GET", "/api/v1/users").status for _ in range(30)]
        call(gw, "DELETE", f"/_gateway/faults/{fault['id']}")
        return statuses

    first = run()
    assert run() == first and 0 < first.count(503) < 30


def test_a_delay_is_journaled_as_forwarded_and_counted(gw, vendor):
    fault = create_fault(gw, route="wipe", action="delay", delay_ms=200, times=1)
    started = time.monotonic()
    assert call(gw, "GET", "/api/v1/users").status == 200
    assert time.monotonic() - started >= 0.2
    [entry] = journal(gw)["requests"]
    assert (entry["refused"], entry["fault"], entry["upstream"]) == (None, fault["id"], vendor)
    assert entry["duration_ms"] >= 200
    metrics = call(gw, "GET", "/_gateway/metrics").text
    assert re.search(r'gateway_faults_injected_total\{action="delay",route="wipe"\} [1-9]', metrics)


# -- one state for every replica ------------------------------------------------------------------


def test_two_gateway_replicas_on_one_redis_share_faults_journal_and_resets(vendor, tmp_path, redis_server):
    config = {
        "routes": [route("replicated", upstreams=[vendor], rate_limits=["5/minute"])],
        "rate_limit_storage": redis_server.url,
        "admin": {"enabled": True},
        "journal": {"capacity": 100},
    }
    first = start_gateway(tmp_path, config, "replica-a", RATELIMIT_STORAGE_URL=redis_server.url)
    second = start_gateway(tmp_path, config, "replica-b", RATELIMIT_STORAGE_URL=redis_server.url)
    try:
        assert call(first, "POST", "/_gateway/reset").status == 200
        fault = create_fault(first, route="replicated", action="unavailable", times=3)
        statuses = [call((first, second)[i % 2], "GET", "/api/v1/users").status for i in range(5)]
        assert statuses == [503, 503, 503, 200, 200]  # times counted across both replicas
        assert call(second, "GET", "/_gateway/faults").json() == {"faults": []}
        faults = [e["fault"] for e in journal(second)["requests"]]
        assert faults == [None, None, fault["id"], fault["id"], fault["id"]]
        assert call(second, "GET", "/api/v1/users").status == 429  # one counter for both: 5 a minute
        assert call(second, "POST", "/_gateway/reset").status == 200
        assert journal(first) == {"requests": [], "count": 0}
        assert call(first, "GET", "/api/v1/users").status == 200  # the counter went with the reset
    finally:
        first.stop()
        second.stop()


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "config_file",
    ["deploy/compose/gateway.yaml", "deploy/k8s/base/gateway-routes.yaml"],
    ids=["compose", "kubernetes"],
)
def test_the_compose_and_kubernetes_configurations_leave_admin_and_journal_off(tmp_path, config_file):
    path = REPO / config_file
    assert load_config(path, environ={}).journal.capacity == 0
    # Their upstreams are names on a container network; the admin paths answer without them.
    gateway = ServerProcess(
        "gateway:create_app()",
        env={"GATEWAY_CONFIG": str(path), "RATELIMIT_STORAGE_URL": "memory://"},
        log_path=tmp_path / "gateway.log",
    ).start()
    try:
        for method, admin_path in ADMIN_PATHS:
            assert_json_message(
                call(gateway, method, admin_path, json_body={}), 404, f"No route for {admin_path}"
            )
    finally:
        gateway.stop()


@pytest.mark.parametrize(
    ("sections", "field"),
    [
        ({"admin": {"enabled": "yes"}}, "admin.enabled"),
        ({"admin": {"allow": ["nowhere"]}}, "admin.allow[0]"),
        ({"admin": {"token": 5}}, "admin.token"),
        ({"admin": {"service_token": ["x"]}}, "admin.service_token"),
        ({"journal": {"capacity": -1}}, "journal.capacity"),
        ({"journal": {"max_body_bytes": 0}}, "journal.max_body_bytes"),
    ],
)
def test_a_bad_admin_or_journal_setting_stops_the_gateway_naming_the_field(tmp_path, sections, field):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"routes": [route(upstreams=["http://127.0.0.1:9"])], **sections}))
    finished = subprocess.run(
        [sys.executable, "-m", "gateway", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
        env={"GATEWAY_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert f"{field}:" in finished.stdout + finished.stderr


def test_a_timeout_fault_waits_the_routes_read_timeout_by_default(gw):
    fault = create_fault(gw, route="slow", action="timeout", times=1)
    started = time.monotonic()
    answer = call(gw, "GET", "/slow/anything")
    waited = time.monotonic() - started
    assert (answer.status, fault["delay_ms"]) == (504, 500)
    assert 0.5 <= waited < 5
    [entry] = journal(gw)["requests"]
    assert (entry["refused"], entry["fault"], entry["upstream"]) == ("fault", fault["id"], None)


def test_a_request_refused_because_the_rate_limit_storage_fails_is_journaled_so(
    vendor, tmp_path, redis_server
):
    # A Redis user that may not count (PTTL, which the limiter's scripts need) but may keep the
    # journal: the counters fail while the shared journal works, as with a too narrow ACL.
    admin = redis.Redis.from_url(redis_server.url)
    admin.acl_setuser(
        "no-counting", enabled=True, passwords=["+counting-denied"], keys=["*"], channels=["*"],
        commands=["+@all", "-pttl"],
    )  # fmt: skip
    storage = f"redis://no-counting:counting-denied@127.0.0.1:{redis_server.port}/0"
    config = {
        "routes": [route("uncounted", upstreams=[vendor], rate_limits=["100/minute"])],
        "rate_limit_storage": storage,
        "on_storage_failure": "closed",
        "admin": {"enabled": True},
        "journal": {"capacity": 100},
    }
    gateway = start_gateway(tmp_path, config, "storage-fails", RATELIMIT_STORAGE_URL=storage)
    try:
        refused = call(gateway, "GET", "/api/v1/users", headers={"X-Request-ID": "uncounted-1"})
        expected = get_dialect("grommunio").refusal(Refusal.STORAGE_UNAVAILABLE)
        assert (refused.status, refused.json()) == (503, json.loads(expected.get_data()))
        entry = call(gateway, "GET", "/_gateway/requests/uncounted-1").json()
        assert (entry["refused"], entry["status"], entry["upstream"]) == ("storage_unavailable", 503, None)
    finally:
        gateway.stop()
        admin.acl_deluser("no-counting")
        admin.close()
