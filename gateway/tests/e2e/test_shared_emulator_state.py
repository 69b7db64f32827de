"""One emulator state for a gateway of several workers: faults, journal and resets hold on every worker.

Each test runs the ``gateway`` command with ``--workers 2``, once counting in
memory (the workers share the state keeper's state) and once on a real Redis.
Requests go over kept-alive connections whose serving worker is read from
/proc, so that a test knows it used both workers rather than hoping so.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from gwsupport import route

from gateway.faults import roll
from vendorkit.testing import RedisServer, http_request
from vendorkit.testing.concurrency import at_once

ADMIN = {"admin": {"enabled": True, "allow": ["127.0.0.1/32"]}, "journal": {"capacity": 1000}}


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (the gateway's workers, and its state keeper when it has one)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(match.group(1))
    return inodes


def server_side_inode(gateway_port: int, client_port: int) -> str | None:
    """The inode of the gateway's end of the TCP connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if (local_port, remote_port) == (gateway_port, client_port):
            return fields[9]
    return None


class Client:
    """A kept-alive connection to the gateway, and the worker that serves it."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
        self.request("GET", "/_gateway/healthz")  # accepted by a worker once answered
        inode = server_side_inode(gateway.port, self.connection.sock.getsockname()[1])
        self.worker = next(
            (pid for pid in children(gateway.process.pid) if inode in socket_inodes(pid)), None
        )

    def request(self, method: str, path: str, body=None, headers=None):
        """One request on this connection: (status, headers, body as bytes)."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.headers, response.read()

    def json(self, method: str, path: str, body=None) -> tuple[int, object]:
        status, _headers, data = self.request(method, path, body)
        return status, json.loads(data) if data else None

    def close(self) -> None:
        self.connection.close()


def two_workers(gateway) -> tuple[Client, Client]:
    """Connections served by two different workers of ``gateway``."""
    by_worker: dict[int, Client] = {}
    spare = []
    for _ in range(200):
        client = Client(gateway)
        if client.worker is not None and client.worker not in by_worker:
            by_worker[client.worker] = client
        else:
            spare.append(client)
        if len(by_worker) == 2:
            break
    for client in spare:
        client.close()
    assert len(by_worker) == 2, "every connection went to the same worker"
    first, second = by_worker.values()
    return first, second


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    """The rate-limit storage: memory (the workers share the state keeper) or a real Redis."""
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_server").url


@pytest.fixture
def emulator(gateways, echo, storage, request):
    """A gateway of two workers with admin and journal on, and a connection to each worker."""
    # Route names of the test's own: gateways of other tests on the same Redis keep their state apart.
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-")
    config = {
        "routes": [route(name=name, upstreams=[echo], rate_limits=["3/minute"], overrides=[
            {"path": "/api/v1/many", "rate_limits": ["100000/minute"]}
        ])],
        "rate_limit_storage": storage,
        **ADMIN,
    }  # fmt: skip
    gateway = gateways(config, workers=2)
    first, second = two_workers(gateway)
    assert first.request("POST", "/_gateway/reset")[0] == 200  # nothing left over in a shared Redis
    yield name, gateway, first, second
    first.close()
    second.close()


def test_a_fault_created_through_one_worker_applies_on_both_exactly_times_times(emulator):
    name, _gateway, first, second = emulator
    status, fault = first.json(
        "POST", "/_gateway/faults", {"route": name, "action": "unavailable", "times": 7}
    )
    assert status == 201
    statuses = [(first, second)[i % 2].request("GET", "/api/v1/many")[0] for i in range(20)]
    assert statuses == [503] * 7 + [200] * 13
    assert second.json("GET", "/_gateway/faults") == (200, {"faults": []})  # used up everywhere
    served = second.json("GET", f"/_gateway/requests?route={name}&status=503&limit=1000")[1]
    assert {e["fault"] for e in served["requests"]} == {fault["id"]} and served["count"] == 7


