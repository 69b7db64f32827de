"""Upstream failures, replicas, failover, DNS re-resolution and the body limit."""

import http.server
import socket
import threading
import time

import pytest
from gwsupport import counting, echo_app, route, serve

from vendorkit.testing import free_port

DEAD = "http://127.0.0.1:{port}"


def dead_upstream() -> str:
    return DEAD.format(port=free_port())


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("grommunio", {"message": "Upstream service unavailable"}),
        (
            "dnl",
            {
                "error_type": "operation_error",
                "success": False,
                "error": {
                    "message": "Upstream service unavailable",
                    "code": 502,
                    "reason": "upstream_unavailable",
                },
            },
        ),
        ("commvault", {"errorCode": 502, "errorMessage": "Upstream service unavailable"}),
        ("wso2", {"errorMessage": "Upstream service unavailable"}),
        (
            "aktion",
            {
                "Result": {
                    "Message": "Db operation failed, operation can not be executed because another problems occured",
                    "Code": 7,
                    "ModelStateErr": None,
                },
                "Request": None,
            },
        ),
    ],
)
def test_a_dead_upstream_is_a_502_in_the_routes_dialect(make_gateway, dialect, body):
    _, client = make_gateway(route(dialect=dialect, upstreams=[dead_upstream()]))
    response = client.get("/api/v1/x")
    assert response.status_code == 502
    assert response.json == body


@pytest.mark.parametrize("dialect", ["grommunio", "dnl", "commvault", "wso2", "aktion"])
def test_a_slow_upstream_is_a_504_within_the_read_timeout(make_gateway, upstream, dialect):
    _, client = make_gateway(
        route(dialect=dialect, upstreams=[upstream], timeouts={"connect": 1, "read": 0.3})
    )
    started = time.monotonic()
    response = client.get("/api/v1/slow?seconds=2")
    assert response.status_code == 504
    assert time.monotonic() - started < 1.5
    if dialect == "dnl":
        assert response.json["error"]["reason"] == "upstream_timeout"
    if dialect == "grommunio":
        assert response.json == {"message": "Upstream service timed out"}


def test_requests_are_spread_over_replicas(make_gateway):
    first, second = counting(echo_app), counting(echo_app)
    with serve(app=first) as a, serve(app=second) as b:
        _, client = make_gateway(route(upstreams=[a, b]))
        for _ in range(10):
            assert client.get("/api/v1/x").status_code == 200
    assert first.hits == 5 and second.hits == 5


def test_a_refusing_replica_is_skipped_and_taken_out_for_a_while(make_gateway):
    alive = counting(echo_app)
    with serve(app=alive) as good:
        _, client = make_gateway(route(upstreams=[dead_upstream(), good], eject_seconds=30))
        for _ in range(6):
            assert client.post("/api/v1/x", data=b"{}").status_code == 200
    assert alive.hits == 6
    metrics = client.get("/_gateway/metrics").get_data(as_text=True)
    # Tried once, then ejected: one connect error for six requests.
    assert 'gateway_upstream_errors_total{kind="connect",route="wipe"} 1.0' in metrics


def test_a_request_that_reached_a_replica_is_retried_only_if_idempotent(make_gateway):
    first, second = counting(echo_app), counting(echo_app)
    with serve(app=first) as a, serve(app=second) as b:
        _, client = make_gateway(route(upstreams=[a, b], timeouts={"connect": 1, "read": 0.3}))
        assert client.post("/api/v1/slow?seconds=1", data=b"x").status_code == 504
        assert first.hits + second.hits == 1
        assert client.get("/api/v1/slow?seconds=1").status_code == 504
        assert first.hits + second.hits == 3  # a GET goes on to the other replica


def test_dns_names_are_re_resolved_and_balanced_over_every_address(make_gateway):
    port = free_port("127.0.0.2")
    replica_2, replica_3 = counting(echo_app), counting(echo_app)
    answers = {"svc-emm.internal": ["127.0.0.2", "127.0.0.3"]}

    def resolver(host, _port):
        return list(answers[host])

    with serve("127.0.0.2", port, app=replica_2), serve("127.0.0.3", port, app=replica_3):
        _, client = make_gateway(
            route(upstreams=[f"http://svc-emm.internal:{port}"], resolve_interval=0.1), resolver=resolver
        )
        for _ in range(6):
            assert client.get("/api/v1/x").json["headers"]["Host"] == f"svc-emm.internal:{port}"
        assert (replica_2.hits, replica_3.hits) == (3, 3)

        answers["svc-emm.internal"] = ["127.0.0.3"]  # a replica was scaled away
        time.sleep(0.15)
        for _ in range(4):
            assert client.get("/api/v1/x").status_code == 200
        assert (replica_2.hits, replica_3.hits) == (3, 7)


