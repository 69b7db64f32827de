"""A client that hangs up before its answer still leaves its request in the journal and the access log.

Its request may have reached the service (a fault ``after`` holds back an
answer whose write is done), so an emulator user reading the journal must see
it: the entry has nginx's status 499 ("client closed request") and the fault
that applied.
"""

from __future__ import annotations

import socket
import time

import pytest
from gwsupport import counting, echo_app, route, serve

from vendorkit.testing import http_request

ADMIN = {"admin": {"enabled": True, "allow": ["127.0.0.1/32"]}, "journal": {"capacity": 100}}


def hang_up_after(gateway_port: int, target: str, seconds: float) -> None:
    """Send ``DELETE target`` and close the connection after ``seconds``, before any answer."""
    with socket.create_connection(("127.0.0.1", gateway_port)) as connection:
        connection.sendall(f"DELETE {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        time.sleep(seconds)


def journal(gateway) -> list[dict]:
    answer = http_request("GET", f"{gateway.url}/_gateway/requests?method=DELETE")
    assert answer.status == 200, answer.text
    return answer.json()["requests"]


def wait_for_entry(gateway) -> dict:
    deadline = time.monotonic() + 5
    while not (found := journal(gateway)):
        assert time.monotonic() < deadline, "the request never reached the journal"
        time.sleep(0.05)
    [entry] = found
    return entry


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_request_whose_client_left_is_journaled_499_with_its_fault(gateways, workers, when):
    app = counting(echo_app)
    with serve(app=app) as upstream:
        gateway = gateways({"routes": [route("wipe", upstreams=[upstream])], **ADMIN}, workers=workers)
        fault = http_request(
            "POST",
            f"{gateway.url}/_gateway/faults",
            json_body={"route": "wipe", "action": "timeout", "delay_ms": 3000, "when": when},
        ).json()
        hang_up_after(gateway.port, "/api/v1/users/3", 0.5)
        entry = wait_for_entry(gateway)
    assert (entry["status"], entry["fault"], entry["refused"]) == (499, fault["id"], "fault")
    assert (entry["method"], entry["path"]) == ("DELETE", "/api/v1/users/3")
    # ``after``: the service did the work the client never heard about; ``before``: it never saw it.
    assert app.hits == (1 if when == "after" else 0)
    log = gateway.log_path.read_text()
    assert '"status": 499' in log or '"status":499' in log


def test_a_client_leaving_a_slow_service_is_journaled_499(gateways):
    @counting
    def slow_app(environ, start_response):
        time.sleep(2)
        return echo_app(environ, start_response)

    with serve(app=slow_app) as upstream:
        gateway = gateways({"routes": [route("wipe", upstreams=[upstream])], **ADMIN})
        hang_up_after(gateway.port, "/api/v1/users/4", 0.3)
        entry = wait_for_entry(gateway)
    assert (entry["status"], entry["fault"], entry["refused"]) == (499, None, None)
