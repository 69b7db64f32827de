"""The emulator through the real gateway and the real services: journal redaction, faults, reset and state."""

from __future__ import annotations

import base64
import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from vendorkit.testing import HttpResult, ServerProcess, free_port, http_request

pytestmark = pytest.mark.e2e

ROUTES = ["wipe", "bulkuser", "offboard", "emm", "agenda"]
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


@dataclass
class Emulator:
    """A gateway of this module's own (admin and journal on) before the stack's five vendor services."""

    gateway: ServerProcess

    def url(self, path: str) -> str:
        return self.gateway.url + path


def start_gateway(stack, routes: list[dict], name: str) -> ServerProcess:
    config = stack.gateway_config()
    config["routes"] = routes
    config["admin"] = {"enabled": True, "allow": ["127.0.0.1/32"]}
    config["journal"] = {"capacity": 1000}
    return ServerProcess(
        "gateway:create_app()",
        env={"GATEWAY_CONFIG": str(stack.write_gateway_config(config, f"{name}.yaml"))},
        log_path=stack.workdir / f"{name}.log",
    ).start()


@pytest.fixture(scope="module")
def emulator(stack):
    """The five vendor services with their admin API on, behind a gateway routing those five."""
    for name in ROUTES:
        stack.start(name, ADMIN_API="1")
    routes = [r for r in stack.gateway_config()["routes"] if r["name"] in ROUTES]
    gateway = start_gateway(stack, routes, "emulator-gateway")
    yield Emulator(gateway)
    gateway.stop()
    # The shared stack's services go back to their usual settings (admin API off) for later modules.
    for name in ROUTES:
        stack.services[name].stop()


@pytest.fixture
def gw(emulator):
    """The emulator, its journal and faults empty."""
    assert http_request("DELETE", emulator.url("/_gateway/requests")).status == 204
    assert http_request("DELETE", emulator.url("/_gateway/faults")).status == 204
    return emulator


