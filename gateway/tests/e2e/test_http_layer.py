"""What the gateway's HTTP layer refuses, slow and stalled clients, and how workers and Redis trouble behave."""

import http.client
import json
import os
import signal
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gwsupport import route

from vendorkit.testing import RedisServer, http_request

# The gateway's header and body read timeouts, and some slack for a loaded machine.
READ_TIMEOUT = 5.0
SLACK = 3.0


@pytest.fixture
def gateway(gateways, echo):
    """One gateway: a grommunio route on /api/v1/ and a dnl route on /v1/."""
    return gateways(
        {
            "routes": [
                route(upstreams=[echo], rate_limits=["100000/second"]),
                route("bulkuser", prefixes=["/v1/"], dialect="dnl", upstreams=[echo]),
            ],
            "max_body_bytes": 4096,
        }
    )


def exchange(port: int, raw: bytes, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the gateway closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def request_bytes(target="/api/v1/x", headers=(), method="GET", body=b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: gw"] + [f"{n}: {v}" for n, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


CASES = {
    "9,000-character URL": (request_bytes("/api/v1/" + "a" * 9000), 414),
    "16 KiB header": (request_bytes(headers=[("X-Big", "b" * 16384)]), 431),
    "101 headers": (request_bytes(headers=[(f"X-H{i}", "v") for i in range(101)]), 431),
    "80 KiB of headers in all": (request_bytes(headers=[(f"X-H{i}", "v" * 8000) for i in range(10)]), 431),
    "duplicate Content-Length": (
        request_bytes(method="POST", headers=[("Content-Length", "2"), ("Content-Length", "2")], body=b"{}"),
        400,
    ),
    "negative Content-Length": (request_bytes(method="POST", headers=[("Content-Length", "-2")]), 400),
    "Content-Length with Transfer-Encoding": (
        request_bytes(
            method="POST",
            headers=[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
            body=b"0\r\n\r\n",
        ),
        400,
    ),
    "NUL byte in a header": (request_bytes(headers=[("X-Bad", "a\x00b")]), 400),
    "DEL byte in a header": (request_bytes(headers=[("X-Bad", "a\x7fb")]), 400),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_the_http_layer_refuses_is_answered_in_the_routes_json_envelope(gateway, case):
    raw, status = CASES[case]
    answer_status, headers, body = exchange(gateway.port, raw)
    assert answer_status == status
    assert headers["content-type"].startswith("application/json")
    assert set(json.loads(body)) == {"message"}  # the grommunio route's envelope
    assert headers["connection"] == "close"


def test_a_refusal_outside_any_route_is_neutral_and_one_on_a_dnl_route_is_dnls(gateway):
    status, _headers, body = exchange(gateway.port, request_bytes("/nowhere/" + "a" * 9000))
    assert (status, json.loads(body)) == (414, {"message": "Request-URI too long"})
    status, _headers, body = exchange(
        gateway.port, request_bytes("/v1/user", headers=[("X-Big", "b" * 16384)])
    )
    assert status == 431
    assert json.loads(body)["success"] is False


def test_more_headers_than_a_service_accepts_are_refused_at_the_gateway(gateway):
    # The gateway adds X-Forwarded-* and X-Request-ID; 96 client headers would
    # take the forwarded request past the 100 a service accepts.
    many = {f"X-Header-{i}": "v" for i in range(96)}
    refused = http_request("GET", f"{gateway.url}/api/v1/x", headers=many)
    assert refused.status == 431
    assert refused.json() == {"message": "Request header fields too large"}
    fewer = {f"X-Header-{i}": "v" for i in range(80)}
    passed = http_request("GET", f"{gateway.url}/api/v1/x", headers=fewer)
    assert passed.status == 200
    assert passed.json()["headers"]["X-Header-79"] == "v"


def test_headers_that_never_finish_are_cut_off_with_a_408(gateway):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(b"GET /api/v1/x HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        data = sock.recv(65536)
    waited = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 ")
    assert READ_TIMEOUT - 0.5 <= waited <= READ_TIMEOUT + SLACK
    assert b"application/json" in data


def test_a_chunked_body_whose_chunk_never_arrives_is_cut_off_with_a_408(gateway):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/user HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly half"
        )
        data = sock.recv(65536)
    assert READ_TIMEOUT - 0.5 <= time.monotonic() - started <= READ_TIMEOUT + SLACK
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["error"]["code"] == 408  # the dnl route's envelope


def test_pipelined_requests_are_answered_in_order(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as sock:
        sock.sendall(
            request_bytes("/api/v1/first", headers=[("Connection", "keep-alive")])
            + request_bytes("/api/v1/second", headers=[("Connection", "close")])
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.index(b'"/api/v1/first"') < data.index(b'"/api/v1/second"')


def test_expect_100_continue_is_answered_before_the_body_is_sent(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as sock:
        sock.sendall(
            request_bytes(
                "/api/v1/x",
                method="POST",
                headers=[("Content-Length", "2"), ("Expect", "100-continue"), ("Connection", "close")],
            )
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"{}")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    echoed = json.loads(body)
    assert echoed["body"] == "{}"
    assert "Expect" not in echoed["headers"]


def test_head_answers_carry_the_upstreams_length_and_no_body(gateway):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.request("HEAD", "/api/v1/x")
    response = connection.getresponse()
    assert response.status == 200
    assert int(response.headers["Content-Length"]) > 0
    assert response.read() == b""
    connection.request("GET", "/api/v1/x")  # the connection is still usable
    assert connection.getresponse().status == 200
    connection.close()


def test_trickling_clients_cost_the_others_nothing(gateway):
    stop = threading.Event()

    def trickle():
        # One byte a second, for as long as the gateway lets it.
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
            for byte in b"GET /api/v1/x HTTP/1.1\r\nHost: gw\r\nX-Slow: abcdefghijklmnopqrstuvwxyz":
                if stop.is_set():
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    return
                stop.wait(1.0)

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(64)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every trickler connected and sending
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    latencies, statuses = [], []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection.request("GET", "/api/v1/x")
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses.append(response.status)
    connection.close()
    stop.set()
    for thread in threads:
        thread.join(5)
    assert len(statuses) > 50 and set(statuses) == {200}
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 0.050, f"p99 {p99 * 1000:.1f} ms over {len(latencies)} requests"


def test_several_workers_count_as_one_gateway(gateways, echo):
    gateway = gateways({"routes": [route(upstreams=[echo])]}, workers=2)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: http_request("GET", f"{gateway.url}/api/v1/x").status, range(40)))
    assert statuses == [200] * 40
    # Whichever worker answers, the metrics add up every worker's requests.
    for _ in range(4):
        metrics = http_request("GET", f"{gateway.url}/_gateway/metrics").text
        assert 'gateway_requests_total{route="wipe",status="200"} 40.0' in metrics


def test_a_stalled_redis_costs_a_timeout_to_few_requests(gateways, echo):
    redis = RedisServer()
    redis.start()
    try:
        gateway = gateways(
            {
                "routes": [route(upstreams=[echo], rate_limits=["100000/minute"])],
                "rate_limit_storage": redis.url,
            }
        )
        assert "RateLimit-Limit" in http_request("GET", f"{gateway.url}/api/v1/x").headers
        os.kill(redis.process.pid, signal.SIGSTOP)  # stopped, not dead: connections hang
        try:
            durations = []
            for _ in range(30):
                started = time.monotonic()
                response = http_request("GET", f"{gateway.url}/api/v1/x")
                durations.append(time.monotonic() - started)
                assert response.status == 200
        finally:
            os.kill(redis.process.pid, signal.SIGCONT)
        slow = [d for d in durations if d > 0.2]
        assert len(slow) <= 2, durations
        # Redis back: the limit headers return without a restart.
        deadline = time.monotonic() + 5
        while "RateLimit-Limit" not in http_request("GET", f"{gateway.url}/api/v1/x").headers:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        redis.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_the_requests_in_flight_finish_then_exits_cleanly(gateways, echo, workers):
    gateway = gateways({"routes": [route(upstreams=[echo])]}, workers=workers)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(http_request, "GET", f"{gateway.url}/api/v1/slow?seconds=1")
        time.sleep(0.4)  # the request is with the upstream
        gateway.process.send_signal(signal.SIGTERM)
        assert slow.result(10).status == 200
    assert gateway.process.wait(10) == 0
    with pytest.raises(OSError):
        http_request("GET", f"{gateway.url}/_gateway/healthz", timeout=2)
