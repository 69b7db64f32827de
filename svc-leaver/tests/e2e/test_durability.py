"""Durability: svc-leaver killed in the middle of a run resumes it when it starts again."""

from __future__ import annotations

import time

import pytest

from svc_leaver.config import TARGETS
from vendorkit.testing import RedisServer

from .conftest import leaver_config, start_leaver

pytestmark = pytest.mark.e2e

REMOVALS = {
    "grommunio": ("POST", "/api/v1/service/wipe/"),
    "dnl": ("DELETE", "/v1/user/all"),
    "commvault": ("POST", "/webconsole/api/User/Offboard"),
    "wso2": ("DELETE", "/mdm-admin/users"),
    "aktion": ("POST", "/AktionNEXT/API/user/remove"),
}


@pytest.fixture
def short_lease_leaver(services_stack, redis_server, gateway, tmp_path):
    """svc-leaver calling the vendors through the gateway, its claims lapsing 2 s after their last heartbeat."""
    urls = dict.fromkeys(TARGETS, gateway.url)
    running = start_leaver(
        services_stack, redis_server, tmp_path, leaver_config(urls, read=10), LEAVER_LEASE_SECONDS="2"
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
    assert vendors.presence(accounts) == {
        "grommunio": [2, 2],
        "dnl": False,
        "commvault": False,
        "wso2": False,
        "aktion": False,
    }

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


@pytest.mark.slow
def test_with_the_queue_down_a_run_is_still_accepted_and_starts_when_it_returns(
    services_stack, vendor_services, tmp_path, vendors
):
    """The queue's Redis is not there yet: the run is stored (202), then carried out once Redis is up."""
    queue = RedisServer()
    urls = {target: process.url for target, process in vendor_services.items()}
    leaver = start_leaver(services_stack, queue, tmp_path, leaver_config(urls))
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
