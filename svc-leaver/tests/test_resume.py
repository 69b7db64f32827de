"""Where a target taken over from a dead worker resumes: its retry budget and its scheduled wait, from the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from svc_leaver import audit
from svc_leaver.models import Base
from svc_leaver.runner import resume_point
from vendorkit.db import make_engine


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/resume.db")
    Base.metadata.create_all(engine)
    return sessionmaker(engine)


def record(sessions, target: str, event_type: str, data: dict) -> None:
    with sessions() as session, session.begin():
        audit.append(session, "run-1", target, event_type, data)


def point(sessions, target: str = "wso2"):
    with sessions() as session:
        return resume_point(session, "run-1", target)


def test_a_fresh_target_starts_now_with_its_whole_budget(sessions):
    assert point(sessions) == (0, None)


def test_a_scheduled_wait_is_resumed_and_the_failed_tries_counted(sessions):
    record(sessions, "wso2", "request_sent", {"kind": "remove", "method": "DELETE", "path": "/u"})
    record(sessions, "wso2", "response", {"kind": "remove", "status": 429, "code": None, "message": None})
    before = datetime.now(UTC)
    record(sessions, "wso2", "retry_scheduled", {"delay_ms": 5000, "reason": "rate limited (HTTP 429)"})
    record(sessions, "dnl", "retry_scheduled", {"delay_ms": 100, "reason": "HTTP 503"})
    failed, due = point(sessions)
    assert failed == 1
    assert before + timedelta(seconds=4.9) <= due <= datetime.now(UTC) + timedelta(seconds=5)
    # Once the next try has begun, nothing is left to wait for.
    record(sessions, "wso2", "request_sent", {"kind": "remove", "method": "DELETE", "path": "/u"})
    assert point(sessions) == (1, None)


def test_a_retry_of_the_run_starts_a_new_budget(sessions):
    for _ in range(3):
        record(sessions, "wso2", "retry_scheduled", {"delay_ms": 10, "reason": "HTTP 503"})
    record(sessions, "wso2", "target_finished", {"status": "failed", "attempts": 4})
    assert point(sessions) == (0, None)
    record(sessions, "wso2", "retry_scheduled", {"delay_ms": 10, "reason": "HTTP 503"})
    assert point(sessions)[0] == 1
