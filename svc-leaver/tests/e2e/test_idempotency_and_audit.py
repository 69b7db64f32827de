"""Idempotency-Key, the hash-chained audit log, audit/verify and tamper detection, emulator reset."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid

import psycopg
import pytest

from vendorkit.testing import LEAVER_SECRETS
from vendorkit.testing.concurrency import at_once

from .test_cli import leaver_command

ZEROS = "0" * 64
# What svc-leaver logs in to the vendors with (passwords, an API key): never shown or logged.
SECRETS = set(LEAVER_SECRETS.values())


def key() -> str:
    return f"key-{uuid.uuid4()}"


def test_the_same_key_and_body_answers_the_first_run_and_never_runs_it_twice(leaver, vendors):
    accounts = vendors.create_person(devices=1)
    body = {"person": "E-idem", "accounts": accounts}
    headers = {"Idempotency-Key": key()}
    first = leaver.request("POST", "/leaver/v1/runs", json=body, headers=headers)
    assert first.status_code == 202
    leaver.wait(first.json()["id"])
    # JSON-equal: other key order and whitespace.
    again = leaver.request(
        "POST",
        "/leaver/v1/runs",
        content=json.dumps({"accounts": accounts, "person": "E-idem"}, indent=2),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json()["status"] == "succeeded"
    events = leaver.audit(first.json()["id"])
    assert [event["type"] for event in events].count("run_created") == 1
    removals = [e for e in events if e["type"] == "request_sent" and e["data"]["kind"] == "remove"]
    assert len(removals) == 5


def test_a_key_is_still_remembered_a_day_later(leaver):
    body = {"person": "E-day", "accounts": {"wso2": "nobody-" + uuid.uuid4().hex[:8]}}
    headers = {"Idempotency-Key": key()}
    first = leaver.request("POST", "/leaver/v1/runs", json=body, headers=headers)
    assert first.status_code == 202
    leaver.wait(first.json()["id"])
    # The key and its run as they would stand 25 hours later.
    with psycopg.connect(_database_url(leaver), autocommit=True) as connection:
        connection.execute(
            "UPDATE idempotency_keys SET created = created - interval '25 hours' WHERE key = %s",
            (headers["Idempotency-Key"],),
        )

    again = leaver.request("POST", "/leaver/v1/runs", json=body, headers=headers)

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_a_422_problem(leaver):
    headers = {"Idempotency-Key": key()}
    assert (
        leaver.request(
            "POST",
            "/leaver/v1/runs",
            json={"person": "E-1", "accounts": {"wso2": "nobody-1"}},
            headers=headers,
        ).status_code
        == 202
    )
    other = leaver.request(
        "POST", "/leaver/v1/runs", json={"person": "E-1", "accounts": {"wso2": "nobody-2"}}, headers=headers
    )
    assert other.status_code == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.json()["status"] == 422


def test_two_requests_with_one_key_arriving_together_create_one_run(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    headers = {"Idempotency-Key": key()}
    body = {"person": "E-race", "accounts": accounts}
    send = functools.partial(leaver.request, "POST", "/leaver/v1/runs", json=body, headers=headers)
    answers = at_once(*[send] * 4)
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 202]
    assert len({answer.json()["id"] for answer in answers}) == 1
    run = leaver.wait(answers[0].json()["id"])
    assert run["status"] == "succeeded"
    assert all(target["attempts"] == 1 for target in run["targets"].values())
    listed = leaver.request("GET", "/leaver/v1/runs", params={"person": "E-race"}).json()["runs"]
    assert [item["id"] for item in listed] == [run["id"]]


@pytest.mark.parametrize("value", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_idempotency_key_is_a_400_problem(leaver, value):
    answer = leaver.request(
        "POST",
        "/leaver/v1/runs",
        json={"person": "E-1", "accounts": {"wso2": "nobody"}},
        headers={"Idempotency-Key": value.encode("utf-8")},
    )
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["errors"]


def canonical(event: dict) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_audit_is_one_hash_chain_with_the_documented_events(leaver, vendors):
    accounts = vendors.create_person(devices=1)
    run = leaver.wait(leaver.start_run(accounts, person="E-\u00e9v\u00e9nement")["id"])
    events = leaver.audit(run["id"])
    assert [event["seq"] for event in events] == sorted(event["seq"] for event in events)
    for event in events:
        without_hash = {k: v for k, v in event.items() if k != "hash"}
        expected = hashlib.sha256((event["prev_hash"] + canonical(without_hash)).encode("utf-8")).hexdigest()
        assert event["hash"] == expected
        assert event["run"] == run["id"]
        assert event["time"].endswith("Z")
    first, last = events[0], events[-1]
    assert first["type"] == "run_created" and first["target"] is None
    assert first["data"] == {
        "person": "E-\u00e9v\u00e9nement",
        "targets": list(run["targets"]),
        "dry_run": False,
    }
    assert last == {**last, "type": "run_finished", "target": None, "data": {"status": "succeeded"}}
    finished = [e for e in events if e["type"] == "target_finished"]
    assert sorted(e["target"] for e in finished) == sorted(run["targets"])
    assert all(e["data"] == {"status": "done", "attempts": 1} for e in finished)
    for event in events:
        if event["type"] == "request_sent":
            assert set(event["data"]) == {"kind", "method", "path"}
            assert event["data"]["kind"] in ("login", "lookup", "remove")
            assert "?" not in event["data"]["path"]
        if event["type"] == "response":
            assert set(event["data"]) == {"kind", "status", "code", "message"}
    aktion_paths = [
        e["data"]["path"] for e in events if e["type"] == "request_sent" and e["target"] == "aktion"
    ]
    # A login only when no live session was at hand; the token never shows (it travels in the query).
    assert aktion_paths[-1] == "/AktionNEXT/API/user/remove"
    assert set(aktion_paths) <= {"/AktionNEXT/API/login", "/AktionNEXT/API/user/remove"}
    text = json.dumps(events)
    for secret in SECRETS:
        assert secret not in text
    verify = leaver.request("GET", "/leaver/v1/audit/verify").json()
    assert verify["valid"] is True and verify["events"] >= len(events)


def test_no_secret_appears_in_the_logs_or_the_answers(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    run = leaver.wait(leaver.start_run(accounts)["id"])
    answers = json.dumps(leaver.run(run["id"])) + json.dumps(leaver.audit(run["id"]))
    state = leaver.request("GET", "/_admin/state", auth=False).text
    log = leaver.process.log_path.read_text()
    assert '"path": "/leaver/v1/runs"' in log  # the request log is there to read
    assert "Token=" not in log and "X-Auth-Token" not in log and "grommunioAuthJwt" not in log
    for secret in SECRETS:
        assert secret not in answers and secret not in state and secret not in log


def _database_url(leaver) -> str:
    return leaver.process.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")


def test_a_changed_or_removed_event_is_detected_and_a_reset_starts_a_new_chain(leaver):
    assert leaver.request("POST", "/_admin/reset", auth=False).json() == {"service": "leaver", "reset": True}
    run = leaver.wait(leaver.start_run({"wso2": "nobody-tamper"})["id"])
    events = leaver.audit(run["id"])
    assert events[0]["seq"] == 1 and events[0]["prev_hash"] == ZEROS
    total = len(events)
    assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": True, "events": total}

    with psycopg.connect(_database_url(leaver), autocommit=True) as connection:
        connection.execute(
            "UPDATE audit_events SET data = %s WHERE seq = 3", ('{"kind":"login","status":200}',)
        )
        assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": False, "first_bad_seq": 3}
        verify = leaver_command(leaver.url, "verify")
        assert verify.returncode == 1 and "BROKEN at seq 3" in verify.stdout
        connection.execute("DELETE FROM audit_events WHERE seq = 3")
        assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": False, "first_bad_seq": 3}
        connection.execute("DELETE FROM audit_events WHERE seq <= 3")
        assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": False, "first_bad_seq": 1}
        connection.execute("DELETE FROM audit_events WHERE seq = %s", (total,))

    assert leaver.request("POST", "/_admin/reset", auth=False).status_code == 200
    assert leaver.request("GET", "/leaver/v1/runs").json() == {"runs": []}
    assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": True, "events": 0}
    run = leaver.wait(leaver.start_run({"wso2": "nobody-tamper"})["id"])
    assert leaver.audit(run["id"])[0]["seq"] == 1


def test_removing_the_newest_event_is_detected(leaver):
    leaver.request("POST", "/_admin/reset", auth=False)
    run = leaver.wait(leaver.start_run({"wso2": "nobody-tail"})["id"])
    total = len(leaver.audit(run["id"]))
    with psycopg.connect(_database_url(leaver), autocommit=True) as connection:
        connection.execute("DELETE FROM audit_events WHERE seq = %s", (total,))
    assert leaver.request("GET", "/leaver/v1/audit/verify").json() == {"valid": False, "first_bad_seq": total}
    leaver.request("POST", "/_admin/reset", auth=False)


def test_admin_state_lists_every_table(leaver):
    state = leaver.request("GET", "/_admin/state", auth=False).json()
    assert state["service"] == "leaver" and state["schema"] == "0001"
    assert set(state["tables"]) == {"runs", "targets", "idempotency_keys", "audit_events", "audit_head"}
