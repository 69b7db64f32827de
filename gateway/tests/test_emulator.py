"""The emulator's admin API in process: access rules, the journal and its redaction, faults, reset."""

from __future__ import annotations

import json

import pytest
from gwsupport import BAD_FAULTS, counting, echo_app, route, serve
from werkzeug.wrappers import Request, Response

from gateway.config import ConfigError, parse_config
from vendorkit.testing import free_port

ADMIN = {"admin": {"enabled": True, "allow": ["127.0.0.0/8"]}, "journal": {"capacity": 100}}


@Request.application
def login_app(request: Request) -> Response:
    """A vendor-like upstream: a login answer carrying tokens, and a cookie."""
    if request.path.endswith("/xml"):
        body = '<Login><Token>tok-xml-1</Token><User apikey="key-attr-1">kim</User></Login>'
        return Response(body, content_type="application/xml")
    payload = {"ok": True, "data": {"access_token": "tok-json-1", "nested": [{"csrf": "tok-csrf-1"}]}}
    response = Response(json.dumps(payload), content_type="application/json")
    response.headers["Set-Cookie"] = "grommunioAuthJwt=tok-cookie-1; HttpOnly"
    return response


@pytest.fixture(scope="module")
def login_upstream():
    with serve(app=login_app) as url:
        yield url


@pytest.fixture
def emulated(make_gateway, upstream):
    """A gateway with the admin API and the journal on, two routes on the echo upstream."""
    return make_gateway(
        route("wipe", upstreams=[upstream]),
        route("emm", prefixes=["/mdm-admin/"], dialect="wso2", upstreams=[upstream]),
        **ADMIN,
    )


def entries(client, **filters) -> list[dict]:
    response = client.get("/_gateway/requests", query_string=filters)
    assert response.status_code == 200, response.text
    return response.json["requests"]


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "field"),
    [
        ({"admin": []}, "admin"),
        ({"admin": {"enabled": "yes"}}, "admin.enabled"),
        ({"admin": {"allow": ["nowhere"]}}, "admin.allow[0]"),
        ({"admin": {"token": 5}}, "admin.token"),
        ({"admin": {"colour": 1}}, "admin.colour"),
        ({"journal": {"capacity": -1}}, "journal.capacity"),
        ({"journal": {"max_body_bytes": 0}}, "journal.max_body_bytes"),
        ({"journal": {"capacity": True}}, "journal.capacity"),
    ],
)
def test_a_bad_admin_or_journal_setting_is_named(top, field):
    with pytest.raises(ConfigError) as caught:
        parse_config({"routes": [route(upstreams=["http://127.0.0.1:1"])], **top}, environ={})
    assert str(caught.value).startswith(field + ":"), str(caught.value)


def test_admin_and_journal_are_off_by_default_and_environment_tokens_win():
    raw = {"routes": [route(upstreams=["http://127.0.0.1:1"])], "admin": {"token": "from-file"}}
    config = parse_config(raw, environ={"GATEWAY_ADMIN_TOKEN": "env", "GATEWAY_SERVICE_ADMIN_TOKEN": "svc"})
    assert (config.admin.enabled, config.journal.capacity) == (False, 0)
    assert (config.admin.token, config.admin.service_token) == ("env", "svc")
    assert parse_config(raw, environ={}).admin.token == "from-file"


# -- who may use it -----------------------------------------------------------------------


