"""The problem dialect (RFC 9457) and the audit chain's hashing and verification."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import sessionmaker

from svc_leaver import audit
from svc_leaver.models import AuditEvent, Base
from vendorkit.db import make_engine
from vendorkit.dialects import Refusal, get_dialect
from vendorkit.dialects.problem import problem


@pytest.mark.parametrize("kind", list(Refusal))
def test_every_refusal_is_a_problem_document(kind):
    response = get_dialect("problem").refusal(kind, client_ip="192.0.2.1", method="PATCH")
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data())
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == response.status_code >= 400 and body["type"] == "about:blank"


def test_rate_limit_and_method_refusals_read_well():
    dialect = get_dialect("problem")
    limited = dialect.refusal(Refusal.RATE_LIMITED)
    assert (limited.status_code, json.loads(limited.get_data())["title"]) == (429, "Too Many Requests")
    method = json.loads(dialect.refusal(Refusal.METHOD_NOT_ALLOWED, method="PUT").get_data())
    assert method["detail"] == "Method PUT is not allowed on this resource"


def test_extension_members_ride_along():
    body = json.loads(problem(400, "Invalid request: person", errors={"person": "Required."}).get_data())
    assert body == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "Invalid request: person",
        "errors": {"person": "Required."},
    }


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/audit.db")
    Base.metadata.create_all(engine)
    return sessionmaker(engine)


def append_three(sessions):
    with sessions() as session, session.begin():
        audit.append(
            session, "run-1", None, "run_created", {"person": "Zoë", "targets": ["wso2"], "dry_run": False}
        )
        audit.append(
            session,
            "run-1",
            "wso2",
            "request_sent",
            {"kind": "login", "method": "POST", "path": "/oauth2/token"},
        )
        audit.append(session, "run-1", None, "run_finished", {"status": "succeeded"})


def test_each_hash_covers_the_previous_hash_and_the_canonical_event(sessions):
    append_three(sessions)
    with sessions() as session:
        events = audit.events_of_run(session, "run-1")
    assert [event["seq"] for event in events] == [1, 2, 3]
    assert events[0]["prev_hash"] == "0" * 64
    for before, event in zip([None, *events], events, strict=False):
        if before is not None:
            assert event["prev_hash"] == before["hash"]
        body = {key: value for key, value in event.items() if key != "hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert "Zoë" in text or event["seq"] != 1
        assert event["hash"] == hashlib.sha256((event["prev_hash"] + text).encode("utf-8")).hexdigest()
    with sessions() as session:
        assert audit.verify(session) == {"valid": True, "events": 3}


@pytest.mark.parametrize(
    "tamper, first_bad",
    [
        (update(AuditEvent).where(AuditEvent.seq == 2).values(data='{"kind":"lookup"}'), 2),
        (update(AuditEvent).where(AuditEvent.seq == 1).values(time="2020-01-01T00:00:00.000Z"), 1),
        (update(AuditEvent).where(AuditEvent.seq == 3).values(prev_hash="f" * 64), 3),
        (delete(AuditEvent).where(AuditEvent.seq == 2), 2),
        (delete(AuditEvent).where(AuditEvent.seq == 3), 3),
    ],
)
def test_a_changed_or_removed_event_is_found(sessions, tamper, first_bad):
    append_three(sessions)
    with sessions() as session, session.begin():
        session.execute(tamper)
    with sessions() as session:
        assert audit.verify(session) == {"valid": False, "first_bad_seq": first_bad}
