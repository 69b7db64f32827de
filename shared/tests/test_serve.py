"""The services' server: HTTP-layer refusals in the vendor's envelope, slow clients, the command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, jsonify, request

from vendorkit.dialects import get_dialect
from vendorkit.serve import Target, create_server, load_app
from vendorkit.testing import free_port, http_request, wait_for_port


def toy_app(dialect: str = "dnl") -> Flask:
    app = Flask("toy")
    app.extensions["vendorkit.dialect"] = get_dialect(dialect)

    @app.get("/ok")
    def ok():
        return jsonify(status="ok")

    @app.get("/forwarded")
    def forwarded():
        return jsonify(peer=request.remote_addr, forwarded_for=request.headers.get("X-Forwarded-For"))

    return app


@pytest.fixture
def served(request) -> Iterator[str]:
    """A toy app under the services' server on a free port; its base URL."""
    app = getattr(request, "param", None) or toy_app()
    if callable(app) and not isinstance(app, Flask):
        app = app()
    server = create_server(app, "127.0.0.1", 0)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(5)


def raw(url: str, data: bytes, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as it is; the status, headers and body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_forwarding_headers_reach_the_app_which_decides_whom_to_believe(served):
    answer = http_request("GET", served + "/forwarded", headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.json() == {"peer": "127.0.0.1", "forwarded_for": "203.0.113.9"}


def test_a_plain_request_is_served(served):
    answer = http_request("GET", served + "/ok")
    assert (answer.status, answer.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET /ok HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 8000 + b"\r\n", 431),
        (b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400),
        (b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
        (b"POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    ],
    ids=["long-header", "too-many-headers", "bad-length", "two-lengths", "bad-encoding", "long-line"],
)
def test_what_the_http_layer_refuses_is_answered_in_the_vendors_json(served, request_bytes, status):
    answered, headers, body = raw(served, request_bytes)
    assert answered == status
    assert headers["Content-Type"].startswith("application/json")
    document = json.loads(body)
    # DNL's envelope, as the app's dialect words it.
    assert document["success"] is False and document["error"]["code"] == status


class FailingApp:
    """A WSGI app that raises, as a bug in a teardown would, with DNL's dialect."""

    extensions = {"vendorkit.dialect": get_dialect("dnl")}

    def __call__(self, environ, start_response):
        raise RuntimeError("a bug outside every error handler")


@pytest.mark.parametrize("served", [FailingApp], indirect=True)
def test_an_exception_escaping_the_app_is_a_json_500_in_the_vendors_envelope(served):
    answer = http_request("GET", served + "/boom")
    assert answer.status == 500
    assert answer.json()["error"] == {"message": "Internal server error", "code": 500, "reason": "http_error"}


@pytest.mark.parametrize("served", [lambda: lambda environ, start_response: []], indirect=True)
def test_an_app_without_a_dialect_still_refuses_in_json(served):
    status, headers, body = raw(served, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == 400


def test_slow_clients_cost_other_clients_nothing(served):
    host, port = served.removeprefix("http://").split(":")
    stalled = []
    try:
        for _ in range(64):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            stalled.append(sock)
        for _ in range(3):
            for sock in stalled:
                sock.sendall(b"a")  # one more byte each, never a whole request
            started = time.perf_counter()
            answer = http_request("GET", served + "/ok", timeout=5)
            assert answer.status == 200
            assert time.perf_counter() - started < 1.0
            time.sleep(0.3)
    finally:
        for sock in stalled:
            sock.close()


def test_targets_name_an_app_and_an_address():
    assert Target.parse("svc_wipe:create_app()@127.0.0.1:8101") == Target(
        "svc_wipe:create_app()", "127.0.0.1", 8101
    )
    assert Target.parse("svc_wipe:create_app()", "[::1]:9000") == Target("svc_wipe:create_app()", "::1", 9000)
    for wrong in ("svc_wipe@127.0.0.1:8101", "svc_wipe:create_app()", "svc_wipe:app@127.0.0.1:http"):
        with pytest.raises(ValueError):
            Target.parse(wrong)


def test_load_app_calls_a_factory_or_takes_an_attribute():
    assert load_app("vendorkit.dialects:get_dialect") is get_dialect
    with pytest.raises(ValueError):
        load_app("not a spec")


def cpus_of_every_thread(pid: int) -> set[str]:
    """The ``Cpus_allowed_list`` of each thread of process ``pid``."""
    return {
        line.split(":", 1)[1].strip()
        for status in Path(f"/proc/{pid}/task").glob("*/status")
        for line in status.read_text().splitlines()
        if line.startswith("Cpus_allowed_list:")
    }


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.e2e
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_with_serve_pin_cpu_each_apps_process_runs_on_a_cpu_of_its_own(tmp_path):
    allowed = sorted(os.sched_getaffinity(0))
    ports = [free_port(), free_port()]
    apps = [
        f"svc_wipe:create_app()@127.0.0.1:{ports[0]}",
        f"svc_bulkuser:create_app()@127.0.0.1:{ports[1]}",
    ]
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    parent = subprocess.Popen(
        [sys.executable, "-m", "vendorkit.serve", *apps],
        env={**environment, "SERVE_PIN_CPU": "1", "DEMO_DATA": "1", "LOG_LEVEL": "WARNING"},
        cwd=tmp_path,  # each service's SQLite database under var/
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for port in ports:
            wait_for_port("127.0.0.1", port, timeout=60)
            assert http_request("GET", f"http://127.0.0.1:{port}/healthz").status == 200
        children = sorted(children_of(parent.pid))
        assert len(children) == 2
        # In the order of the command line: the n-th app on the n-th allowed CPU, every thread of it.
        expected = [{str(allowed[0])}, {str(allowed[1 % len(allowed)])}]
        assert [cpus_of_every_thread(child) for child in children] == expected
        # The parent keeps the CPUs it was given.
        assert cpus_of_every_thread(parent.pid) == cpus_of_every_thread(os.getpid())
    finally:
        parent.terminate()  # the parent stops its children
        parent.wait(20)