def test_admin_paths_answer_404_when_disabled(make_gateway, upstream):
    _gateway, client = make_gateway(route(upstreams=[upstream]), peer="127.0.0.1")
    for path in ("/_gateway/requests", "/_gateway/faults", "/_gateway/state"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json == {"message": f"No route for {path}"}


def test_address_is_checked_before_the_token(make_gateway, upstream):
    _gateway, client = make_gateway(
        route(upstreams=[upstream]), admin={"enabled": True, "token": "s3cret", "allow": ["127.0.0.1/32"]}
    )
    outside = client.get("/_gateway/faults", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert outside.status_code == 403 and "message" in outside.json
    inside = {"REMOTE_ADDR": "127.0.0.1"}
    missing = client.get("/_gateway/faults", environ_base=inside)
    assert (missing.status_code, missing.json) == (401, {"message": "Admin token required"})
    wrong = client.get("/_gateway/faults", environ_base=inside, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/_gateway/faults", environ_base=inside, headers={"Authorization": "Bearer s3cret"})
    assert (right.status_code, right.json) == (200, {"faults": []})


def test_wrong_method_on_an_admin_path_is_405_in_json(emulated):
    _gateway, client = emulated
    response = client.put("/_gateway/requests")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, DELETE"
    assert response.json == {"message": "Method not allowed"}


# -- the journal ---------------------------------------------------------------------------


def test_an_entry_records_the_request_and_the_answer(emulated):
    _gateway, client = emulated
    client.post(
        "/api/v1/users?domain=1",
        data=b'{"name": "kim"}',
        headers={"Content-Type": "application/json", "X-Request-ID": "req-1"},
    )
    [entry] = entries(client)
    assert entry["id"] == "req-1"
    assert entry["time"].endswith("Z") and entry["time"][10] == "T"
    assert (entry["route"], entry["method"], entry["path"], entry["query"]) == (
        "wipe", "POST", "/api/v1/users", "domain=1"
    )  # fmt: skip
    assert (entry["status"], entry["refused"], entry["fault"]) == (200, None, None)
    assert entry["client"] == "127.0.0.9"
    assert entry["upstream"].startswith("http://127.0.0.1:")
    assert entry["request"]["headers"]["content-type"] == "application/json"
    assert entry["request"]["body"] == '{"name": "kim"}'
    assert entry["request"]["body_encoding"] == "text"
    assert entry["response"]["headers"]["x-request-id"] == "req-1"
    assert json.loads(entry["response"]["body"])["path"] == "/api/v1/users"
    assert isinstance(entry["duration_ms"], float)
    single = client.get("/_gateway/requests/req-1")
    assert single.status_code == 200 and single.json == entry
    assert client.get("/_gateway/requests/unknown").status_code == 404


def test_admin_paths_and_own_endpoints_are_not_journaled(emulated):
    _gateway, client = emulated
    client.get("/_gateway/healthz")
    client.get("/_gateway/faults")
    assert entries(client) == []


def test_refusals_and_unrouted_paths_are_journaled_with_why(emulated):
    _gateway, client = emulated
    client.get("/nowhere")
    [entry] = entries(client)
    assert (entry["route"], entry["status"], entry["upstream"]) == (None, 404, None)


def test_a_replica_nobody_could_connect_to_is_not_named_as_upstream(make_gateway):
    # Nothing listens on this port: nothing was forwarded, so the entry names no upstream.
    _gateway, client = make_gateway(route("wipe", upstreams=[f"http://127.0.0.1:{free_port()}"]), **ADMIN)
    assert client.get("/api/v1/users").status_code == 502
    [entry] = entries(client)
    assert (entry["status"], entry["refused"], entry["upstream"]) == (502, "upstream_unavailable", None)


def test_filters_combine_and_bad_ones_are_400(emulated):
    _gateway, client = emulated
    client.get("/api/v1/a")
    client.delete("/api/v1/b")
    client.get("/mdm-admin/users")
    assert [e["path"] for e in entries(client)] == ["/mdm-admin/users", "/api/v1/b", "/api/v1/a"]
    assert [e["path"] for e in entries(client, route="wipe", method="get")] == ["/api/v1/a"]
    assert [e["path"] for e in entries(client, path="/api/v1/b")] == ["/api/v1/b"]
    assert len(entries(client, status=200, limit=2)) == 2
    for query in ({"colour": "red"}, {"limit": "0"}, {"limit": "1001"}, {"status": "ok"}, {"route": "nope"}):
        response = client.get("/_gateway/requests", query_string=query)
        assert response.status_code == 400, query
        assert next(iter(query)) in response.json["message"]
    assert client.delete("/_gateway/requests").status_code == 204
    assert entries(client) == []


def test_capacity_drops_the_oldest(make_gateway, upstream):
    _gateway, client = make_gateway(
        route(upstreams=[upstream]), admin=ADMIN["admin"], journal={"capacity": 2}
    )
    for name in "abc":
        client.get(f"/api/v1/{name}")
    assert [e["path"] for e in entries(client)] == ["/api/v1/c", "/api/v1/b"]


def test_journal_off_answers_no_entries(make_gateway, upstream):
    _gateway, client = make_gateway(route(upstreams=[upstream]), admin=ADMIN["admin"])
    client.get("/api/v1/a")
    response = client.get("/_gateway/requests")
    assert response.json == {"requests": [], "count": 0}


def test_long_bodies_are_truncated_and_binary_ones_base64(make_gateway, upstream):
    _gateway, client = make_gateway(
        route(upstreams=[upstream]), admin=ADMIN["admin"], journal={"capacity": 10, "max_body_bytes": 8}
    )
    client.post("/api/v1/bin", data=b"\xff\xfe\x00\x01", headers={"Content-Type": "application/octet-stream"})
    client.post("/api/v1/long", data=b"0123456789abcdef", headers={"Content-Type": "text/plain"})
    long, binary = entries(client)
    assert binary["request"] | {"headers": None} == {
        "headers": None, "body": "//4AAQ==", "body_encoding": "base64", "truncated": False
    }  # fmt: skip
    assert (long["request"]["body"], long["request"]["truncated"]) == ("01234567", True)


def test_a_body_longer_than_the_limit_is_redacted_then_cut_and_never_held_whole(make_gateway, upstream):
    gateway, client = make_gateway(
        route(upstreams=[upstream]), admin=ADMIN["admin"], journal={"capacity": 10, "max_body_bytes": 40}
    )
    body = json.dumps({"password": "hunter2", "padding": "x" * 200})
    client.post("/api/v1/long", data=body, headers={"Content-Type": "application/json"})
    [record] = gateway.emulator.journal.records
    assert len(record.request_body) == 40 and b"hunter2" not in record.request_body
    [entry] = entries(client)
    assert entry["request"]["body"] == '{"password": "[redacted]", "padding": "x'
    assert entry["request"]["truncated"] is True


# -- redaction ------------------------------------------------------------------------------


SECRETS = (
    "hunter2",
    "key-123",
    "tok-abc",
    "tok-json-1",
    "tok-csrf-1",
    "tok-cookie-1",
    "tok-xml-1",
    "key-attr-1",
)


def test_secrets_never_reach_the_journal(make_gateway, login_upstream):
    _gateway, client = make_gateway(
        route("wipe", upstreams=[login_upstream]),
        route("emm", prefixes=["/mdm-admin/"], dialect="wso2", upstreams=[login_upstream]),
        **ADMIN,
    )
    client.post(
        "/api/v1/login?user=kim&Password=hunter2",
        data=json.dumps({"user": "kim", "auth": {"ApiKey": "key-123", "list": [{"token": "tok-abc"}]}}),
        headers={"Content-Type": "application/json", "Authorization": "Bearer tok-abc"},
    )
    client.post(
        "/api/v1/form",
        data="user=kim&pass=hunter2&grommunioAuthJwt=tok-abc",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": "grommunioAuthJwt=tok-abc"},
    )
    client.post(
        "/api/v1/xml",
        data='<Login user="kim" PassWord="hunter2"><ApiKey>key-123</ApiKey><Name>kim</Name></Login>',
        headers={"Content-Type": "application/xml", "X-Csrf-Token": "tok-abc", "AuthToken": "tok-abc"},
    )
    client.get("/mdm-admin/users?access_token=tok-abc", headers={"X-Auth-Token": "tok-abc"})
    journal = client.get("/_gateway/requests").text
    for secret in SECRETS:
        assert secret not in journal, secret
    xml, form, login = (e for e in entries(client) if e["route"] == "wipe")
    # Shapes are kept; only the values read [redacted].
    assert login["query"] == "user=kim&Password=[redacted]"
    assert json.loads(login["request"]["body"])["auth"]["list"] == [{"token": "[redacted]"}]
    assert login["request"]["headers"]["authorization"] == "[redacted]"
    assert json.loads(login["response"]["body"])["data"]["access_token"] == "[redacted]"
    assert login["response"]["headers"]["set-cookie"] == "[redacted]"
    assert form["request"]["body"] == "user=kim&pass=[redacted]&grommunioAuthJwt=[redacted]"
    assert "<Name>kim</Name>" in xml["request"]["body"] and 'user="kim"' in xml["request"]["body"]
    assert "<Token>[redacted]</Token>" in xml["response"]["body"]


def test_xml_entities_are_never_expanded(make_gateway, login_upstream):
    _gateway, client = make_gateway(route(upstreams=[login_upstream]), **ADMIN)
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s "hunter2">]><Login><Password>&s;</Password></Login>'
    client.post("/api/v1/xml", data=bomb, headers={"Content-Type": "application/xml"})
    [entry] = entries(client)
    assert "hunter2" not in json.dumps(entry)
    assert entry["request"]["body"].startswith("[redacted")


# -- faults -------------------------------------------------------------------------------


def create_fault(client, **fields) -> dict:
    response = client.post("/_gateway/faults", json=fields)
    assert response.status_code == 201, response.text
    return response.json


def test_a_fault_is_stored_with_defaults(emulated):
    _gateway, client = emulated
    fault = create_fault(client, route="emm", action="rate_limited")
    assert fault | {"id": None, "created": None} == {
        "id": None, "route": "emm", "methods": None, "path": None, "action": "rate_limited",
        "when": "before", "probability": 1.0, "times": None, "seed": None, "delay_ms": None,
        "retry_after": 1, "hits": 0, "created": None,
    }  # fmt: skip
    assert fault["created"].endswith("Z") and isinstance(fault["id"], str)
    timeout = create_fault(client, route="wipe", action="timeout", delay_ms=5)
    assert (timeout["delay_ms"], timeout["retry_after"]) == (5, None)
    default_timeout = parse_default_timeout(client)
    assert default_timeout == 30000


def parse_default_timeout(client) -> int:
    fault = create_fault(client, route="wipe", action="timeout", path="/api/v1/never")
    client.delete(f"/_gateway/faults/{fault['id']}")
    return fault["delay_ms"]


@pytest.mark.parametrize(("fields", "field"), BAD_FAULTS)
def test_a_bad_fault_is_400_naming_the_field(emulated, fields, field):
    _gateway, client = emulated
    response = client.post("/_gateway/faults", json=fields)
    assert response.status_code == 400
    assert response.json["message"].startswith(field + ":"), response.json


def test_refusing_faults_answer_in_the_route_dialect(emulated):
    _gateway, client = emulated
    create_fault(client, route="emm", action="rate_limited", retry_after=7, times=1)
    limited = client.get("/mdm-admin/users")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    create_fault(client, route="emm", action="unavailable", times=1)
    assert client.get("/mdm-admin/users").status_code == 503
    create_fault(client, route="emm", action="bad_gateway", times=1)
    bad = client.get("/mdm-admin/users")
    assert bad.status_code == 502 and bad.is_json
    create_fault(client, route="emm", action="timeout", delay_ms=1, times=1)
    assert client.get("/mdm-admin/users").status_code == 504
    assert client.get("/mdm-admin/users").status_code == 200  # all used up
    create_fault(client, route="emm", action="reset", times=1)
    with pytest.raises(ConnectionResetError):
        client.get("/mdm-admin/users")
    journal = entries(client, route="emm")
    assert [e["refused"] for e in journal] == ["fault", None, "fault", "fault", "fault", "fault"]
    faulted = [e for e in journal if e["fault"]]
    assert len(faulted) == 5 and all(e["refused"] == "fault" and e["upstream"] is None for e in faulted)
    metrics = client.get("/_gateway/metrics").text
    assert 'gateway_faults_injected_total{action="rate_limited",route="emm"} 1.0' in metrics


def test_a_delay_forwards_after_waiting_and_is_journaled_as_forwarded(emulated):
    _gateway, client = emulated
    fault = create_fault(client, route="wipe", action="delay", delay_ms=150, times=1)
    response = client.get("/api/v1/slowly")
    assert response.status_code == 200
    [entry] = entries(client)
    assert (entry["refused"], entry["fault"]) == (None, fault["id"])
    assert entry["duration_ms"] >= 150


def test_after_lets_the_service_do_its_work_then_answers_the_fault(make_gateway, upstream):
    app = counting(echo_app)
    with serve(app=app) as counted:
        _gateway, client = make_gateway(route("wipe", upstreams=[counted]), **ADMIN)
        create_fault(client, route="wipe", action="unavailable", when="after", methods=["DELETE"], times=1)
        assert client.get("/api/v1/users").status_code == 200  # not a DELETE
        assert client.delete("/api/v1/users/3").status_code == 503
        assert app.hits == 2
        create_fault(client, route="wipe", action="unavailable", times=1)
        assert client.delete("/api/v1/users/3").status_code == 503
        assert app.hits == 2  # before: never reached the service
        after, _before_entry = entries(client, method="DELETE")[::-1]
        assert after["upstream"] == counted and after["refused"] == "fault"


def test_times_path_first_created_and_listing(emulated):
    _gateway, client = emulated
    first = create_fault(client, route="wipe", action="unavailable", path="/api/v1/users", times=2)
    create_fault(client, route="wipe", action="bad_gateway", path="/api/v1/")
    assert client.get("/api/v1/users").status_code == 503
    assert client.get("/api/v1/domains").status_code == 502
    listed = client.get("/_gateway/faults").json["faults"]
    assert [(f["id"], f["hits"]) for f in listed] == [(first["id"], 1), (listed[1]["id"], 1)]
    assert client.get("/api/v1/users").status_code == 503
    assert [f["action"] for f in client.get("/_gateway/faults").json["faults"]] == ["bad_gateway"]
    assert client.get("/api/v1/users").status_code == 502
    assert client.delete(f"/_gateway/faults/{first['id']}").status_code == 404
    assert client.delete("/_gateway/faults").status_code == 204
    assert client.get("/api/v1/users").status_code == 200


def test_a_seeded_fault_hits_the_same_requests_every_time(emulated):
    _gateway, client = emulated

    def pattern() -> list[int]:
        fault = create_fault(client, route="wipe", action="unavailable", probability=0.5, seed=42)
        statuses = [client.get("/api/v1/x").status_code for _ in range(30)]
        client.delete(f"/_gateway/faults/{fault['id']}")
        return statuses

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(503) < 30


# -- reset ------------------------------------------------------------------------------------


def test_reset_of_some_routes_clears_their_journal_faults_and_counters(make_gateway, upstream):
    _gateway, client = make_gateway(
        route("wipe", upstreams=[upstream], rate_limits=["2/minute"]),
        route(
            "emm", prefixes=["/mdm-admin/"], dialect="wso2", upstreams=[upstream], rate_limits=["2/minute"]
        ),
        **ADMIN,
    )
    for _ in range(3):
        client.get("/api/v1/a")
        client.get("/mdm-admin/a")
    assert client.get("/api/v1/a").status_code != 200  # over the limit
    create_fault(client, route="wipe", action="unavailable")
    create_fault(client, route="emm", action="unavailable")
    response = client.post("/_gateway/reset", json={"routes": ["wipe"]})
    assert response.status_code == 200 and response.json == {"reset": ["wipe"]}
    assert {e["route"] for e in entries(client)} == {"emm"}
    assert [f["route"] for f in client.get("/_gateway/faults").json["faults"]] == ["emm"]
    assert client.get("/api/v1/a").status_code == 200  # counter and fault gone
    assert client.get("/mdm-admin/a").status_code != 200
    assert client.post("/_gateway/reset").json == {"reset": ["wipe", "emm"]}
    assert client.get("/_gateway/faults").json == {"faults": []}
    bad = client.post("/_gateway/reset", json={"routes": ["nope"]})
    assert bad.status_code == 400 and bad.json["message"].startswith("routes:")


def test_reset_names_the_services_that_could_not_be_reset(make_gateway, upstream):
    dead = f"http://127.0.0.1:{free_port()}"
    _gateway, client = make_gateway(
        route("wipe", upstreams=[upstream]),
        route("emm", prefixes=["/mdm-admin/"], dialect="wso2", upstreams=[dead]),
        **ADMIN,
    )
    response = client.post("/_gateway/reset")
    assert response.status_code == 502
    assert response.json["failed"] == ["emm"] and "message" in response.json


@Request.application
def guarded_admin_app(request: Request) -> Response:
    """A service whose /_admin paths need the service token, as with ADMIN_TOKEN set."""
    if request.headers.get("Authorization") != "Bearer svc-token":
        return Response('{"message": "Admin token required"}', status=401, content_type="application/json")
    return Response('{"service": "wipe", "reset": true}', content_type="application/json")


def test_the_service_token_is_sent_to_the_services_admin_paths(make_gateway):
    with serve(app=guarded_admin_app) as guarded:
        _gateway, without = make_gateway(route(upstreams=[guarded]), **ADMIN)
        assert without.post("/_gateway/reset").json["failed"] == ["wipe"]
        admin = {**ADMIN["admin"], "service_token": "svc-token"}
        _gateway, with_token = make_gateway(route(upstreams=[guarded]), admin=admin)
        response = with_token.post("/_gateway/reset")
        assert (response.status_code, response.json) == (200, {"reset": ["wipe"]})
