"""Durability: svc-leaver killed in the middle of a run (all of it, or only its queue worker) resumes it."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from svc_leaver.config import TARGETS
from vendorkit.testing import RedisServer

from .conftest import OFFBOARDED, REMOVALS, QueueWorker, leaver_config, start_leaver


@pytest.fixture
def short_lease_leaver(stack, redis_server, gateway, tmp_path):
    """svc-leaver calling the vendors through the gateway, its claims lapsing 2 s after their last heartbeat."""
    urls = dict.fromkeys(TARGETS, gateway.url)
    running = start_leaver(
        stack, redis_server, tmp_path, leaver_config(urls, read=10), LEAVER_LEASE_SECONDS="2"
    )
    yield running
    running.process.stop()


def test_a_run_killed_mid_flight_resumes_and_nothing_is_offboarded_twice(short_lease_leaver, faults, vendors):
    leaver = short_lease_leaver
    accounts = vendors.create_person(devices=2)
    for name, (method, path) in REMOVALS.items():
        # Each removal is carried out at the vendor; its answer is held back 2.5 s, long enough to die waiting.
        faults.fault(name, "timeout", methods=[method], path=path, when="after", delay_ms=2500, times=1)
    run_id = leaver.start_run(accounts)["id"]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = leaver.run(run_id)
        if all(target["attempts"] == 1 for target in run["targets"].values()):
            break
        time.sleep(0.05)
    assert run["status"] == "running"
    assert all(target["status"] == "running" for target in run["targets"].values())
    time.sleep(0.5)  # the removals, counted, are on their way and done at the vendors
    leaver.process.kill()
    assert vendors.presence(accounts) == OFFBOARDED

    leaver.process.start()
    run = leaver.wait(run_id, timeout=30)
    assert run["status"] == "succeeded", run
    for name in TARGETS:
        target = run["targets"][name]
        # The resumed removal found the account gone (or the wipe already pending): done, not not_found.
        assert (target["status"], target["attempts"]) == ("done", 2), (name, target)
    events = leaver.audit(run_id)
    assert [e["type"] for e in events].count("run_finished") == 1
    assert sorted(e["target"] for e in events if e["type"] == "target_finished") == sorted(TARGETS)
    assert leaver.request("GET", "/leaver/v1/audit/verify").json()["valid"] is True


def test_a_run_accepted_just_before_a_crash_is_carried_out_after_the_restart(
    short_lease_leaver, faults, vendors
):
    leaver = short_lease_leaver
    accounts = vendors.create_person(devices=0)
    # Every login is held back, so nothing has been sent when the service dies.
    for name in TARGETS:
        faults.fault(name, "delay", delay_ms=1500, times=1)
    run_id = leaver.start_run(accounts)["id"]
    time.sleep(0.3)
    leaver.process.kill()
    leaver.process.start()
    run = leaver.wait(run_id, timeout=30)
    assert run["status"] == "succeeded"
    assert {name: target["status"] for name, target in run["targets"].items()} == dict.fromkeys(
        TARGETS, "done"
    )
    assert all(target["attempts"] == 1 for target in run["targets"].values())


@pytest.fixture
def web_only_leaver(stack, redis_server, gateway, tmp_path):
    """svc-leaver's web processes without a queue consumer (``LEAVER_CONSUMER=none``), calling through the gateway.

    Its targets are executed by ``leaver worker`` processes the test starts; claims lapse 3 s
    after their last heartbeat.
    """
    urls = dict.fromkeys(TARGETS, gateway.url)
    running = start_leaver(
        stack,
        redis_server,
        tmp_path,
        leaver_config(urls, read=10),
        LEAVER_CONSUMER="none",
        LEAVER_LEASE_SECONDS="3",
    )
    workers: list[QueueWorker] = []

    def worker() -> QueueWorker:
        started = QueueWorker(running, tmp_path / f"worker-{len(workers) + 1}.log").start()
        workers.append(started)
        return started

    yield running, worker
    for started in workers:
        started.stop()
    running.process.stop()


# The removals refused before they reach the vendor (nothing happens there) ...
REFUSED_BEFORE = ("grommunio", "commvault")
# ... and those carried out at the vendor whose answer is replaced by the refusal (a lost answer).
REFUSED_AFTER = ("dnl", "wso2", "aktion")
RETRY_AFTER = 5


def removals_in(journal: list[dict], name: str) -> list[dict]:
    method, path = REMOVALS[name]
    return [e for e in journal if e["method"] == method and e["path"].startswith(path)]


def test_a_worker_killed_mid_run_is_replaced_and_the_run_completes_once_per_target(
    web_only_leaver, faults, vendors
):
    """SIGKILL the only queue worker while every target waits out a vendor's Retry-After; a new worker finishes.

    The web process lives on. Each target's first removal was answered by a rate-limit refusal
    with ``Retry-After: 5``: for grommunio and commvault before it reached the vendor, for the
    other three after the vendor had carried it out. The new worker waits out what is left of
    the five seconds, sends each removal once more, and the run ends with every person removed
    exactly once: the gateway's journal shows one removal carried out per vendor.
    """
    leaver, worker = web_only_leaver
    accounts = vendors.create_person(devices=2)
    for name, (method, path) in REMOVALS.items():
        when = "before" if name in REFUSED_BEFORE else "after"
        faults.fault(
            name, "rate_limited", methods=[method], path=path, when=when, retry_after=RETRY_AFTER, times=1
        )

    run_id = leaver.start_run(accounts)["id"]
    # No consumer yet: the run waits, stored, and cannot be retried while pending.
    time.sleep(0.5)
    assert leaver.run(run_id)["status"] == "pending"
    pending_retry = leaver.request("POST", f"/leaver/v1/runs/{run_id}/retry")
    assert pending_retry.status_code == 409
    assert pending_retry.headers["Content-Type"] == "application/problem+json"

    first = worker()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = leaver.run(run_id)
        if all(t["status"] == "retrying" and t["attempts"] == 1 for t in run["targets"].values()):
            break
        time.sleep(0.05)
    assert all(t["status"] == "retrying" for t in run["targets"].values()), (run, first.log_tail())
    first.kill()

    # The web process lives on and answers; the targets are held by the dead worker's claims for now.
    assert leaver.process.process.poll() is None
    run = leaver.run(run_id)
    assert run["status"] == "running" and run["finished"] is None
    assert vendors.presence(accounts) == {
        "grommunio": [1, 1],  # the wipe never reached it
        "dnl": False,
        "commvault": True,  # still an owner: the offboarding never reached it
        "wso2": False,
        "aktion": False,
    }

    worker()
    run = leaver.wait(run_id, timeout=40)
    assert run["status"] == "succeeded", run
    for name in TARGETS:
        target = run["targets"][name]
        # The dead worker's removal counts; the new worker sent one more.
        assert (target["status"], target["attempts"]) == ("done", 2), (name, target)
    assert vendors.presence(accounts) == OFFBOARDED

    # The gateway's journal: each vendor carried out this person's removal exactly once.
    for name in TARGETS:
        journal = faults.journal(name)
        removals = removals_in(journal, name)
        assert [e["refused"] for e in removals] == ["fault", None], (name, removals)
        refused, resumed = removals
        # The Retry-After was honoured across the worker's death.
        waited = datetime.fromisoformat(resumed["time"]) - datetime.fromisoformat(refused["time"])
        assert waited.total_seconds() >= RETRY_AFTER - 0.1, (name, waited)
        body = json.loads(resumed["response"]["body"])
        if name in REFUSED_BEFORE:
            # The first never reached the vendor; the resumed one did, and removed the person.
            assert refused["upstream"] is None and resumed["upstream"] is not None
            if name == "grommunio":
                assert resumed["status"] == 201
            else:
                assert (resumed["status"], body["errorCode"]) == (200, 0)
        else:
            # The first removed the person (its answer lost); the resumed one found nothing left.
            assert refused["upstream"] is not None and resumed["upstream"] is not None
            if name == "dnl":
                assert (resumed["status"], body["payload"]["deleted"]) == (200, 0)
            elif name == "wso2":
                assert resumed["status"] == 400
                assert body["messageFromServer"].endswith("does not exist for removal.")
            else:
                assert (resumed["status"], body["Result"]["Code"]) == (404, 1400)

    events = leaver.audit(run_id)
    assert [e["type"] for e in events].count("run_finished") == 1
    finished = sorted(
        (e["target"], e["data"]["status"], e["data"]["attempts"])
        for e in events
        if e["type"] == "target_finished"
    )
    assert finished == sorted((name, "done", 2) for name in TARGETS)
    for name in TARGETS:
        kinds = [e["data"]["kind"] for e in events if e["target"] == name and e["type"] == "request_sent"]
        assert kinds.count("remove") == 2, (name, kinds)
        retries = [e["data"] for e in events if e["target"] == name and e["type"] == "retry_scheduled"]
        assert [r["delay_ms"] for r in retries] == [RETRY_AFTER * 1000]
    assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": True, "events": len(events)}


@pytest.mark.slow
def test_with_the_queue_down_a_run_is_still_accepted_and_starts_when_it_returns(
    stack, vendor_services, tmp_path, vendors
):
    """The queue's Redis is not there yet: the run is stored (202), then carried out once Redis is up."""
    queue = RedisServer()
    urls = {target: process.url for target, process in vendor_services.items()}
    leaver = start_leaver(stack, queue, tmp_path, leaver_config(urls))
    try:
        accounts = vendors.create_person(devices=0)
        answer = leaver.request(
            "POST", "/leaver/v1/runs", json={"person": "E-q", "accounts": {"wso2": accounts["wso2"]}}
        )
        assert answer.status_code == 202
        assert leaver.run(answer.json()["id"])["status"] == "pending"
        assert leaver.request("GET", "/readyz", auth=False).status_code == 200
        queue.start()
        # Consumers recover orphaned targets every minute.
        run = leaver.wait(answer.json()["id"], timeout=90)
        assert run["status"] == "succeeded"
    finally:
        leaver.process.stop()
        queue.stop()