def test_a_failed_lookup_keeps_the_last_known_replicas(make_gateway):
    port = free_port("127.0.0.2")
    calls = []

    def resolver(host, _port):
        calls.append(host)
        if len(calls) > 1:
            raise OSError("resolver down")
        return ["127.0.0.2"]

    with serve("127.0.0.2", port):
        _, client = make_gateway(
            route(upstreams=[f"http://replicas.internal:{port}"], resolve_interval=0.05), resolver=resolver
        )
        time.sleep(0.1)
        assert client.get("/api/v1/x").status_code == 200
    assert len(calls) >= 2


@pytest.mark.parametrize(
    ("dialect", "status", "body"),
    [
        ("grommunio", 413, {"message": "Request body too large"}),
        ("commvault", 413, {"errorCode": 413, "errorMessage": "Request body too large"}),
        ("wso2", 413, {"statusCode": 413, "messageFromServer": "Request body too large"}),
    ],
)
def test_a_body_over_the_limit_is_a_413(make_gateway, upstream, dialect, status, body):
    _, client = make_gateway(route(dialect=dialect, upstreams=[upstream]), max_body_bytes=10)
    assert client.post("/api/v1/x", data=b"x" * 10).status_code == 200
    response = client.post("/api/v1/x", data=b"x" * 11)
    assert (response.status_code, response.json) == (status, body)


def test_the_dnl_and_aktion_body_limits_use_their_own_codes(make_gateway, upstream):
    _, client = make_gateway(
        route("dnl", prefixes=["/v1/"], dialect="dnl", upstreams=[upstream]),
        route("aktion", prefixes=["/AktionNEXT/API/"], dialect="aktion", upstreams=[upstream]),
        max_body_bytes=4,
    )
    dnl = client.post("/v1/user/create", data=b"12345")
    assert dnl.status_code == 413
    assert dnl.json["error"] == {"message": "Request body too large", "code": 413, "reason": "body_too_large"}
    assert dnl.json["error_type"] == "validation_error"
    aktion = client.post("/AktionNEXT/API/login", data=b"12345")
    assert aktion.status_code == 413
    assert aktion.json["Result"]["Code"] == 1002


def test_the_aktion_body_limit_answers_in_the_plain_envelope(make_gateway, upstream):
    _, client = make_gateway(
        route("aktion", prefixes=["/AktionNEXT/API/"], dialect="aktion", upstreams=[upstream]),
        max_body_bytes=4,
    )
    aktion = client.post("/AktionNEXT/API/login", data=b"12345")
    assert aktion.status_code == 413
    assert aktion.json == {
        "Result": {
            "Message": "Entry parameter missing or parameter bindigs failed",
            "Code": 1002,
            "ModelStateErr": None,
        },
        "Request": None,
    }


class FlakyUpstream:
    """A raw HTTP server whose first ``failures`` connections close without answering."""

    def __init__(self, failures: int):
        self.failures = failures
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.recv(65536)
                if self.connections > self.failures:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self):
        self.listener.close()


@pytest.mark.parametrize(("method", "status"), [("GET", 200), ("PUT", 200), ("POST", 502)])
def test_a_connection_broken_mid_exchange_is_retried_once_for_idempotent_methods(
    make_gateway, method, status
):
    flaky = FlakyUpstream(failures=1)
    try:
        _, client = make_gateway(route(upstreams=[flaky.url]))
        response = client.open("/api/v1/x", method=method, data=b"{}")
        assert response.status_code == status
        assert flaky.connections == (2 if status == 200 else 1)
    finally:
        flaky.close()


class PortEcho(http.server.BaseHTTPRequestHandler):
    """Answers with the client's port, keeping the connection alive (HTTP/1.1), as gunicorn does."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = str(self.client_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_an_idle_upstream_connection_is_closed_rather_than_reused(make_gateway, monkeypatch):
    from gateway import upstreams

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PortEcho)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _, client = make_gateway(route(upstreams=[f"http://127.0.0.1:{server.server_port}"]))
        first = client.get("/api/v1/x").get_data()
        assert client.get("/api/v1/x").get_data() == first  # kept alive and reused
        monkeypatch.setattr(upstreams, "MAX_IDLE_SECONDS", 0.05)
        time.sleep(0.1)
        assert client.get("/api/v1/x").get_data() != first  # idle too long: a new connection
    finally:
        server.shutdown()
        server.server_close()
