"""mock_vendors(), the in-process mode, used as a client's test suite would: plain requests, cvpysdk, no socket."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import socket
import time

import pytest
import requests
from cvpysdk.commcell import Commcell
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from vendorkit.pytest_plugin import VendorStackError, mock_vendors

GATEWAY = "http://127.0.0.1:8080"
# The `make run` base URLs (svc-leaver's demo configuration) and the demo accounts.
MAKE_RUN_URLS = {
    "wipe": f"{GATEWAY}/api/v1",
    "bulkuser": f"{GATEWAY}/v1",
    "offboard": f"{GATEWAY}/webconsole/api",
    "emm": GATEWAY,
    "agenda": f"{GATEWAY}/AktionNEXT/API",
}
SECRETS = ("admin-demo", "api-demo-key", base64.b64encode(b"admin-demo").decode())
COMMVAULT_PASSWORD = base64.b64encode(b"admin-demo").decode()


def remove_leaver(
    urls: dict[str, str], session: requests.Session | None = None
) -> dict[str, requests.Response]:
    """A leaver's accounts (demo users of each vendor) removed, the way a client of the five APIs does it."""
    http = session or requests.Session()
    done = {}

    login = http.post(f"{urls['wipe']}/login", data={"user": "admin", "pass": "admin-demo"}, timeout=10)
    login.raise_for_status()
    done["wipe"] = http.post(
        f"{urls['wipe']}/service/wipe/alice@example.com",
        json={"status": 2, "password": "admin-demo"},
        headers={
            "Cookie": f"grommunioAuthJwt={login.json()['grommunioAuthJwt']}",
            "X-Csrf-Token": login.json()["csrf"],
        },
        timeout=10,
    )

    login = http.post(
        f"{urls['bulkuser']}/auth", json={"email_or_name": "admin", "password": "admin-demo"}, timeout=10
    )
    login.raise_for_status()
    done["bulkuser"] = http.delete(
        f"{urls['bulkuser']}/user/all",
        params={"email": "client1@example.com"},
        headers={"X-Auth-Token": login.json()["payload"]["token"]},
        timeout=10,
    )

    login = http.post(
        f"{urls['offboard']}/Login",
        json={"username": "admin", "password": COMMVAULT_PASSWORD},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    login.raise_for_status()
    done["offboard"] = http.post(
        f"{urls['offboard']}/User/Offboard",
        json={"userName": "kim"},
        headers={"Accept": "application/json", "Authtoken": login.json()["token"]},
        timeout=10,
    )

    login = http.post(
        f"{urls['emm']}/oauth2/token",
        data={"grant_type": "password", "username": "admin", "password": "admin-demo"},
        timeout=10,
    )
    login.raise_for_status()
    done["emm"] = http.delete(
        f"{urls['emm']}/mdm-admin/users",
        params={"username": "kim"},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )

    login = http.post(
        f"{urls['agenda']}/login",
        json={"UserLogin": "api", "ApiKey": "api-demo-key"},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    login.raise_for_status()
    done["agenda"] = http.post(
        f"{urls['agenda']}/user/remove",
        params={"Token": login.json()["Token"]},
        json={"LoginName": "John.Doo"},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    return done


def commvault_login(base: str = MAKE_RUN_URLS["offboard"], timeout: float = 10) -> requests.Response:
    return requests.post(
        f"{base}/Login",
        json={"username": "admin", "password": COMMVAULT_PASSWORD},
        headers={"Accept": "application/json"},
        timeout=timeout,
    )


def test_a_client_removes_a_leaver_at_the_five_vendors_and_the_journal_keeps_no_secret():
    with mock_vendors() as vendors:
        done = remove_leaver(MAKE_RUN_URLS)

        assert {route: answer.status_code for route, answer in done.items()} == {
            "wipe": 201,
            "bulkuser": 200,
            "offboard": 200,
            "emm": 200,
            "agenda": 200,
        }
        assert done["bulkuser"].json()["payload"]["deleted"] == 1
        assert done["offboard"].json()["errorCode"] == 0
        # The answers went through the gateway: its request id and rate-limit headers are on them.
        assert all("X-Request-ID" in answer.headers for answer in done.values())
        assert all("RateLimit-Limit" in answer.headers for answer in done.values())

        journal = vendors.requests()
        assert [(entry["route"], entry["method"]) for entry in reversed(journal)] == [
            ("wipe", "POST"),
            ("wipe", "POST"),
            ("bulkuser", "POST"),
            ("bulkuser", "DELETE"),
            ("offboard", "POST"),
            ("offboard", "POST"),
            ("emm", "POST"),
            ("emm", "DELETE"),
            ("agenda", "POST"),
            ("agenda", "POST"),
        ]
        assert {entry["upstream"] for entry in journal} == {f"http://svc-{route}" for route in MAKE_RUN_URLS}
        [login] = vendors.requests(route="offboard", path="/webconsole/api/Login")
        assert json.loads(login["request"]["body"])["password"] == "[redacted]"
        assert json.loads(login["response"]["body"])["token"] == "[redacted]"
        written = json.dumps(journal)
        for secret in (*SECRETS, login_token(done)):
            assert secret not in written

        # The removals happened in the services' data: kim (user 5) owns no Commvault client any more.
        owners = vendors.state()["routes"]["offboard"]["tables"]["client_owners"]
        assert owners and 5 not in {owner["user_id"] for owner in owners}


def faults_set() -> list[dict]:
    return requests.get(f"{GATEWAY}/_gateway/faults", timeout=10).json()["faults"]


def login_token(done: dict[str, requests.Response]) -> str:
    # The Commvault token the client sent, as it appears in the request that offboarded kim.
    return done["offboard"].request.headers["Authtoken"]


def test_no_socket_is_opened_and_other_urls_pass_through(monkeypatch):
    connected = []

    def refuse(sock, address, *args):
        connected.append(address)
        raise ConnectionRefusedError("a socket was connected")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    with mock_vendors() as vendors:
        assert commvault_login().status_code == 200
        vendors.reset("offboard")
        assert vendors.state()["routes"]["offboard"]["service"] == "offboard"
        assert connected == []
        # A URL that is no vendor's goes to requests' own transport, which connects a socket.
        with pytest.raises(requests.ConnectionError, match="a socket was connected"):
            requests.get("http://127.0.0.1:9/elsewhere", timeout=1)
    assert connected == [("127.0.0.1", 9)]


def test_unavailable_twice_then_the_answer_in_the_vendors_envelope():
    offboard = f"{MAKE_RUN_URLS['offboard']}/User/Offboard"
    with mock_vendors() as vendors:
        token = commvault_login().json()["token"]
        headers = {"Accept": "application/json", "Authtoken": token}
        with vendors.fault(
            route="offboard", path="/webconsole/api/User/Offboard", action="unavailable", times=2
        ) as fault:
            answers = [
                requests.post(offboard, json={"userName": "kim"}, headers=headers, timeout=10)
                for _ in range(3)
            ]
        assert [answer.status_code for answer in answers] == [503, 503, 200]
        # Commvault's own envelope, not the gateway's.
        assert answers[0].json() == {"errorCode": 2, "errorMessage": "Service unavailable"}
        assert answers[2].json()["errorCode"] == 0
        entries = vendors.requests(path="/webconsole/api/User/Offboard")
        assert [(entry["status"], entry["fault"]) for entry in entries] == [
            (200, None),
            (503, fault.id),
            (503, fault.id),
        ]


def test_a_reset_fault_is_a_connection_error_and_a_timeout_a_read_timeout_or_a_504():
    with mock_vendors() as vendors:
        with (
            vendors.fault(route="offboard", action="reset", times=1),
            pytest.raises(requests.ConnectionError, match="Remote end closed connection"),
        ):
            commvault_login()
        assert commvault_login().status_code == 200

        with vendors.fault(route="offboard", action="timeout", delay_ms=1500, times=1):
            started = time.monotonic()
            with pytest.raises(requests.exceptions.ReadTimeout):
                commvault_login(timeout=0.3)
            assert time.monotonic() - started < 1.0

        with vendors.fault(route="offboard", action="timeout", delay_ms=200, times=1):
            late = commvault_login()
        assert late.status_code == 504
        assert "errorCode" in late.json()

        with vendors.fault(route="offboard", action="delay", delay_ms=300, times=1):
            started = time.monotonic()
            assert commvault_login().status_code == 200
            assert time.monotonic() - started >= 0.3


def test_a_refusal_of_the_gateway_comes_in_the_vendors_envelope():
    with mock_vendors() as vendors, vendors.fault(route="agenda", action="bad_gateway"):
        answer = requests.post(
            f"{MAKE_RUN_URLS['agenda']}/login",
            json={"UserLogin": "api", "ApiKey": "api-demo-key"},
            headers={"Accept": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 502
        assert answer.headers["Content-Type"].startswith("application/json")
        [entry] = vendors.requests(route="agenda")
        assert entry["refused"] == "fault"
        assert "api-demo-key" not in json.dumps(entry)
    # Outside any route the gateway answers in its own JSON.
    with mock_vendors():
        assert requests.get(f"{GATEWAY}/nowhere", timeout=10).json() == {"message": "No route for /nowhere"}


def test_state_restore_and_reset():
    with mock_vendors() as vendors:
        before = vendors.state()
        assert remove_leaver(MAKE_RUN_URLS)["offboard"].json()["errorCode"] == 0
        after = vendors.state()
        assert after != before

        assert vendors.restore(before) == list(MAKE_RUN_URLS)
        restored = vendors.state()
        assert restored["routes"]["offboard"]["tables"] == before["routes"]["offboard"]["tables"]

        remove_leaver(MAKE_RUN_URLS)
        assert vendors.reset() == list(MAKE_RUN_URLS)
        assert vendors.requests() == []
        assert remove_leaver(MAKE_RUN_URLS)["bulkuser"].json()["payload"]["deleted"] == 1


def test_each_block_starts_from_the_demo_data_with_an_empty_journal_and_no_session():
    with mock_vendors() as vendors:
        remove_leaver(MAKE_RUN_URLS)
        vendors.fault(route="offboard", action="unavailable")  # left in place when the block ends
        assert commvault_login().status_code == 503
    with mock_vendors():
        token = commvault_login().json()["token"]
        users = f"{MAKE_RUN_URLS['offboard']}/User"
        headers = {"Accept": "application/json", "Authtoken": token}
        assert requests.get(users, headers=headers, timeout=10).status_code == 200
    started = time.monotonic()
    with mock_vendors() as vendors:
        entered = time.monotonic() - started
        assert vendors.requests() == []
        assert vendors.state()["routes"]["offboard"]["tables"]["tokens"] == []
        assert requests.get(users, headers=headers, timeout=10).status_code == 401
        assert remove_leaver(MAKE_RUN_URLS)["bulkuser"].json()["payload"]["deleted"] == 1
    # The apps are built once per process; a later block resets each before its first use.
    assert entered < 1.0


def test_base_urls_given_by_route():
    urls = {
        **MAKE_RUN_URLS,
        "offboard": "https://cv.example.com/webconsole/api",
        "agenda": "https://aktion.example.com/api/",
        "emm": "http://emm.example.com:9443",
    }
    with mock_vendors(offboard=urls["offboard"], agenda=urls["agenda"], emm=urls["emm"]) as vendors:
        assert vendors.base_urls == {**urls, "agenda": "https://aktion.example.com/api/"}
        done = remove_leaver({**urls, "agenda": urls["agenda"].rstrip("/")})
        assert all(answer.ok for answer in done.values())
        # The gateway sees the `make run` paths, and the client's Host.
        [login] = vendors.requests(route="agenda", path="/AktionNEXT/API/login")
        assert login["request"]["headers"]["host"] == "aktion.example.com"
        assert vendors.requests(route="emm", path="/oauth2/token")[0]["request"]["headers"]["host"] == (
            "emm.example.com:9443"
        )
        # The `make run` URL of a route stays served too; another port or path of a given host is not ours.
        assert commvault_login().status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get("https://cv.example.com/elsewhere/api/Login", timeout=2)


def test_cvpysdk_unchanged_at_a_base_url_of_its_own():
    # cvpysdk probes https://<host>/commandcenter/api first: here it answers, in process.
    with mock_vendors(offboard="https://commserv.example.com/commandcenter/api") as vendors:
        commcell = Commcell("commserv.example.com", "admin", "admin-demo")
        assert commcell._web_service == "https://commserv.example.com/commandcenter/api/"
        assert commcell.users.has_user("kim")
        commcell.users.delete("kim", new_user="admin")
        assert not commcell.users.has_user("kim")
        commcell.logout()
        paths = [entry["path"] for entry in vendors.requests(method="DELETE")]
        assert paths == ["/commandcenter/api/User/5"]


def test_as_a_decorator_with_or_without_parentheses():
    @mock_vendors()
    def with_parentheses():
        return commvault_login().status_code

    @mock_vendors
    def without_parentheses():
        return commvault_login().status_code

    send = requests.adapters.HTTPAdapter.send
    assert with_parentheses() == 200
    assert without_parentheses() == 200
    assert with_parentheses() == 200  # the same decorator, entered again
    assert requests.adapters.HTTPAdapter.send is send


@mock_vendors
def test_a_decorated_test():
    assert commvault_login().json()["userName"] == "admin"


def test_wrong_uses_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'commvault'"):
        mock_vendors(commvault="https://cv.example.com/webconsole/api")
    with pytest.raises(ValueError, match="offboard: expected an http:// or https:// URL"):
        mock_vendors(offboard="cv.example.com/webconsole/api")
    with mock_vendors():
        with pytest.raises(VendorStackError, match="already active"), mock_vendors():
            pass
        # The refused block left the active one alone.
        assert commvault_login().status_code == 200
    with (
        mock_vendors() as vendors,
        pytest.raises(VendorStackError, match="action: expected one of") as refused,
    ):
        vendors.fault(route="offboard", action="explode")
    assert refused.value.status == 400
    # After its block the object serves nothing, and says so.
    with pytest.raises(VendorStackError, match="no mock_vendors\\(\\) block is running"):
        vendors.requests()


def test_a_delay_holds_up_its_own_caller_only_and_urllib3_retries_work_as_over_a_socket():
    with mock_vendors() as vendors:
        delay = vendors.fault(
            route="offboard", path="/webconsole/api/Login", action="delay", delay_ms=1500, times=1
        )
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow = pool.submit(commvault_login)
            # Once used, the fault is gone from the list: the slow call is waiting in the gateway.
            while any(fault["id"] == delay.id for fault in faults_set()):
                time.sleep(0.01)
            started = time.monotonic()
            assert requests.get(f"{GATEWAY}/_gateway/healthz", timeout=10).status_code == 200
            assert time.monotonic() - started < 1.0
            assert not slow.done()
            assert slow.result().status_code == 200

        # A session retrying 503s (urllib3's Retry) sees its retries happen, as against the real stack.
        session = requests.Session()
        session.mount(
            "http://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503], allowed_methods=None))
        )
        with vendors.fault(route="offboard", path="/webconsole/api/Login", action="unavailable", times=2):
            answer = session.post(
                f"{MAKE_RUN_URLS['offboard']}/Login",
                json={"username": "admin", "password": COMMVAULT_PASSWORD},
                headers={"Accept": "application/json"},
                timeout=10,
            )
        assert answer.status_code == 200
        assert [entry["status"] for entry in vendors.requests(path="/webconsole/api/Login")] == [
            200,
            503,
            503,
            200,
        ]
