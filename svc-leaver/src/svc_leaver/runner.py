"""Executing one target of a run: claim it, talk to the vendor, record every step, finish the run.

Everything here is plain functions over a session factory; the task queue
(``svc_leaver.queue``) only decides where and when they run. Progress is
committed as it happens, under a *lease*: the worker holding a target renews
its claim with every write, and a target whose claim lapsed (its worker died)
is taken over by the next recovery. Because "removal sent" is stored before
the request leaves, a resumed target that finds the account gone knows this
run removed it, and counts it ``done``.
"""

from __future__ import annotations

import json
import logging
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from svc_leaver import audit, metrics
from svc_leaver.backoff import next_delay
from svc_leaver.clients import CLIENTS, Answer, Outcome, VendorClient
from svc_leaver.clients.base import SilentObserver
from svc_leaver.config import LeaverConfig
from svc_leaver.models import AuditEvent, Run, Target

log = logging.getLogger("svc_leaver.runner")

ACTIVE_TARGET = ("pending", "running", "retrying")
FINAL_TARGET = ("done", "not_found", "failed", "would_remove")
ACTIVE_RUN = ("pending", "running")


class LeaseLost(Exception):
    """Another worker took the target over (this one was presumed dead): stop without writing."""


def utc_now() -> datetime:
    """Now as a naive UTC datetime (what the tables store)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Runtime:
    """What executing targets needs: the database, the vendors' configuration, the claim length."""

    sessions: sessionmaker[Session]
    config: LeaverConfig
    lease_seconds: float
    client_factory: Callable[..., VendorClient] | None = None
    # Logged-in clients not in use, per vendor: a run reuses a live session instead of logging in again.
    idle_clients: dict[str, queue.SimpleQueue[VendorClient]] = field(default_factory=dict)

    @contextmanager
    def transaction(self):
        with self.sessions() as session, session.begin():
            yield session

    def new_client(self, name: str) -> VendorClient:
        """A client of vendor ``name`` from the configuration, not logged in yet."""
        target = self.config.targets[name]
        factory = self.client_factory or CLIENTS[name]
        return factory(
            target.base_url,
            target.username,
            target.secret,
            connect_timeout=self.config.timeouts.connect,
            read_timeout=self.config.timeouts.read,
        )

    @contextmanager
    def client(self, name: str, observer) -> Iterator[VendorClient]:
        """A client of vendor ``name`` reporting to ``observer``, with a live session when one is idle."""
        idle = self.idle_clients.setdefault(name, queue.SimpleQueue())
        try:
            client = idle.get_nowait()
        except queue.Empty:
            client = self.new_client(name)
        client.observer = observer
        try:
            yield client
        except BaseException:
            client.close()
            raise
        client.observer = SilentObserver()
        idle.put(client)


class Progress:
    """The observer of one target's execution: audits each request and answer, counts attempts, renews the lease."""

    def __init__(self, runtime: Runtime, target_id: int, run_id: str, name: str, owner: str, *, sent: bool):
        self.runtime, self.target_id, self.run_id, self.name, self.owner = (
            runtime,
            target_id,
            run_id,
            name,
            owner,
        )
        self.removal_sent = sent
        self.last_answer: Answer | None = None

    def write(self, event_type: str, data: dict[str, Any], **changes: Any) -> None:
        """Apply ``changes`` to the target and append one audit event, in one transaction, if still ours."""
        expires = utc_now() + timedelta(seconds=self.runtime.lease_seconds)
        with self.runtime.transaction() as session:
            values = {"lease_expires": expires, **changes}
            result = session.execute(
                update(Target)
                .where(Target.id == self.target_id, Target.lease_owner == self.owner)
                .values(**values)
            )
            if result.rowcount != 1:
                raise LeaseLost(self.name)
            audit.append(session, self.run_id, self.name, event_type, data)

    def renew(self, **changes: Any) -> None:
        """Extend the claim (and apply ``changes`` to the target), if still ours."""
        with self.runtime.transaction() as session:
            result = session.execute(
                update(Target)
                .where(Target.id == self.target_id, Target.lease_owner == self.owner)
                .values(lease_expires=utc_now() + timedelta(seconds=self.runtime.lease_seconds), **changes)
            )
            if result.rowcount != 1:
                raise LeaseLost(self.name)

    def request_sent(self, kind: str, method: str, path: str, *, repeat: bool) -> None:
        changes: dict[str, Any] = {}
        if kind == "remove":
            # Stored before the request leaves: a crash after this point still knows it was sent.
            changes["removal_sent"] = True
            if not repeat:
                changes["attempts"] = Target.attempts + 1
            self.removal_sent = True
        self.write("request_sent", {"kind": kind, "method": method, "path": path}, **changes)
        metrics.VENDOR_REQUESTS.labels(target=self.name, kind=kind).inc()

    def response(self, kind: str, answer: Answer) -> None:
        data: dict[str, Any] = {
            "kind": kind,
            "status": answer.status,
            "code": answer.code,
            "message": answer.message,
        }
        if answer.status is None:
            data["error"] = answer.error
        self.last_answer = answer
        self.write("response", data, vendor=_vendor_text(answer))

    def sleep(self, seconds: float) -> None:
        """Wait, renewing the claim often enough that nobody takes the target over meanwhile."""
        deadline = time.monotonic() + seconds
        step = max(0.05, self.runtime.lease_seconds / 3)
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(step, remaining))
            if deadline - time.monotonic() > 0:
                self.renew()


