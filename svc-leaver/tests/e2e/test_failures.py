"""Every failure path, end to end: vendors answering 503, rate limits with Retry-After, lost answers,
exhausted attempts and their retry, expired sessions, refusals that are not retried.

svc-leaver calls the five real services through the real gateway, and each
fault is created with the gateway's ``POST /_gateway/faults`` (its journal,
``GET /_gateway/requests``, shows what svc-leaver sent). Only the expired
sessions come from a small proxy before the gateway (``sessionproxy.py``):
a session the vendor refuses is the vendor's answer, not a gateway fault. The faulty svc-leaver
retries quickly: 4 attempts, 20 ms base delay, 200 ms cap.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from .conftest import REMOVALS


def events_of(leaver, run_id: str, target: str, event_type: str) -> list[dict]:
    return [e for e in leaver.audit(run_id) if e["target"] == target and e["type"] == event_type]


def test_a_vendor_answering_503_twice_is_retried_and_the_target_done(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("wso2", "unavailable", methods=["DELETE"], path="/mdm-admin/users", times=2)
    run = faulty_leaver.wait(faulty_leaver.start_run({"wso2": accounts["wso2"]})["id"])
    target = run["targets"]["wso2"]
    assert (run["status"], target["status"], target["attempts"]) == ("succeeded", "done", 3)
    assert target["vendor"]["status"] == 200
    retries = events_of(faulty_leaver, run["id"], "wso2", "retry_scheduled")
    assert [event["data"]["reason"] for event in retries] == ["HTTP 503", "HTTP 503"]
    assert all(0 <= event["data"]["delay_ms"] <= 200 for event in retries)
    responses = [e["data"] for e in events_of(faulty_leaver, run["id"], "wso2", "response")]
    assert [r["status"] for r in responses if r["kind"] == "remove"] == [503, 503, 200]
    assert vendors.presence({"wso2": accounts["wso2"]}) == {"wso2": False}


def test_a_rate_limit_with_retry_after_is_waited_for(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("commvault", "rate_limited", path="/webconsole/api/User/Offboard", times=1, retry_after=1)
    started = time.monotonic()
    run = faulty_leaver.wait(faulty_leaver.start_run({"commvault": accounts["commvault"]})["id"])
    assert time.monotonic() - started >= 1.0
    target = run["targets"]["commvault"]
    assert (target["status"], target["attempts"]) == ("done", 2)
    [retry] = events_of(faulty_leaver, run["id"], "commvault", "retry_scheduled")
    # Retry-After wins over max_delay_ms (200 ms here).
    assert retry["data"] == {"delay_ms": 1000, "reason": "rate limited (HTTP 429)"}


def test_aktions_own_rate_limit_refusal_1008_is_retried(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("aktion", "rate_limited", path="/AktionNEXT/API/user/remove", times=2, retry_after=0)
    run = faulty_leaver.wait(faulty_leaver.start_run({"aktion": accounts["aktion"]})["id"])
    target = run["targets"]["aktion"]
    assert (target["status"], target["attempts"]) == ("done", 3)
    answers = [e["data"] for e in events_of(faulty_leaver, run["id"], "aktion", "response")]
    removals = [(r["status"], r["code"]) for r in answers if r["kind"] == "remove"]
    assert removals == [(401, 1008), (401, 1008), (200, 0)]
    reasons = [e["data"]["reason"] for e in events_of(faulty_leaver, run["id"], "aktion", "retry_scheduled")]
    assert reasons == ["rate limited (HTTP 401)"] * 2


def test_a_retry_after_beyond_60_seconds_fails_the_target(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("wso2", "rate_limited", methods=["DELETE"], times=1, retry_after=61)
    run = faulty_leaver.wait(faulty_leaver.start_run({"wso2": accounts["wso2"]})["id"])
    target = run["targets"]["wso2"]
    assert (run["status"], target["status"], target["attempts"]) == ("failed", "failed", 1)
    assert target["vendor"]["status"] == 429
    assert "Retry-After" in target["detail"]


@pytest.mark.parametrize("action", ["unavailable", "reset"])
@pytest.mark.parametrize("name", list(REMOVALS))
def test_an_answer_lost_after_the_removal_counts_as_done(faulty_leaver, faults, vendors, name, action):
    accounts = vendors.create_person(devices=1)
    method, path = REMOVALS[name]
    faults.fault(name, action, methods=[method], path=path, when="after", times=1)
    run = faulty_leaver.wait(faulty_leaver.start_run({name: accounts[name]})["id"])
    target = run["targets"][name]
    assert (run["status"], target["status"], target["attempts"]) == ("succeeded", "done", 2), target
    # The first removal did reach the vendor: the person is gone (grommunio: wipe pending).
    assert vendors.presence({name: accounts[name]})[name] in (False, [2])
    removals = [e for e in faults.journal(name) if e["method"] == method and e["path"].startswith(path)]
    # The gateway forwarded both removals; it withheld the first one's answer.
    assert [e["refused"] for e in removals] == ["fault", None]
    assert all(e["upstream"] for e in removals)


def test_exhausted_attempts_fail_the_target_and_retry_runs_it_again(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("dnl", "unavailable", methods=["DELETE"], path="/v1/user/all", times=4)
    run = faulty_leaver.wait(
        faulty_leaver.start_run({"dnl": accounts["dnl"], "wso2": accounts["wso2"]})["id"]
    )
    assert run["status"] == "partial"
    dnl = run["targets"]["dnl"]
    assert (dnl["status"], dnl["attempts"]) == ("failed", 4)
    assert dnl["vendor"]["status"] == 503
    assert run["targets"]["wso2"]["status"] == "done"
    assert len(events_of(faulty_leaver, run["id"], "dnl", "retry_scheduled")) == 3
    # Exactly as many removals reached the gateway as attempts were counted, each refused by the fault.
    sent = [e for e in faults.journal("dnl") if e["method"] == "DELETE"]
    assert [(e["path"], e["status"], e["refused"]) for e in sent] == [("/v1/user/all", 503, "fault")] * 4

    answer = faulty_leaver.request("POST", f"/leaver/v1/runs/{run['id']}/retry")
    assert answer.status_code == 202
    assert answer.headers["Location"] == f"/leaver/v1/runs/{run['id']}"
    again = answer.json()
    assert again["status"] in ("pending", "running") and again["finished"] is None
    assert again["targets"]["wso2"]["status"] == "done"
    run = faulty_leaver.wait(run["id"])
    assert run["status"] == "succeeded"
    assert (run["targets"]["dnl"]["status"], run["targets"]["dnl"]["attempts"]) == ("done", 5)
    assert run["targets"]["wso2"]["attempts"] == 1
    finished = [e["data"] for e in faulty_leaver.audit(run["id"]) if e["type"] == "run_finished"]
    assert finished == [{"status": "partial"}, {"status": "succeeded"}]
    assert vendors.presence({"dnl": accounts["dnl"]}) == {"dnl": False}

    # Nothing failed any more.
    conflict = faulty_leaver.request("POST", f"/leaver/v1/runs/{run['id']}/retry")
    assert conflict.status_code == 409
    assert conflict.headers["Content-Type"] == "application/problem+json"


def test_retry_is_a_409_while_running_and_for_a_dry_run(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("wso2", "rate_limited", methods=["DELETE"], times=1, retry_after=2)
    run = faulty_leaver.start_run({"wso2": accounts["wso2"]})
    time.sleep(0.5)
    assert faulty_leaver.run(run["id"])["status"] == "running"
    assert faulty_leaver.run(run["id"])["targets"]["wso2"]["status"] == "retrying"
    assert faulty_leaver.request("POST", f"/leaver/v1/runs/{run['id']}/retry").status_code == 409
    faulty_leaver.wait(run["id"])

    faults.fault("wso2", "unavailable", times=10)
    dry = faulty_leaver.wait(faulty_leaver.start_run({"wso2": "nobody"}, dry_run=True)["id"])
    assert dry["status"] == "failed" and dry["targets"]["wso2"]["status"] == "failed"
    assert faulty_leaver.request("POST", f"/leaver/v1/runs/{dry['id']}/retry").status_code == 409


def test_a_dry_run_lookup_that_keeps_failing_is_retried_then_failed(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("aktion", "unavailable", path="/AktionNEXT/API/user/get", times=10)
    run = faulty_leaver.wait(
        faulty_leaver.start_run({"aktion": accounts["aktion"], "wso2": accounts["wso2"]}, dry_run=True)["id"]
    )
    assert run["status"] == "partial"
    aktion = run["targets"]["aktion"]
    assert (aktion["status"], aktion["attempts"]) == ("failed", 0)
    assert len(events_of(faulty_leaver, run["id"], "aktion", "retry_scheduled")) == 3
    assert run["targets"]["wso2"]["status"] == "would_remove"
    assert vendors.presence({"aktion": accounts["aktion"]}) == {"aktion": True}


@pytest.mark.parametrize(
    "name, method, path",
    [
        ("grommunio", "POST", "/api/v1/service/wipe/"),
        ("dnl", "DELETE", "/v1/user/all"),
        ("commvault", "POST", "/webconsole/api/User/Offboard"),
        ("wso2", "DELETE", "/mdm-admin/users"),
        ("aktion", "POST", "/AktionNEXT/API/user/remove"),
    ],
)
def test_an_expired_session_is_renewed_once_without_counting_an_attempt(
    proxied_leaver, refusals, vendors, name, method, path
):
    accounts = vendors.create_person(devices=1)
    refusals[name].refuse(methods=[method], path=path)
    run = proxied_leaver.wait(proxied_leaver.start_run({name: accounts[name]})["id"])
    target = run["targets"][name]
    assert (target["status"], target["attempts"]) == ("done", 1), target
    sent = [e["data"]["kind"] for e in events_of(proxied_leaver, run["id"], name, "request_sent")]
    # The refused removal, a new login, the removal again (grommunio then reads the devices back).
    first_removal = sent.index("remove")
    assert sent[first_removal : first_removal + 3] == ["remove", "login", "remove"]
    assert sent.count("remove") == 2
    assert not events_of(proxied_leaver, run["id"], name, "retry_scheduled")


def test_a_session_refused_again_after_logging_in_fails_the_target(proxied_leaver, refusals, vendors):
    accounts = vendors.create_person(devices=0)
    refusals["wso2"].refuse(methods=["DELETE"], path="/mdm-admin/users", times=2)
    run = proxied_leaver.wait(proxied_leaver.start_run({"wso2": accounts["wso2"]})["id"])
    target = run["targets"]["wso2"]
    assert (target["status"], target["attempts"]) == ("failed", 1)
    assert target["vendor"]["status"] == 401


def test_a_vendor_that_cannot_be_reached_leaves_vendor_null(faulty_leaver, faults):
    faults.fault("commvault", "timeout", delay_ms=3500, times=4)  # longer than the read timeout (3 s)
    run = faulty_leaver.wait(faulty_leaver.start_run({"commvault": "kim"})["id"], timeout=60)
    target = run["targets"]["commvault"]
    assert (target["status"], target["vendor"]) == ("failed", None)
    responses = [e["data"] for e in events_of(faulty_leaver, run["id"], "commvault", "response")]
    assert responses and all(r["status"] is None and r["error"].startswith("timeout") for r in responses)


def test_the_gateway_journal_shows_every_attempt_and_no_secret(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("wso2", "bad_gateway", methods=["DELETE"], path="/mdm-admin/users", times=2)
    run = faulty_leaver.wait(faulty_leaver.start_run({"wso2": accounts["wso2"]})["id"])
    assert (run["targets"]["wso2"]["status"], run["targets"]["wso2"]["attempts"]) == ("done", 3)
    journal = faults.journal("wso2")
    removals = [e for e in journal if e["method"] == "DELETE"]
    # Three removals of this person left svc-leaver: two refused by the gateway, the third removed them.
    assert [(e["path"], e["query"], e["status"], e["refused"]) for e in removals] == [
        ("/mdm-admin/users", f"username={accounts['wso2']}", 502, "fault"),
        ("/mdm-admin/users", f"username={accounts['wso2']}", 502, "fault"),
        ("/mdm-admin/users", f"username={accounts['wso2']}", 200, None),
    ]
    assert [e["upstream"] is not None for e in removals] == [False, False, True]
    # Each removal carried its session, and the journal kept none of it nor any password or key.
    assert {e["request"]["headers"]["authorization"] for e in removals} == {"[redacted]"}
    logins = [e for e in journal if e["path"] == "/oauth2/token"]
    assert all("[redacted]" in e["response"]["body"] for e in logins)
    whole = repr(journal)
    for secret in ("admin-demo", "api-demo-key", "leaver-demo-token"):
        assert secret not in whole


def test_a_gateway_timeout_504_and_a_reset_connection_are_retried(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    # The gateway waits 50 ms, then answers 504 in the vendor's envelope; the removal never got there.
    faults.fault("wso2", "timeout", methods=["DELETE"], path="/mdm-admin/users", delay_ms=50, times=1)
    # The connection is closed without an answer, before the removal reaches the vendor.
    faults.fault("commvault", "reset", path="/webconsole/api/User/Offboard", times=1)
    run = faulty_leaver.wait(
        faulty_leaver.start_run({"wso2": accounts["wso2"], "commvault": accounts["commvault"]})["id"]
    )
    assert run["status"] == "succeeded"
    for name in ("wso2", "commvault"):
        target = run["targets"][name]
        assert (target["status"], target["attempts"]) == ("done", 2), (name, target)
    [wso2_retry] = events_of(faulty_leaver, run["id"], "wso2", "retry_scheduled")
    assert wso2_retry["data"]["reason"] == "HTTP 504"
    [commvault_retry] = events_of(faulty_leaver, run["id"], "commvault", "retry_scheduled")
    assert commvault_retry["data"]["reason"].startswith("connection failed")
    [lost] = [
        e["data"]
        for e in events_of(faulty_leaver, run["id"], "commvault", "response")
        if e["data"]["status"] is None
    ]
    assert lost["kind"] == "remove" and lost["error"].startswith("connection failed")
    assert vendors.presence({"wso2": accounts["wso2"], "commvault": accounts["commvault"]}) == {
        "wso2": False,
        "commvault": False,
    }


def test_the_backoff_is_full_jitter_from_the_base_delay_capped(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    faults.fault("dnl", "unavailable", methods=["DELETE"], path="/v1/user/all", times=3)
    run = faulty_leaver.wait(faulty_leaver.start_run({"dnl": accounts["dnl"]})["id"])
    assert (run["targets"]["dnl"]["status"], run["targets"]["dnl"]["attempts"]) == ("done", 4)
    delays = [e["data"]["delay_ms"] for e in events_of(faulty_leaver, run["id"], "dnl", "retry_scheduled")]
    # base 20 ms, doubling, capped at 200 ms: at most 20, 40, 80.
    assert len(delays) == 3
    assert all(0 <= delay <= 20 * 2**n for n, delay in enumerate(delays)), delays
    answers = [e["data"] for e in events_of(faulty_leaver, run["id"], "dnl", "response")]
    removals = [(a["status"], a["code"], a["message"]) for a in answers if a["kind"] == "remove"]
    # dnl's own code and message are error.code and error.message of its envelope (none on success).
    assert removals == [(503, 503, "Service unavailable")] * 3 + [(200, None, None)]


def test_the_targets_of_a_run_proceed_concurrently(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    for name, (method, path) in REMOVALS.items():
        faults.fault(name, "delay", methods=[method], path=path, delay_ms=2000, times=1)
    started = time.monotonic()
    run = faulty_leaver.wait(faulty_leaver.start_run(accounts)["id"])
    elapsed = time.monotonic() - started
    assert run["status"] == "succeeded"
    # One after another, the five removals alone would take 10 s.
    assert 2.0 <= elapsed < 7.0, elapsed


def removal_requests(journal: list[dict]) -> list[dict]:
    return [e for e in journal if e["method"] in ("POST", "DELETE") and not _is_login(e["path"])]


def _is_login(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in ("login", "auth", "Login", "token")


def test_each_vendor_gets_exactly_the_documented_requests_and_each_is_audited(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=1)
    run = faulty_leaver.wait(faulty_leaver.start_run(accounts)["id"])
    assert run["status"] == "succeeded"
    events = faulty_leaver.audit(run["id"])
    for name in accounts:
        journal = faults.journal(name)
        # Every request the gateway saw from svc-leaver is audited, in order, without its query string.
        sent = [
            (e["data"]["method"], e["data"]["path"])
            for e in events
            if e["target"] == name and e["type"] == "request_sent"
        ]
        assert [(e["method"], e["path"]) for e in journal] == sent, name
        answers = [e["data"]["status"] for e in events if e["target"] == name and e["type"] == "response"]
        assert [e["status"] for e in journal] == answers, name
        [removal] = removal_requests(journal)
        body = json.loads(removal["request"]["body"]) if removal["request"]["body"] else None
        if name == "grommunio":
            # One wipe of every device (no "devices"), status 2, with the administrator's password.
            assert (removal["method"], removal["path"]) == ("POST", f"/api/v1/service/wipe/{accounts[name]}")
            assert removal["query"] in ("", None)
            assert body == {"status": 2, "password": "[redacted]"}
            assert removal["request"]["headers"]["x-csrf-token"] == "[redacted]"
        elif name == "dnl":
            assert (removal["method"], removal["path"]) == ("DELETE", "/v1/user/all")
            assert parse_qs(removal["query"]) == {"email": [accounts[name]]}
        elif name == "commvault":
            assert (removal["method"], removal["path"]) == ("POST", "/webconsole/api/User/Offboard")
            assert body == {"userName": accounts[name]}
        elif name == "wso2":
            assert (removal["method"], removal["path"], removal["query"]) == (
                "DELETE",
                "/mdm-admin/users",
                f"username={accounts[name]}",
            )
        else:
            assert (removal["method"], removal["path"]) == ("POST", "/AktionNEXT/API/user/remove")
            assert removal["query"] == "Token=[redacted]"
            assert body == {"LoginName": accounts[name]}


def test_only_the_named_targets_are_touched(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=0)
    run = faulty_leaver.wait(faulty_leaver.start_run({"commvault": accounts["commvault"]})["id"])
    assert list(run["targets"]) == ["commvault"] and run["status"] == "succeeded"
    assert len(removal_requests(faults.journal("commvault"))) == 1
    for name in ("grommunio", "dnl", "wso2", "aktion"):
        assert faults.journal(name) == [], name
    assert vendors.presence(accounts) == {
        "grommunio": [],
        "dnl": True,
        "commvault": False,
        "wso2": True,
        "aktion": True,
    }


def test_a_dry_run_sends_only_logins_and_reads(faulty_leaver, faults, vendors):
    accounts = vendors.create_person(devices=2)
    run = faulty_leaver.wait(faulty_leaver.start_run(accounts, dry_run=True)["id"])
    assert run["status"] == "planned"
    for name in accounts:
        journal = faults.journal(name)
        assert journal, name
        writes = [e for e in journal if e["method"] != "GET"]
        # Only logins write anything at a vendor (sessions, tokens).
        assert all(_is_login(e["path"]) for e in writes), (name, writes)
        assert [e["method"] for e in journal if not _is_login(e["path"])] == ["GET"], name
