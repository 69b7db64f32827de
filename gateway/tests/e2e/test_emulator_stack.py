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


def emm_grant(base: str) -> dict:
    """EMM's answer to the demo admin's password grant, asked through the gateway at ``base``."""
    return _ok(
        _form(
            base + "/oauth2/token", {"grant_type": "password", "username": "admin", "password": "admin-demo"}
        )
    )


def emm_bearer(base: str) -> dict[str, str]:
    """The Authorization header of a new EMM admin session, through the gateway at ``base``."""
    return {"Authorization": f"Bearer {emm_grant(base)['access_token']}"}


def remove_kim(base: str) -> dict[str, str]:
    """Remove EMM's demo user kim through the gateway at ``base`` (a change the state shows); the session used."""
    bearer = emm_bearer(base)
    assert http_request("DELETE", base + "/mdm-admin/users?username=kim", headers=bearer).status == 200
    return bearer


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

    emm = emm_grant(base)
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
    bearer = emm_bearer(base)
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
    bearer = remove_kim(base)
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
    remove_kim(gw.gateway.url)
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


MAKE_RUN_ROUTES = ["wipe", "bulkuser", "offboard", "emm", "agenda", "leaver"]


def test_the_make_run_configuration_serves_the_admin_api_to_loopback_without_a_token(stack):
    # The shared stack's gateway runs the `make run` file (gateway/src/gateway/demo.yaml), pointed at its ports.
    assert [r["name"] for r in stack.gateway_config()["routes"]] == MAKE_RUN_ROUTES
    for name in MAKE_RUN_ROUTES:
        assert http_request("GET", stack.url(f"/_gateway/requests?route={name}&limit=1")).status == 200
    unknown = http_request("GET", stack.url("/_gateway/requests?route=nope"))
    assert (unknown.status, unknown.json()) == (
        400,
        {"message": f"route: expected one of {', '.join(MAKE_RUN_ROUTES)}"},
    )
    assert http_request("GET", stack.url("/_gateway/faults"), source="127.0.0.2").status == 403


def test_a_reset_of_some_routes_keeps_the_others_journal_and_faults_and_a_whole_reset_is_quick(gw):
    for path in ("/mdm-admin/users/count", "/AktionNEXT/API/user/getAll", "/nowhere"):
        http_request("GET", gw.url(path))
    kept = http_request(
        "POST",
        gw.url("/_gateway/faults"),
        json_body={"route": "agenda", "action": "unavailable", "path": "/AktionNEXT/API/none"},
    ).json()
    http_request(
        "POST",
        gw.url("/_gateway/faults"),
        json_body={"route": "emm", "action": "unavailable", "path": "/mdm-admin/none"},
    )

    reset = http_request("POST", gw.url("/_gateway/reset"), json_body={"routes": ["emm"]})
    assert (reset.status, reset.json()) == (200, {"reset": ["emm"]})
    assert [e["route"] for e in journal(gw)] == [None, "agenda"]
    assert _ok(http_request("GET", gw.url("/_gateway/faults")))["faults"] == [kept | {"hits": 0}]

    # Without a body: every route's service, the whole journal (unrouted requests too), every fault.
    durations = []
    for _ in range(5):
        started = time.monotonic()
        whole = http_request("POST", gw.url("/_gateway/reset"))
        durations.append(time.monotonic() - started)
        assert (whole.status, whole.json()) == (200, {"reset": ROUTES})
    assert journal(gw) == []
    assert _ok(http_request("GET", gw.url("/_gateway/faults"))) == {"faults": []}
    assert sorted(durations)[2] < 0.5, durations  # "well under a second" for the five services at once


def test_the_service_token_reaches_the_services_admin_paths_and_the_environment_wins(stack, tmp_path):
    service_settings = {"ADMIN_API": "1", "ADMIN_TOKEN": "svc-admin-token"}
    with stack.private("emm", tmp_path, "svc_emm_service_token", **service_settings) as (service, _gateway):
        routes = [
            {**r, "upstreams": [service.url]} for r in stack.gateway_config()["routes"] if r["name"] == "emm"
        ]

        def gateway(name: str, service_token: str | None, **env: str) -> ServerProcess:
            config = {**stack.gateway_config(), "routes": routes, "rate_limit_storage": "memory://"}
            config["admin"] = {"enabled": True, "service_token": service_token}
            path = stack.write_gateway_config(config, f"{name}.yaml")
            return ServerProcess(
                "gateway:create_app()",
                env={"GATEWAY_CONFIG": str(path), "RATELIMIT_STORAGE_URL": "memory://", **env},
                log_path=tmp_path / f"{name}.log",
            ).start()

        started = [
            gateway("token-in-file", "svc-admin-token"),
            gateway("token-in-env", "wrong", GATEWAY_SERVICE_ADMIN_TOKEN="svc-admin-token"),
            gateway("no-token", None),
        ]
        try:
            for accepted in started[:2]:
                reset = http_request("POST", accepted.url + "/_gateway/reset")
                assert (reset.status, reset.json()) == (200, {"reset": ["emm"]})
                state = http_request("GET", accepted.url + "/_gateway/state")
                assert state.status == 200 and state.json()["routes"]["emm"]["service"] == "emm"
            refused = http_request("POST", started[2].url + "/_gateway/reset")
            assert refused.status == 502 and refused.json()["failed"] == ["emm"]
            assert http_request("GET", started[2].url + "/_gateway/state").status == 502
        finally:
            for process in started:
                process.stop()


def test_the_six_routes_of_make_run_reset_and_report_their_state_together(emulator, stack):
    stack.start("leaver", ADMIN_API="1")
    routes = [r for r in stack.gateway_config()["routes"] if r["name"] in MAKE_RUN_ROUTES]
    gateway = start_gateway(stack, routes, "emulator-gateway-six")
    try:
        reset = http_request("POST", gateway.url + "/_gateway/reset")
        assert (reset.status, reset.json()) == (200, {"reset": MAKE_RUN_ROUTES})
        state = _ok(http_request("GET", gateway.url + "/_gateway/state"))
        assert {name: part["service"] for name, part in state["routes"].items()} == dict(
            zip(MAKE_RUN_ROUTES, MAKE_RUN_ROUTES, strict=True)
        )
        restored = http_request("PUT", gateway.url + "/_gateway/state", json_body=state)
        assert (restored.status, restored.json()) == (200, {"restored": MAKE_RUN_ROUTES})
    finally:
        gateway.stop()
        stack.services["leaver"].stop()  # later modules start it with its usual settings


def test_a_document_a_later_service_refuses_restores_nothing(gw):
    assert http_request("POST", gw.url("/_gateway/reset")).status == 200
    saved = _ok(http_request("GET", gw.url("/_gateway/state")))["routes"]
    remove_kim(gw.gateway.url)
    changed = _ok(http_request("GET", gw.url("/_gateway/state")))["routes"]

    # Right service and schema, so the gateway writes emm's part; svc-agenda then refuses its own part.
    agenda = json.loads(json.dumps(saved["agenda"]))
    table = next(name for name, rows in agenda["tables"].items() if rows)
    agenda["tables"][table][0]["no_such_column"] = 1
    refused = http_request(
        "PUT", gw.url("/_gateway/state"), json_body={"routes": {"emm": saved["emm"], "agenda": agenda}}
    )
    assert refused.status == 400 and refused.json()["message"].startswith("routes.agenda:")
    now = _ok(http_request("GET", gw.url("/_gateway/state")))["routes"]
    assert (now["emm"], now["agenda"]) == (changed["emm"], changed["agenda"])