def test_hits_are_counted_across_workers_and_times_hold_under_concurrent_load(emulator, gateways):
    name, gateway, first, second = emulator
    first.json("POST", "/_gateway/faults", {"route": name, "action": "bad_gateway", "times": 50})
    first.request("GET", "/api/v1/many")
    second.request("GET", "/api/v1/many")
    [listed] = first.json("GET", "/_gateway/faults")[1]["faults"]
    assert listed["hits"] == 2

    def load() -> list[int]:
        return [http_request("GET", f"{gateway.url}/api/v1/many").status for _ in range(25)]

    statuses = Counter(status for statuses in at_once(*[load] * 8) for status in statuses)
    assert statuses == Counter({502: 48, 200: 152})


def test_the_journal_shows_the_requests_of_both_workers(emulator):
    name, _gateway, first, second = emulator
    ids = [f"shared-{i}" for i in range(30)]
    for i, request_id in enumerate(ids):
        (first, second)[i % 2].request("GET", f"/api/v1/many?n={i}", headers={"X-Request-ID": request_id})
    for client in (first, second):
        status, found = client.json("GET", f"/_gateway/requests?route={name}&limit=1000")
        assert status == 200
        assert [e["id"] for e in found["requests"]] == ids[::-1]  # newest first, from both workers
    status, entry = second.json("GET", f"/_gateway/requests/{ids[0]}")  # answered by the first worker
    assert status == 200 and entry["query"] == "n=0"


def test_the_journal_counts_every_request_under_concurrent_load(emulator):
    name, gateway, first, _second = emulator

    def load(worker: int) -> None:
        for i in range(25):
            http_request("GET", f"{gateway.url}/api/v1/many", headers={"X-Request-ID": f"load-{worker}-{i}"})

    at_once(*(functools.partial(load, worker) for worker in range(8)))
    found = first.json("GET", f"/_gateway/requests?route={name}&limit=1000")[1]
    assert found["count"] == 200
    assert {e["id"] for e in found["requests"]} == {f"load-{w}-{i}" for w in range(8) for i in range(25)}


def test_secrets_are_redacted_before_they_leave_the_worker(emulator, storage):
    name, _gateway, first, second = emulator
    body = {"username": "kim", "password": "hunter2-shared"}
    first.request("POST", "/api/v1/login", body, {"Authorization": "Bearer tok-shared"})
    [entry] = second.json("GET", f"/_gateway/requests?route={name}&path=/api/v1/login")[1]["requests"]
    assert json.loads(entry["request"]["body"]) == {"username": "kim", "password": "[redacted]"}
    assert entry["request"]["headers"]["authorization"] == "[redacted]"
    if storage.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(storage)
        try:
            lines = [v for k in client.keys("gateway:emulator:*") if client.type(k) == b"list"
                     for v in client.lrange(k, 0, -1)]  # fmt: skip
        finally:
            client.close()
        # The request as Redis holds it (the echoing upstream's answer repeats the body as text).
        [stored] = [
            json.dumps(entry["request"])
            for entry in (json.loads(line.partition(b"\n")[2]) for line in lines)
            if entry["route"] == name
        ]
        assert "kim" in stored
        assert "hunter2-shared" not in stored and "tok-shared" not in stored


def test_reset_clears_journal_faults_and_counters_on_both_workers(emulator):
    name, _gateway, first, second = emulator
    for client in (first, second):  # each worker's counters (memory), or the shared ones (Redis), used up
        statuses = [client.request("GET", "/api/v1/limited")[0] for _ in range(4)]
        assert statuses[-1] == 429
    first.json("POST", "/_gateway/faults", {"route": name, "action": "unavailable", "path": "/api/v1/f"})
    assert first.request("POST", "/_gateway/reset")[0] == 200
    assert second.json("GET", "/_gateway/faults") == (200, {"faults": []})
    assert second.json("GET", "/_gateway/requests") == (200, {"requests": [], "count": 0})
    status, headers, _body = second.request("GET", "/api/v1/limited")
    assert (status, headers["RateLimit-Remaining"]) == (200, "2")  # counts afresh on the other worker
    assert first.request("GET", "/api/v1/limited")[0] == 200
    assert second.request("GET", "/api/v1/f")[0] == 200


