"""svc-leaver behind the gateway's `/leaver/` route, calling the five vendors through the same gateway."""

from __future__ import annotations

import time

import httpx
import pytest

from svc_leaver.testing import Vendors

from .test_cli import leaver_command

AUTH = {"Authorization": "Bearer leaver-demo-token"}
VENDOR_ROUTES = ("wipe", "bulkuser", "offboard", "emm", "agenda")
WIPE_PENDING = 2  # grommunio's device status after a wipe was requested


@pytest.fixture(scope="module")
def gateway_stack(stack):
    """The shared stack with the five vendors and svc-leaver started behind its gateway."""
    for name in (*VENDOR_ROUTES, "leaver"):
        stack.start(name)
    return stack


def wait_finished(stack, run_id: str, timeout: float = 30.0) -> dict:
    """The run, once it has finished, read through the gateway."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(stack.url(f"/leaver/v1/runs/{run_id}"), headers=AUTH, timeout=10).json()
        if run["finished"] is not None:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} not finished after {timeout}s: {run}")


def test_one_call_through_the_gateway_offboards_a_person_everywhere(gateway_stack):
    vendors = Vendors(**{name: gateway_stack.services[name].url for name in VENDOR_ROUTES})
    accounts = vendors.create_person(devices=1)

    answer = httpx.post(
        gateway_stack.url("/leaver/v1/runs"),
        headers=AUTH,
        json={"person": "E-2001", "accounts": accounts},
        timeout=10,
    )

    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/leaver/v1/runs/{answer.json()['id']}"
    assert "RateLimit-Limit" in answer.headers
    run = wait_finished(gateway_stack, answer.json()["id"])
    assert run["status"] == "succeeded", run
    assert {name: target["status"] for name, target in run["targets"].items()} == dict.fromkeys(
        accounts, "done"
    )
    assert vendors.presence(accounts) == {
        "grommunio": [WIPE_PENDING],
        "dnl": False,
        "commvault": False,
        "wso2": False,
        "aktion": False,
    }


def test_the_gateway_refuses_on_the_leaver_route_with_problem_details(gateway_stack):
    answer = httpx.request(
        "PATCH", gateway_stack.url("/leaver/v1/runs"), headers=AUTH, content=b"{}", timeout=10
    )
    unauthenticated = httpx.get(gateway_stack.url("/leaver/v1/runs"), timeout=10)

    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["Content-Type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail"} <= unauthenticated.json().keys()
    assert answer.status_code == 405
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["status"] == 405


def test_the_leaver_command_works_against_the_gateway(gateway_stack):
    vendors = Vendors(**{name: gateway_stack.services[name].url for name in VENDOR_ROUTES})
    accounts = vendors.create_person(devices=0)
    url = gateway_stack.gateway.url  # LEAVER_URL: the gateway's root URL

    result = leaver_command(
        url,
        "offboard",
        "--person",
        "E-2002",
        "--account",
        f"wso2={accounts['wso2']}",
        "--account",
        f"aktion={accounts['aktion']}",
    )

    assert result.returncode == 0, (result.stdout, result.stderr)
    run_id = result.stdout.split()[1]
    assert result.stdout.rstrip().endswith(f"run {run_id}: succeeded")
    assert vendors.presence({"wso2": accounts["wso2"], "aktion": accounts["aktion"]}) == {
        "wso2": False,
        "aktion": False,
    }
    shown = leaver_command(url, "show", run_id)
    assert shown.returncode == 0 and "succeeded" in shown.stdout
    verified = leaver_command(url, "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("audit chain valid")
    assert leaver_command(url, "verify", token="wrong").returncode == 3
