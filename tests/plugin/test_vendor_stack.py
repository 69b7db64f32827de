"""The ``vendor_stack`` and ``vendors`` fixtures used directly, as a user's test would."""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
import time
from pathlib import Path

import pytest
import requests

import vendorkit.pytest_plugin
from vendorkit.pytest_plugin import VENDOR_SERVICES, VendorStackError, launch_vendor_stack


def emm_session(url: str) -> requests.Session:
    """A session logged in to the WSO2 EMM demo as admin."""
    session = requests.Session()
    token = session.post(
        f"{url}/oauth2/token",
        data={"grant_type": "password", "username": "admin", "password": "admin-demo"},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return session


def view_kim(session: requests.Session, url: str) -> int:
    return session.get(f"{url}/mdm-admin/users/view", params={"username": "kim"}, timeout=10).status_code


def delete_kim(session: requests.Session, url: str) -> None:
    answer = session.delete(f"{url}/mdm-admin/users", params={"username": "kim"}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert view_kim(session, url) == 404


def test_reset_brings_back_the_demo_data_and_empties_the_journal(vendors):
    session = emm_session(vendors.url)
    delete_kim(session, vendors.url)
    assert vendors.requests(route="emm")

    assert vendors.reset("emm") == ["emm"]

    assert vendors.requests(route="emm") == []
    # The reset ended every session, so log in again.
    assert view_kim(emm_session(vendors.url), vendors.url) == 200


def test_each_test_starts_with_an_empty_journal(vendors):
    assert vendors.requests() == []


def test_requests_are_filtered_newest_first(vendors):
    session = emm_session(vendors.url)
    view_kim(session, vendors.url)
    session.delete(f"{vendors.url}/mdm-admin/users", params={"username": "nobody"}, timeout=10)
    requests.get(f"{vendors.url}/v1/user", timeout=10)

    assert [entry["method"] for entry in vendors.requests(route="emm")] == ["DELETE", "GET", "POST"]
    [deleted] = vendors.requests(route="emm", method="DELETE")
    assert deleted["query"] == "username=nobody"
    assert [entry["route"] for entry in vendors.requests(limit=1)] == ["bulkuser"]
    assert [entry["path"] for entry in vendors.requests(path="/oauth2/")] == ["/oauth2/token"]


def test_a_fault_applies_inside_its_block_and_is_removed_on_leaving_it(vendors):
    session = emm_session(vendors.url)
    with vendors.fault(route="emm", path="/mdm-admin/users/view", action="unavailable") as fault:
        assert view_kim(session, vendors.url) == 503
        assert view_kim(session, vendors.url) == 503
    assert view_kim(session, vendors.url) == 200

    assert requests.get(f"{vendors.url}/_gateway/faults", timeout=10).json() == {"faults": []}
    statuses = [(entry["status"], entry["fault"]) for entry in vendors.requests(path="/mdm-admin/")]
    assert statuses == [(200, None), (503, fault.id), (503, fault.id)]


def test_a_fault_can_be_removed_without_a_with_block(vendors):
    fault = vendors.fault(route="offboard", action="bad_gateway", times=5)
    assert requests.get(f"{vendors.url}/webconsole/api/User", timeout=10).status_code == 502
    fault.remove()
    fault.remove()  # already gone: nothing to do
    assert requests.get(f"{vendors.url}/webconsole/api/User", timeout=10).status_code != 502


def test_a_fault_used_up_by_times_leaves_its_block_quietly(vendors):
    with vendors.fault(route="agenda", action="unavailable", times=1):
        assert requests.get(f"{vendors.url}/AktionNEXT/API/user/list", timeout=10).status_code == 503
        assert requests.get(f"{vendors.url}/AktionNEXT/API/user/list", timeout=10).status_code != 503


def test_a_refused_admin_call_raises_with_the_gateways_message(vendors):
    with pytest.raises(VendorStackError, match="action: expected one of") as refused:
        vendors.fault(route="emm", action="explode")
    assert refused.value.status == 400
    with pytest.raises(VendorStackError, match="unknown route 'nope'"):
        vendors.reset("nope")


def test_restore_puts_back_a_saved_state(vendors):
    saved = vendors.state()
    assert set(saved["routes"]) == {"wipe", "bulkuser", "offboard", "emm", "agenda"}
    session = emm_session(vendors.url)
    delete_kim(session, vendors.url)

    assert sorted(vendors.restore(saved)) == sorted(saved["routes"])

    assert view_kim(emm_session(vendors.url), vendors.url) == 200


def _process_groups() -> dict[int, int]:
    """pid -> process group of every process this machine shows."""
    groups = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The fields after the command's closing parenthesis: state, ppid, pgrp, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            groups[int(stat.parent.name)] = int(fields[2])
    return groups


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
def test_stopping_a_launched_stack_leaves_no_process_behind():
    with launch_vendor_stack() as stack:
        leaders = {process.pid for process in stack.processes}
        running = [pid for pid, group in _process_groups().items() if group in leaders]
        workdir = stack.workdir
        # The services' parent and its five forked children, and the gateway.
        assert len(running) >= 7
        assert requests.get(f"{stack.url}/_gateway/healthz", timeout=10).status_code == 200

    assert [pid for pid, group in _process_groups().items() if group in leaders] == []
    assert not workdir.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.url}/_gateway/healthz", timeout=2)
    assert os.getpid() in _process_groups()


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    [entry] = [
        e for e in importlib.metadata.entry_points(group="pytest11") if e.value == "vendorkit.pytest_plugin"
    ]
    assert entry.load() is vendorkit.pytest_plugin


@pytest.mark.e2e
def test_a_launched_stack_has_fresh_sqlite_databases_with_demo_data_and_admin_on():
    started = time.monotonic()
    with launch_vendor_stack() as stack:
        # Usable: the gateway forwards to a vendor and its admin API answers.
        assert requests.get(f"{stack.url}/mdm-admin/users/count", timeout=10).status_code == 401
        assert stack.requests(route="emm")[0]["path"] == "/mdm-admin/users/count"
        elapsed = time.monotonic() - started
        databases = sorted(path.name for path in (stack.workdir / "var").glob("*.db"))
        assert stack.workdir.is_relative_to(tempfile.gettempdir())
        state = stack.state()
    assert databases == sorted(f"{package.replace('_', '-')}.db" for package in VENDOR_SERVICES.values())
    assert set(state["routes"]) == set(VENDOR_SERVICES)
    # Demo data loaded: no vendor starts empty.
    for route, document in state["routes"].items():
        assert sum(len(rows) for rows in document["tables"].values()) > 0, route
    # "A few seconds": about 2 s on an idle 2-core machine; the bound leaves room for a loaded one.
    assert elapsed < 20, elapsed