def test_a_reset_of_one_route_keeps_the_others_counters_on_both_workers(gateways, echo, storage):
    config = {
        "routes": [
            route(name="keep-a", upstreams=[echo], rate_limits=["2/minute"]),
            route(
                name="keep-b", prefixes=["/v1/"], dialect="dnl", upstreams=[echo], rate_limits=["2/minute"]
            ),
        ],
        "rate_limit_storage": storage,
        **ADMIN,
    }
    gateway = gateways(config, workers=2)
    first, second = two_workers(gateway)
    first.request("POST", "/_gateway/reset")
    for client in (first, second):
        for path in ("/api/v1/x", "/v1/x"):
            assert [client.request("GET", path)[0] for _ in range(3)][-1] == 429
    assert first.json("POST", "/_gateway/reset", {"routes": ["keep-a"]}) == (200, {"reset": ["keep-a"]})
    assert second.request("GET", "/api/v1/x")[0] == 200
    assert second.request("GET", "/v1/x")[0] == 429
    first.close()
    second.close()


def test_redis_down_admin_answers_503_requests_are_served_and_it_recovers(gateways, echo):
    redis = RedisServer()
    redis.start()
    try:
        gateway = gateways(
            {"routes": [route(name="outage", upstreams=[echo])], "rate_limit_storage": redis.url, **ADMIN},
            workers=2,
        )
        assert http_request("GET", f"{gateway.url}/_gateway/faults").status == 200
        redis.stop()
        started = time.monotonic()
        down = http_request("GET", f"{gateway.url}/_gateway/faults")
        assert down.status == 503 and down.json()["message"]
        for _ in range(4):
            assert http_request("GET", f"{gateway.url}/api/v1/x").status == 200  # no fault, entry dropped
        assert time.monotonic() - started < 10
        redis.start()  # the same port: the gateway recovers without a restart
        deadline = time.monotonic() + 10
        while http_request("GET", f"{gateway.url}/_gateway/faults").status != 200:
            assert time.monotonic() < deadline, "the emulator state did not recover"
            time.sleep(0.2)
        http_request("GET", f"{gateway.url}/api/v1/back", headers={"X-Request-ID": "after-outage"})
        deadline = time.monotonic() + 10
        while http_request("GET", f"{gateway.url}/_gateway/requests/after-outage").status != 200:
            # A worker that has not served since the outage may still think Redis down: ask again.
            assert time.monotonic() < deadline, "the journal did not recover"
            http_request("GET", f"{gateway.url}/api/v1/back", headers={"X-Request-ID": "after-outage"})
            time.sleep(0.2)
    finally:
        redis.stop()


def test_a_state_keeper_that_dies_is_restarted_and_requests_never_wait_on_it(gateways, echo):
    config = {
        "routes": [route(name="keeper-dies", upstreams=[echo])],
        "rate_limit_storage": "memory://",
        **ADMIN,
    }
    gateway = gateways(config, workers=2)
    first, second = two_workers(gateway)
    [keeper] = set(children(gateway.process.pid)) - {first.worker, second.worker}
    first.json("POST", "/_gateway/faults", {"route": "keeper-dies", "action": "unavailable"})
    assert second.request("GET", "/api/v1/x")[0] == 503
    os.kill(keeper, signal.SIGKILL)
    # Until the new keeper answers, requests are served without the state (as a storage outage).
    deadline = time.monotonic() + 10
    while True:
        status, body = second.json("GET", "/_gateway/faults")
        if status == 200:
            break
        assert (status, sorted(body)) == (503, ["message"])
        assert second.request("GET", "/api/v1/x")[0] in (200, 503)
        assert time.monotonic() < deadline, "the state keeper was not restarted"
        time.sleep(0.1)
    assert body == {"faults": []}  # a new keeper starts empty
    assert first.request("GET", "/api/v1/x")[0] == 200
    assert second.json("GET", "/_gateway/requests?route=keeper-dies&limit=1")[1]["count"] == 1
    first.close()
    second.close()


def test_a_seeded_fault_hits_the_same_requests_on_any_worker_and_in_any_state(emulator):
    name, _gateway, first, second = emulator
    fault = {"route": name, "action": "unavailable", "probability": 0.5, "seed": 42}
    first.json("POST", "/_gateway/faults", fault)
    statuses = [(first, second)[i % 2].request("GET", "/api/v1/many")[0] for i in range(30)]
    # The rolls Redis's Lua or the state keeper made are the ones a single process makes.
    assert statuses == [503 if roll("42", n) < 0.5 else 200 for n in range(1, 31)]
    assert 0 < statuses.count(503) < 30