def _vendor_text(answer: Answer | None) -> str | None:
    view = answer.vendor_view() if answer is not None else None
    return None if view is None else json.dumps(view)


def claim(runtime: Runtime, run_id: str, name: str, owner: str) -> Target | None:
    """Take the target if it still needs work and nobody holds a live claim; None otherwise."""
    now = utc_now()
    with runtime.transaction() as session:
        active_run = select(Run.id).where(Run.id == run_id, Run.status.in_(ACTIVE_RUN)).scalar_subquery()
        result = session.execute(
            update(Target)
            .where(
                Target.run_id == active_run,
                Target.name == name,
                Target.status.in_(ACTIVE_TARGET),
                or_(Target.lease_expires.is_(None), Target.lease_expires < now),
            )
            .values(
                lease_owner=owner,
                lease_expires=now + timedelta(seconds=runtime.lease_seconds),
                status="running",
            )
        )
        if result.rowcount != 1:
            return None
        session.execute(update(Run).where(Run.id == run_id, Run.status == "pending").values(status="running"))
        return session.scalars(select(Target).where(Target.run_id == run_id, Target.name == name)).one()


def execute_target(runtime: Runtime, run_id: str, name: str) -> str | None:
    """Carry one target of a run to its final status; returns it (None when another worker has it)."""
    owner = str(uuid.uuid4())
    target = claim(runtime, run_id, name, owner)
    if target is None:
        return None
    with runtime.sessions() as session:
        dry_run = session.scalar(select(Run.dry_run).where(Run.id == run_id))
        failed_tries, due = resume_point(session, run_id, name)
    progress = Progress(runtime, target.id, run_id, name, owner, sent=target.removal_sent)
    started = time.monotonic()
    try:
        wait = (due - datetime.now(UTC)).total_seconds() if due is not None else 0.0
        if wait > 0:
            # Taken over from a worker that died while waiting: its wait (a vendor's Retry-After) still holds.
            progress.renew(status="retrying")
            progress.sleep(wait)
        with runtime.client(name, progress) as client:
            outcome = _drive(runtime, client, progress, target.account, bool(dry_run), failed_tries)
        status = _finish(runtime, progress, outcome)
    except LeaseLost:
        log.warning("lost the claim on a target", extra={"fields": {"run": run_id, "target": name}})
        return None
    metrics.TARGET_SECONDS.labels(target=name, status=status).observe(time.monotonic() - started)
    finish_run_if_complete(runtime, run_id)
    return status


def resume_point(session: Session, run_id: str, name: str) -> tuple[int, datetime | None]:
    """The failed tries of the target's current round and when its next try is due (None: now).

    Both come from the target's audit events since its last ``target_finished`` (a
    retry of the run starts a new round), so a worker taking over from a dead one
    continues the same retry budget and honours the wait the dead one scheduled.
    """
    events = session.execute(
        select(AuditEvent.type, AuditEvent.time, AuditEvent.data)
        .where(AuditEvent.run == run_id, AuditEvent.target == name)
        .order_by(AuditEvent.seq)
    ).all()
    failed_tries, due = 0, None
    for event_type, moment, data in events:
        if event_type == "target_finished":
            failed_tries, due = 0, None
        elif event_type == "retry_scheduled":
            failed_tries += 1
            delay = timedelta(milliseconds=json.loads(data)["delay_ms"])
            due = datetime.fromisoformat(moment.replace("Z", "+00:00")) + delay
        else:
            due = None  # the scheduled try has begun
    return failed_tries, due


