"""Runs against the five real services: offboarding, not-found, dry runs, listing, validation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from svc_leaver.config import TARGETS

from .conftest import OFFBOARDED


def test_a_run_offboards_the_person_from_all_five_vendors(leaver, vendors):
    accounts = vendors.create_person(devices=2)
    started = time.monotonic()
    answer = leaver.request("POST", "/leaver/v1/runs", json={"person": "E-1042", "accounts": accounts})
    assert answer.status_code == 202
    created = answer.json()
    assert answer.headers["Location"] == f"/leaver/v1/runs/{created['id']}"
    assert created["status"] in ("pending", "running")
    assert created["finished"] is None and created["dry_run"] is False
    assert set(created["targets"]) == set(TARGETS)

    run = leaver.wait(created["id"])
    elapsed = time.monotonic() - started
    assert run["status"] == "succeeded", run
    assert run["finished"] >= run["created"]
    assert elapsed < 15
    for name in TARGETS:
        target = run["targets"][name]
        assert target["status"] == "done", (name, target)
        assert target["attempts"] == 1
        assert target["account"] == accounts[name]
    assert run["targets"]["grommunio"]["detail"] == "2 devices"
    assert run["targets"]["grommunio"]["vendor"] == {"status": 201, "code": None, "message": "Success."}
    assert run["targets"]["dnl"]["vendor"]["status"] == 200
    commvault = run["targets"]["commvault"]
    assert commvault["vendor"]["code"] == 0
    assert commvault["vendor"]["message"].startswith("Successfully offboarded user ")
    assert commvault["detail"] == commvault["vendor"]["message"]
    assert run["targets"]["wso2"]["vendor"] == {
        "status": 200,
        "code": None,
        "message": f"User by username: {accounts['wso2']} was successfully removed.",
    }
    assert run["targets"]["aktion"]["vendor"] == {
        "status": 200,
        "code": 0,
        "message": "Processed with result: ExecOK",
    }
    # What the vendors show now: phones pending wipe, the rest gone.
    assert vendors.presence(accounts) == OFFBOARDED


def test_accounts_nobody_has_are_not_found_and_the_run_still_succeeds(leaver):
    accounts = {
        "grommunio": "nobody-here@example.com",
        "dnl": "nobody-here@example.com",
        "commvault": "nobody-here",
        "wso2": "nobody-here",
        "aktion": "Nobody.Here",
    }
    run = leaver.wait(leaver.start_run(accounts)["id"])
    assert run["status"] == "succeeded"
    assert {name: target["status"] for name, target in run["targets"].items()} == dict.fromkeys(
        TARGETS, "not_found"
    )
    assert all(target["attempts"] == 1 for target in run["targets"].values())
    assert run["targets"]["grommunio"]["vendor"] == {"status": 404, "code": None, "message": "User not found"}
    assert run["targets"]["dnl"]["vendor"]["status"] == 200
    assert run["targets"]["commvault"]["vendor"] == {
        "status": 200,
        "code": 2,
        "message": "User [nobody-here] does not exist.",
    }
    assert (
        run["targets"]["wso2"]["vendor"]["message"]
        == "User by username: nobody-here does not exist for removal."
    )
    assert run["targets"]["aktion"]["vendor"]["status"] == 404
    assert run["targets"]["aktion"]["vendor"]["code"] == 1400


def test_a_grommunio_user_without_devices_is_done_with_zero_devices(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    run = leaver.wait(leaver.start_run({"grommunio": accounts["grommunio"]})["id"])
    assert run["targets"] == {
        "grommunio": {
            "account": accounts["grommunio"],
            "status": "done",
            "attempts": 1,
            "detail": "0 devices",
            "vendor": {"status": 201, "code": None, "message": "Success."},
        }
    }


def test_the_configured_dnl_account_is_never_deleted(leaver):
    run = leaver.wait(leaver.start_run({"dnl": "admin@example.com"})["id"])
    assert run["status"] == "succeeded"
    target = run["targets"]["dnl"]
    assert (target["status"], target["attempts"], target["vendor"]) == ("not_found", 0, None)
    kinds = [event["data"]["kind"] for event in leaver.audit(run["id"]) if event["type"] == "request_sent"]
    assert "remove" not in kinds


def test_a_business_refusal_fails_the_target_at_once_and_the_run_is_partial(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    run = leaver.wait(leaver.start_run({"wso2": "admin", "aktion": accounts["aktion"]})["id"])
    assert run["status"] == "partial"
    wso2 = run["targets"]["wso2"]
    assert (wso2["status"], wso2["attempts"]) == ("failed", 1)
    assert wso2["vendor"] == {
        "status": 400,
        "code": None,
        "message": "User by username: admin cannot be removed.",
    }
    assert run["targets"]["aktion"]["status"] == "done"
    assert not any(event["type"] == "retry_scheduled" for event in leaver.audit(run["id"]))


def test_a_run_whose_every_target_fails_is_failed(leaver):
    run = leaver.wait(leaver.start_run({"wso2": "admin"})["id"])
    assert run["status"] == "failed"


def test_a_dry_run_only_reads(leaver, vendors):
    accounts = vendors.create_person(devices=3)
    before = vendors.presence(accounts)
    run = leaver.wait(leaver.start_run(accounts, dry_run=True)["id"])
    assert run["status"] == "planned" and run["dry_run"] is True
    assert {name: target["status"] for name, target in run["targets"].items()} == dict.fromkeys(
        TARGETS, "would_remove"
    )
    assert run["targets"]["grommunio"]["detail"] == "3 devices"
    assert run["targets"]["dnl"]["detail"] == "1 user"
    assert all(target["attempts"] == 0 for target in run["targets"].values())
    assert (
        vendors.presence(accounts)
        == before
        == {
            "grommunio": [1, 1, 1],
            "dnl": True,
            "commvault": True,
            "wso2": True,
            "aktion": True,
        }
    )
    kinds = {event["data"]["kind"] for event in leaver.audit(run["id"]) if event["type"] == "request_sent"}
    assert "lookup" in kinds and kinds <= {"login", "lookup"}


def test_a_dry_run_reports_what_is_missing_and_zero_devices(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    run = leaver.wait(
        leaver.start_run(
            {"grommunio": accounts["grommunio"], "wso2": "nobody-here", "dnl": "admin@example.com"},
            dry_run=True,
        )["id"]
    )
    assert run["status"] == "planned"
    assert run["targets"]["grommunio"]["status"] == "would_remove"
    assert run["targets"]["grommunio"]["detail"] == "0 devices"
    assert run["targets"]["wso2"]["status"] == "not_found"
    assert run["targets"]["dnl"]["status"] == "not_found"


def test_runs_are_listed_newest_first_and_filtered(leaver):
    person = f"E-list-{time.monotonic_ns()}"
    first = leaver.wait(leaver.start_run({"wso2": "nobody-here"}, person=person)["id"])
    second = leaver.wait(leaver.start_run({"wso2": "admin"}, person=person)["id"])
    answer = leaver.request("GET", "/leaver/v1/runs", params={"person": person})
    assert answer.status_code == 200
    assert [run["id"] for run in answer.json()["runs"]] == [second["id"], first["id"]]
    failed = leaver.request("GET", "/leaver/v1/runs", params={"person": person, "status": "failed"}).json()
    assert [run["id"] for run in failed["runs"]] == [second["id"]]
    limited = leaver.request("GET", "/leaver/v1/runs", params={"person": person, "limit": 1}).json()
    assert [run["id"] for run in limited["runs"]] == [second["id"]]
    assert leaver.request("GET", "/leaver/v1/runs", params={"person": "E-" + "x" * 30}).json() == {"runs": []}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "done"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_list_query_is_a_400_problem(leaver, query, field):
    answer = leaver.request("GET", "/leaver/v1/runs", params=query)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert field in problem["detail"] and field in problem["errors"]


def test_an_unknown_run_is_a_404_problem(leaver):
    for path in ("/leaver/v1/runs/nope", "/leaver/v1/runs/nope/audit"):
        answer = leaver.request("GET", path)
        assert answer.status_code == 404
        assert answer.json()["type"] == "about:blank" and answer.json()["status"] == 404
    assert leaver.request("POST", "/leaver/v1/runs/nope/retry").status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"accounts": {"wso2": "kim"}}, "person"),
        ({"person": "", "accounts": {"wso2": "kim"}}, "person"),
        ({"person": "   ", "accounts": {"wso2": "kim"}}, "person"),
        ({"person": "x" * 201, "accounts": {"wso2": "kim"}}, "person"),
        ({"person": "E\x07", "accounts": {"wso2": "kim"}}, "person"),
        ({"person": 7, "accounts": {"wso2": "kim"}}, "person"),
        ({"person": "E-1"}, "accounts"),
        ({"person": "E-1", "accounts": {}}, "accounts"),
        ({"person": "E-1", "accounts": {"okta": "kim"}}, "accounts"),
        ({"person": "E-1", "accounts": {"WSO2": "kim"}}, "accounts"),
        ({"person": "E-1", "accounts": {"wso2": ""}}, "accounts.wso2"),
        ({"person": "E-1", "accounts": {"wso2": "k\nim"}}, "accounts.wso2"),
        ({"person": "E-1", "accounts": {"wso2": "k" * 201}}, "accounts.wso2"),
        ({"person": "E-1", "accounts": {"wso2": 5}}, "accounts.wso2"),
        ({"person": "E-1", "accounts": {"wso2": "kim"}, "dry_run": "yes"}, "dry_run"),
        ({"person": "E-1", "accounts": {"wso2": "kim"}, "dry_run": 1}, "dry_run"),
        ({"person": "E-1", "accounts": {"wso2": "kim"}, "mode": "fast"}, "mode"),
    ],
)
def test_bad_input_is_a_400_problem_naming_the_field(leaver, body, field):
    answer = leaver.request("POST", "/leaver/v1/runs", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "about:blank" and problem["title"] == "Bad Request" and problem["status"] == 400
    assert field in problem["detail"]
    assert field in problem["errors"] and isinstance(problem["errors"][field], str)


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_a_400_problem(leaver, raw):
    answer = leaver.request(
        "POST", "/leaver/v1/runs", content=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["status"] == 400


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic bGVhdmVy"}]
)
def test_without_the_api_token_every_endpoint_is_a_401_problem(leaver, headers):
    for method, path in (
        ("GET", "/leaver/v1/runs"),
        ("POST", "/leaver/v1/runs"),
        ("GET", "/leaver/v1/audit/verify"),
        ("GET", "/leaver/v1/runs/x/audit"),
    ):
        answer = leaver.request(method, path, auth=False, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["status"] == 401


def test_health_readiness_openapi_and_metrics(leaver):
    assert leaver.request("GET", "/healthz", auth=False).status_code == 200
    assert leaver.request("GET", "/readyz", auth=False).status_code == 200
    spec = leaver.request("GET", "/openapi.json", auth=False).json()
    assert "/leaver/v1/runs" in spec["paths"] and "/leaver/v1/audit/verify" in spec["paths"]
    metrics = leaver.request("GET", "/metrics", auth=False)
    assert metrics.status_code == 200 and "leaver_runs_created_total" in metrics.text


def test_every_bad_field_is_named_at_once(leaver):
    answer = leaver.request(
        "POST",
        "/leaver/v1/runs",
        json={"person": "", "accounts": {"wso2": "k\tim"}, "dry_run": "no", "colour": "red"},
    )
    assert answer.status_code == 400
    problem = answer.json()
    assert set(problem["errors"]) == {"person", "accounts.wso2", "dry_run", "colour"}
    assert all(field in problem["detail"] for field in problem["errors"])


def test_the_list_holds_twenty_runs_by_default_and_matches_the_person_exactly(leaver):
    person = f"E-many-{time.monotonic_ns()}"
    ids = [
        leaver.request(
            "POST", "/leaver/v1/runs", json={"person": person, "accounts": {"wso2": "nobody-many"}}
        ).json()["id"]
        for _ in range(21)
    ]
    listed = leaver.request("GET", "/leaver/v1/runs", params={"person": person}).json()["runs"]
    assert [run["id"] for run in listed] == ids[::-1][:20]
    assert leaver.request("GET", "/leaver/v1/runs", params={"person": person[:-1]}).json() == {"runs": []}
    hundred = leaver.request("GET", "/leaver/v1/runs", params={"person": person, "limit": 100}).json()
    assert len(hundred["runs"]) == 21
    for run_id in ids:
        leaver.wait(run_id)


def test_a_repeated_list_parameter_is_a_400_problem(leaver):
    answer = leaver.request("GET", "/leaver/v1/runs", params=[("status", "failed"), ("status", "planned")])
    assert answer.status_code == 400
    assert "status" in answer.json()["errors"]


def test_times_are_rfc3339_utc(leaver):
    run = leaver.wait(leaver.start_run({"wso2": "nobody-times"})["id"])
    created = datetime.fromisoformat(run["created"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(run["finished"].replace("Z", "+00:00"))
    assert run["created"].endswith("Z") and run["finished"].endswith("Z")
    assert created <= finished <= datetime.now(UTC) + timedelta(seconds=5)
    times = [
        datetime.fromisoformat(event["time"].replace("Z", "+00:00")) for event in leaver.audit(run["id"])
    ]
    # The run is created with its first event and finished just before its last.
    assert created <= times[0] and times == sorted(times) and times[-1] >= finished


def test_an_aktion_system_user_is_not_found_in_a_run_and_a_dry_run(leaver):
    run = leaver.wait(leaver.start_run({"aktion": "admin"})["id"])
    target = run["targets"]["aktion"]
    assert (run["status"], target["status"], target["attempts"]) == ("succeeded", "not_found", 1)
    assert (target["vendor"]["status"], target["vendor"]["code"]) == (404, 1400)
    dry = leaver.wait(leaver.start_run({"aktion": "admin"}, dry_run=True)["id"])
    assert (dry["status"], dry["targets"]["aktion"]["status"]) == ("planned", "not_found")


def test_the_logs_are_json_lines(leaver):
    leaver.wait(leaver.start_run({"wso2": "nobody-logs"})["id"])
    lines = [line for line in leaver.process.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and len(records) == len(lines), [line for line in lines if not line.startswith("{")][:5]
    assert any(record.get("path") == "/leaver/v1/runs" for record in records)
