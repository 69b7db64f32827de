"""Runs: create (idempotently), read, list and retry. Plain functions over a session."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from svc_leaver import audit, metrics
from svc_leaver.config import TARGETS, LeaverConfig
from svc_leaver.errors import Problem, invalid, run_not_found
from svc_leaver.models import IdempotencyKey, Run, Target
from svc_leaver.runner import utc_now


def run_view(run: Run) -> dict[str, Any]:
    """A run as the API shows it."""
    return {
        "id": run.id,
        "person": run.person,
        "dry_run": run.dry_run,
        "status": run.status,
        "created": audit.rfc3339(run.created),
        "finished": audit.rfc3339(run.finished) if run.finished else None,
        "targets": {
            target.name: {
                "account": target.account,
                "status": target.status,
                "attempts": target.attempts,
                "detail": target.detail,
                "vendor": json.loads(target.vendor) if target.vendor else None,
            }
            for target in run.targets
        },
    }


def fingerprint(body: dict[str, Any]) -> str:
    """Equal for JSON-equal bodies (key order and whitespace do not matter)."""
    return hashlib.sha256(audit.canonical_json(body).encode("utf-8")).hexdigest()


def create_run(
    session: Session,
    data: dict[str, Any],
    config: LeaverConfig,
    *,
    idempotency_key: str | None = None,
    body: dict[str, Any] | None = None,
) -> tuple[Run, bool]:
    """The new run and True, or the run an earlier request with the same key created and False.

    The run, its targets, its key and its ``run_created`` event are one
    transaction, so of two requests racing with one key exactly one creates
    the run; the other finds it (or a 422 when the bodies differ).
    """
    missing = {
        f"accounts.{name}": f"Target {name} is not configured."
        for name in data["accounts"]
        if name not in config.targets
    }
    if missing:
        raise invalid(missing)
    key_fingerprint = fingerprint(body if body is not None else data)
    if idempotency_key is not None:
        existing = _run_for_key(session, idempotency_key, key_fingerprint)
        if existing is not None:
            return existing, False
    names = [name for name in TARGETS if name in data["accounts"]]
    run = Run(
        id=str(uuid.uuid4()),
        person=data["person"],
        dry_run=data["dry_run"],
        status="pending",
        created=utc_now(),
        finished=None,
    )
    run.targets = [
        Target(
            name=name,
            position=position,
            account=data["accounts"][name],
            status="pending",
            attempts=0,
            removal_sent=False,
        )
        for position, name in enumerate(names)
    ]
    session.rollback()  # end the read above: the write is one transaction of its own
    try:
        with session.begin():
            session.add(run)
            session.flush()  # the run first: the key refers to it
            if idempotency_key is not None:
                session.add(
                    IdempotencyKey(
                        key=idempotency_key, fingerprint=key_fingerprint, run_id=run.id, created=run.created
                    )
                )
            session.flush()
            audit.append(
                session,
                run.id,
                None,
                "run_created",
                {"person": run.person, "targets": names, "dry_run": run.dry_run},
            )
    except IntegrityError:
        # Another request with the same key committed first.
        session.rollback()
        if idempotency_key is None:
            raise
        existing = _run_for_key(session, idempotency_key, key_fingerprint)
        if existing is None:
            raise
        return existing, False
    metrics.RUNS_CREATED.labels(dry_run=str(run.dry_run).lower()).inc()
    return run, True


def _run_for_key(session: Session, key: str, key_fingerprint: str) -> Run | None:
    row = session.get(IdempotencyKey, key)
    if row is None:
        session.rollback()
        return None
    if row.fingerprint != key_fingerprint:
        session.rollback()
        raise Problem(422, "This Idempotency-Key was already used with a different request body")
    run = get_run(session, row.run_id)
    session.rollback()
    return run


def get_run(session: Session, run_id: str) -> Run:
    """The run, or a 404 problem."""
    run = session.scalars(
        select(Run).options(selectinload(Run.targets)).where(Run.id == run_id)
    ).one_or_none()
    if run is None:
        raise run_not_found(run_id)
    return run


def list_runs(session: Session, *, person: str | None, status: str | None, limit: int) -> list[Run]:
    """Runs newest first, filtered by exact person and status."""
    query = (
        select(Run)
        .options(selectinload(Run.targets))
        .order_by(Run.created.desc(), Run.id.desc())
        .limit(limit)
    )
    if person is not None:
        query = query.where(Run.person == person)
    if status is not None:
        query = query.where(Run.status == status)
    return list(session.scalars(query))


def retry_run(session: Session, run_id: str, enqueue: Callable[[str, list[str]], None]) -> Run:
    """Send the failed targets of a finished run again (409 while it runs, for a dry run, or without failures)."""
    with session.begin():
        run = session.scalars(select(Run).where(Run.id == run_id).with_for_update()).one_or_none()
        if run is None:
            raise run_not_found(run_id)
        if run.status in ("pending", "running"):
            raise Problem(409, f"Run {run_id} is still {run.status}; retry it once it has finished")
        if run.dry_run:
            raise Problem(409, "A dry run cannot be retried; start a new one")
        failed = [target.name for target in run.targets if target.status == "failed"]
        if not failed:
            raise Problem(409, f"Run {run_id} has no failed target to retry")
        session.execute(
            update(Target)
            .where(Target.run_id == run_id, Target.status == "failed")
            .values(status="pending", lease_owner=None, lease_expires=None)
        )
        run.status, run.finished = "running", None
    enqueue(run_id, failed)
    session.expire_all()
    return get_run(session, run_id)