def _drive(
    runtime: Runtime,
    client: VendorClient,
    progress: Progress,
    account: str,
    dry_run: bool,
    failed_tries: int = 0,
) -> Outcome:
    policy = runtime.config.retry
    tries = failed_tries
    while True:
        tries += 1
        if dry_run:
            outcome = client.lookup(account)
        else:
            outcome = client.remove(account, removal_sent_before=progress.removal_sent)
        if outcome.kind != "retry":
            return outcome
        retry_after = outcome.answer.retry_after if outcome.answer is not None else None
        delay = next_delay(policy, tries, retry_after)
        if delay.give_up:
            return Outcome("failed", outcome.answer, detail=f"{outcome.reason}; {delay.give_up}")
        delay_ms = round(delay.seconds * 1000)
        progress.write("retry_scheduled", {"delay_ms": delay_ms, "reason": outcome.reason}, status="retrying")
        metrics.RETRIES.labels(target=progress.name).inc()
        progress.sleep(delay.seconds)


def _finish(runtime: Runtime, progress: Progress, outcome: Outcome) -> str:
    answer = outcome.answer
    with runtime.transaction() as session:
        target = session.get(Target, progress.target_id, with_for_update=True)
        if target is None or target.lease_owner != progress.owner:
            raise LeaseLost(progress.name)
        target.status = outcome.kind
        target.detail = outcome.detail
        target.vendor = _vendor_text(answer)
        target.lease_owner = None
        target.lease_expires = None
        audit.append(
            session,
            progress.run_id,
            progress.name,
            "target_finished",
            {"status": outcome.kind, "attempts": target.attempts},
        )
        return outcome.kind


def run_status(dry_run: bool, statuses: list[str]) -> str:
    """A finished run's status from its targets' final statuses."""
    failed = statuses.count("failed")
    if failed == len(statuses):
        return "failed"
    if failed:
        return "partial"
    return "planned" if dry_run else "succeeded"


def finish_run_if_complete(runtime: Runtime, run_id: str) -> str | None:
    """Close the run once every target is final (exactly one caller records ``run_finished``)."""
    with runtime.transaction() as session:
        run = session.scalars(select(Run).where(Run.id == run_id).with_for_update()).one_or_none()
        if run is None or run.status not in ACTIVE_RUN:
            return None
        statuses = [target.status for target in run.targets]
        if any(status not in FINAL_TARGET for status in statuses):
            return None
        run.status = run_status(run.dry_run, statuses)
        run.finished = utc_now()
        audit.append(session, run.id, None, "run_finished", {"status": run.status})
        metrics.RUNS_FINISHED.labels(status=run.status).inc()
        return run.status


def stalled(runtime: Runtime) -> tuple[list[tuple[str, str]], datetime | None]:
    """Targets needing a worker (unclaimed or with a lapsed claim), and when the next live claim lapses."""
    now = utc_now()
    with runtime.sessions() as session:
        active = and_(Target.run_id == Run.id, Run.status.in_(ACTIVE_RUN), Target.status.in_(ACTIVE_TARGET))
        orphans = session.execute(
            select(Target.run_id, Target.name)
            .where(active, or_(Target.lease_expires.is_(None), Target.lease_expires < now))
            .order_by(Target.run_id, Target.position)
        ).all()
        next_lapse = session.scalar(
            select(func.min(Target.lease_expires)).where(active, Target.lease_expires >= now)
        )
        complete = session.scalars(
            select(Run.id).where(
                Run.status.in_(ACTIVE_RUN),
                ~select(Target.id)
                .where(Target.run_id == Run.id, Target.status.not_in(FINAL_TARGET))
                .exists(),
            )
        ).all()
    for run_id in complete:
        # A worker died between its target's last write and closing the run.
        finish_run_if_complete(runtime, run_id)
    return [(run_id, name) for run_id, name in orphans], next_lapse