def _form(url: str, fields: dict[str, str]) -> HttpResult:
    return http_request(
        "POST", url, body=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


def _ok(response: HttpResult) -> dict:
    assert response.status == 200, response.text
    return response.json()


def log_in_everywhere(base: str) -> tuple[list[str], list[str]]:
    """Log in to every vendor through the gateway and use each session once: (secrets sent, tokens issued)."""
    sent, issued = [], []

    wipe = _ok(_form(base + "/api/v1/login", {"user": "admin", "pass": "admin-demo"}))
    issued += [wipe["grommunioAuthJwt"], wipe["csrf"]]
    cookie = {"Cookie": f"grommunioAuthJwt={wipe['grommunioAuthJwt']}", "X-Csrf-Token": wipe["csrf"]}
    assert http_request("GET", base + "/api/v1/profile", headers=cookie).status == 200

    bulk = _ok(
        http_request(
            "POST", base + "/v1/auth", json_body={"email_or_name": "admin", "password": "admin-demo"}
        )
    )
    issued.append(bulk["payload"]["token"])
    assert http_request("GET", base + "/v1/user", headers={"X-Auth-Token": issued[-1]}).status == 200

    encoded = base64.b64encode(b"admin-demo").decode()
    offboard = _ok(
        http_request(
            "POST",
            base + "/webconsole/api/Login",
            json_body={"username": "admin", "password": encoded},
            headers=JSON,
        )
    )
    sent.append(encoded)
    issued.append(offboard["token"])
    auth = {"Authtoken": offboard["token"], **JSON}
    assert http_request("GET", base + "/webconsole/api/User/5", headers=auth).status == 200

    emm = _ok(
        _form(
            base + "/oauth2/token", {"grant_type": "password", "username": "admin", "password": "admin-demo"}
        )
    )
    issued.append(emm["access_token"])
    issued += [emm[key] for key in ("refresh_token",) if emm.get(key)]
    bearer = {"Authorization": f"Bearer {emm['access_token']}"}
    assert http_request("GET", base + "/mdm-admin/users/count", headers=bearer).status == 200

    agenda = _ok(
        http_request(
            "POST",
            base + "/AktionNEXT/API/login",
            json_body={"UserLogin": "api", "ApiKey": "api-demo-key"},
            headers=JSON,
        )
    )
    issued.append(agenda["Token"])
    sent.append("api-demo-key")
    assert (
        http_request("GET", f"{base}/AktionNEXT/API/user/getAll?Token={agenda['Token']}", headers=JSON).status
        == 200
    )

    sent.append("admin-demo")
    return sent, issued


def journal(gw, **filters) -> list[dict]:
    query = f"?{urlencode(filters)}" if filters else ""
    return _ok(http_request("GET", gw.url(f"/_gateway/requests{query}")))["requests"]


def test_no_password_key_or_token_reaches_the_journal(gw):
    sent, issued = log_in_everywhere(gw.gateway.url)
    whole = http_request("GET", gw.url("/_gateway/requests?limit=1000"))
    assert whole.status == 200
    entries = whole.json()["requests"]
    assert {e["route"] for e in entries} == set(ROUTES)
    assert len(entries) == 10  # a login and one authenticated call per vendor
    for secret in [*sent, *issued]:
        assert secret not in whole.text, f"{secret[:6]}... is in the journal"
    # The login answers keep their shape; only the secrets read [redacted].
    [emm_login] = [e for e in entries if e["path"] == "/oauth2/token"]
    assert json.loads(emm_login["response"]["body"])["access_token"] == "[redacted]"
    assert emm_login["request"]["body"].count("[redacted]") == 1


def test_every_fault_action_as_a_real_client_sees_it(gw):
    url = gw.url("/mdm-admin/users/count")

    def fault(**fields) -> dict:
        created = http_request(
            "POST", gw.url("/_gateway/faults"), json_body={"route": "emm", "times": 1, **fields}
        )
        assert created.status == 201, created.text
        return created.json()

    fault(action="rate_limited", retry_after=3)
    limited = http_request("GET", url)
    assert (limited.status, limited.headers["Retry-After"]) == (429, "3")
    fault(action="unavailable")
    assert http_request("GET", url).status == 503
    fault(action="bad_gateway")
    assert http_request("GET", url).status == 502
    fault(action="timeout", delay_ms=300)
    started = time.monotonic()
    assert http_request("GET", url).status == 504
    assert time.monotonic() - started >= 0.3
    delay = fault(action="delay", delay_ms=300)
    started = time.monotonic()
    assert http_request("GET", url).status == 401  # the service answers: no token was sent
    assert time.monotonic() - started >= 0.3
    fault(action="reset")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        http_request("GET", url)
    assert http_request("GET", url).status == 401  # every fault used up

    entries = journal(gw, route="emm")
    assert [e["refused"] for e in entries] == [None, "fault", None, "fault", "fault", "fault", "fault"]
    assert entries[2]["fault"] == delay["id"] and entries[2]["upstream"]
    metrics = http_request("GET", gw.url("/_gateway/metrics")).text
    assert 'gateway_faults_injected_total{action="reset",route="emm"}' in metrics


def emm_users(gw) -> list[str]:
    state = _ok(http_request("GET", gw.url("/_gateway/state")))
    return [row["username"] for row in state["routes"]["emm"]["tables"]["emm_users"]]


def test_a_fault_after_the_write_loses_the_answer_but_not_the_change(gw):
    base = gw.gateway.url
    assert http_request("POST", gw.url("/_gateway/reset"), json_body={"routes": ["emm"]}).status == 200
    token = _ok(
        _form(
            base + "/oauth2/token", {"grant_type": "password", "username": "admin", "password": "admin-demo"}
        )
    )
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    created = http_request(
        "POST",
        gw.url("/_gateway/faults"),
        json_body={
            "route": "emm",
            "methods": ["DELETE"],
            "action": "unavailable",
            "when": "after",
            "times": 1,
        },
    )
    assert created.status == 201
    assert "kim" in emm_users(gw)
    lost = http_request("DELETE", base + "/mdm-admin/users?username=kim", headers=bearer)
    assert lost.status == 503
    assert "kim" not in emm_users(gw)  # the service did its work; only the answer was lost
    [entry] = journal(gw, method="DELETE")
    assert (entry["refused"], entry["fault"], entry["status"]) == ("fault", created.json()["id"], 503)
    assert entry["upstream"] is not None
    assert http_request("POST", gw.url("/_gateway/reset"), json_body={"routes": ["emm"]}).status == 200
    assert "kim" in emm_users(gw)
    assert journal(gw, route="emm") == []


def test_reset_puts_every_service_back_and_ends_sessions(gw):
    base = gw.gateway.url
    grant = _ok(
        _form(
            base + "/oauth2/token", {"grant_type": "password", "username": "admin", "password": "admin-demo"}
        )
    )
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert http_request("DELETE", base + "/mdm-admin/users?username=kim", headers=bearer).status == 200
    before = _ok(http_request("GET", gw.url("/_gateway/state")))

    reset = http_request("POST", gw.url("/_gateway/reset"), json_body={"routes": ROUTES})
    assert (reset.status, reset.json()) == (200, {"reset": ROUTES})
    assert journal(gw) == []
    assert http_request("GET", base + "/mdm-admin/users/count", headers=bearer).status == 401
    after = _ok(http_request("GET", gw.url("/_gateway/state")))["routes"]
    assert set(after) == set(before["routes"]) == set(ROUTES)
    assert "kim" in [row["username"] for row in after["emm"]["tables"]["emm_users"]]


def test_state_round_trips_and_a_bad_document_restores_nothing(gw):
    http_request("POST", gw.url("/_gateway/reset"), json_body={"routes": ROUTES})
    saved = _ok(http_request("GET", gw.url("/_gateway/state")))
    base = gw.gateway.url
    grant = _ok(
        _form(
            base + "/oauth2/token", {"grant_type": "password", "username": "admin", "password": "admin-demo"}
        )
    )
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert http_request("DELETE", base + "/mdm-admin/users?username=kim", headers=bearer).status == 200
    changed = _ok(http_request("GET", gw.url("/_gateway/state")))

    document = {
        "routes": {"emm": saved["routes"]["emm"], "agenda": {**saved["routes"]["agenda"], "schema": "x"}}
    }
    refused = http_request("PUT", gw.url("/_gateway/state"), json_body=document)
    assert refused.status == 400 and refused.json()["message"].startswith("routes.agenda.schema")
    assert _ok(http_request("GET", gw.url("/_gateway/state")))["routes"]["emm"] == changed["routes"]["emm"]

    restored = http_request(
        "PUT", gw.url("/_gateway/state"), json_body={"routes": {"emm": saved["routes"]["emm"]}}
    )
    assert (restored.status, restored.json()) == (200, {"restored": ["emm"]})
    assert _ok(http_request("GET", gw.url("/_gateway/state")))["routes"]["emm"] == saved["routes"]["emm"]


def test_a_service_that_cannot_be_reset_is_named(emulator, stack):
    routes = [r for r in stack.gateway_config()["routes"] if r["name"] == "emm"]
    routes.append(
        {
            **routes[0],
            "name": "gone",
            "prefixes": ["/gone/"],
            "upstreams": [f"http://127.0.0.1:{free_port()}"],
        }
    )
    gateway = start_gateway(stack, routes, "emulator-gateway-gone")
    try:
        response = http_request("POST", gateway.url + "/_gateway/reset")
        assert response.status == 502
        assert response.json()["failed"] == ["gone"] and response.json()["message"]
    finally:
        gateway.stop()


def test_reset_clears_the_routes_counters_in_redis(emulator, stack):
    routes = [
        {**r, "rate_limits": ["3/minute"]}
        for r in stack.gateway_config()["routes"]
        if r["name"] in ("emm", "agenda")
    ]
    gateway = start_gateway(stack, routes, "emulator-gateway-limits")
    try:
        for path in ("/mdm-admin/users/count", "/AktionNEXT/API/user/getAll"):
            fourth = [http_request("GET", gateway.url + path) for _ in range(4)][-1]
            assert "Retry-After" in fourth.headers  # over the limit: refused
        assert (
            http_request("POST", gateway.url + "/_gateway/reset", json_body={"routes": ["emm"]}).status == 200
        )
        fresh = http_request("GET", gateway.url + "/mdm-admin/users/count")
        assert fresh.headers.get("RateLimit-Remaining") == "2"  # emm counts afresh
        still = http_request("GET", gateway.url + "/AktionNEXT/API/user/getAll")
        assert still.headers.get("RateLimit-Remaining") == "0"  # agenda's counter was kept
    finally:
        gateway.stop()
