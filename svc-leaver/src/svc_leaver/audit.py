"""The audit log: one SHA-256 hash chain over every event of every run.

An event's ``hash`` is the hex SHA-256 of ``prev_hash`` followed by the
event's canonical JSON (the event as the API shows it, without ``hash``, keys
sorted, no whitespace, non-ASCII as itself). Appends lock the single
``audit_head`` row, so concurrent writers (threads, processes, replicas)
extend the chain one at a time, in the same transaction as the change they
record.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_leaver.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def canonical_json(value: Any) -> str:
    """The one serialisation the chain hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rfc3339(moment: datetime) -> str:
    """A UTC time (naive, as the database keeps it, or aware) as RFC 3339 text with milliseconds.

    For example ``2026-12-02T10:00:00.123Z``: the one form of every time the API shows.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def rfc3339_now() -> str:
    """Now as RFC 3339 UTC text with milliseconds."""
    return rfc3339(datetime.now(UTC))


def chain_hash(prev_hash: str, event_without_hash: dict[str, Any]) -> str:
    """The hash of an event linked after ``prev_hash``."""
    return hashlib.sha256((prev_hash + canonical_json(event_without_hash)).encode("utf-8")).hexdigest()


def event_view(event: AuditEvent) -> dict[str, Any]:
    """The event as the API shows it (and as its hash covers it, plus ``hash``)."""
    return {
        "seq": event.seq,
        "time": event.time,
        "run": event.run,
        "target": event.target,
        "type": event.type,
        "data": json.loads(event.data),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def ensure_head(session: Session) -> AuditHead:
    """The chain's head row, created at the genesis (seq 0, 64 zeros) when missing."""
    head = session.get(AuditHead, HEAD_ID, with_for_update=True)
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def append(
    session: Session, run_id: str | None, target: str | None, event_type: str, data: dict[str, Any]
) -> AuditEvent:
    """Append one event in the session's transaction (the caller commits)."""
    head = ensure_head(session)
    event = {
        "seq": head.seq + 1,
        "time": rfc3339_now(),
        "run": run_id,
        "target": target,
        "type": event_type,
        "data": data,
        "prev_hash": head.hash,
    }
    digest = chain_hash(head.hash, event)
    row = AuditEvent(
        seq=event["seq"],
        time=event["time"],
        run=run_id,
        target=target,
        type=event_type,
        data=canonical_json(data),
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(row)
    head.seq, head.hash = row.seq, digest
    return row


def events_of_run(session: Session, run_id: str) -> list[dict[str, Any]]:
    """Every event of one run, in ``seq`` order."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.run == run_id).order_by(AuditEvent.seq))
    return [event_view(row) for row in rows]


def verify(session: Session) -> dict[str, Any]:
    """``{"valid": true, "events": n}``, or ``{"valid": false, "first_bad_seq": k}`` at the first changed or missing event."""
    head = session.get(AuditHead, HEAD_ID)
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        if row.seq != expected_seq:
            return {"valid": False, "first_bad_seq": expected_seq}
        view = event_view(row)
        del view["hash"]
        if row.prev_hash != prev_hash or chain_hash(prev_hash, view) != row.hash:
            return {"valid": False, "first_bad_seq": row.seq}
        prev_hash, expected_seq, count = row.hash, expected_seq + 1, count + 1
    if head is not None and head.seq >= expected_seq:
        # The newest events were removed: the head still remembers them.
        return {"valid": False, "first_bad_seq": expected_seq}
    return {"valid": True, "events": count}
