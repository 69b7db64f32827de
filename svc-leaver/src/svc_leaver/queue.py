"""The task queue that carries runs: huey, on the service's own database or on Redis.

Why huey: it is maintained, small, and stores its queue in SQLite (``make
run``: the service's own database file), PostgreSQL (the service's own
database in production) or Redis, behind one API. One task executes one
target, so the targets of a run proceed in parallel on the consumer's
threads.

Where the consumer runs: ``LEAVER_CONSUMER=inprocess`` (the default, used by
``make run``) starts one inside each web process, so a single command runs
everything; ``none`` leaves it to ``leaver worker`` processes, which a
deployment scales apart from the API. Either way a consumer's death loses at
most the targets it was executing, and those are not lost for long: their
claims lapse and the recovery task (at every consumer start, every minute,
and whenever a claim is due to lapse) gives them to a live worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from huey import MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy.engine import make_url

from svc_leaver import runner
from vendorkit.db import normalize_url

log = logging.getLogger("svc_leaver.queue")


def make_huey(queue_url: str, name: str) -> Huey:
    """A huey instance on ``queue_url``: sqlite:///file, postgresql://..., redis://..., or memory://."""
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=queue_url, results=False)
    if queue_url.startswith("memory://"):
        return MemoryHuey(name, results=False)
    url = make_url(normalize_url(queue_url))
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            return MemoryHuey(name, results=False)
        return SqliteHuey(name, filename=database, results=False, timeout=30)
    if backend == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHuey(name, dsn=dsn, results=False)
    raise ValueError(f"unsupported queue URL scheme: {url.drivername}")


class InProcessConsumer(Consumer):
    """A huey consumer living inside a web process: the server owns the process's signals."""

    def _set_signal_handlers(self) -> None:
        pass


@dataclass
class LeaverQueue:
    """The huey instance with svc-leaver's tasks, bound to one runtime."""

    huey: Huey
    runtime: runner.Runtime
    workers: int

    @classmethod
    def create(cls, runtime: runner.Runtime, settings: dict[str, Any]) -> LeaverQueue:
        queue_url = settings["LEAVER_QUEUE_URL"] or settings["DATABASE_URL"]
        queue = cls(make_huey(queue_url, settings["LEAVER_QUEUE_NAME"]), runtime, settings["LEAVER_WORKERS"])
        queue._register_tasks()
        return queue

    def _register_tasks(self) -> None:
        huey, runtime = self.huey, self.runtime

        @huey.task(name="execute_target")
        def execute_target(run_id: str, name: str) -> None:
            runner.execute_target(runtime, run_id, name)

        @huey.task(name="recover")
        def recover() -> None:
            self.recover()

        @huey.periodic_task(crontab(minute="*"), name="recover_every_minute")
        def recover_every_minute() -> None:
            self.recover()

        self._execute_target, self._recover = execute_target, recover

    def enqueue(self, run_id: str, names: list[str]) -> bool:
        """Queue one task per target (they run in parallel on the consumers' threads); False if the queue is down.

        The run is stored before this is called, so a queue outage only delays
        it: the recovery that every consumer runs when it starts, and every
        minute, queues the targets nobody holds.
        """
        try:
            for name in names:
                self._execute_target(run_id, name)
        except Exception as exc:  # the queue's storage (Redis, the database) is unreachable
            log.warning(
                "queue unavailable; the run starts at the next recovery",
                extra={"fields": {"run": run_id, "error": type(exc).__name__}},
            )
            return False
        return True

    def recover(self) -> int:
        """Queue the targets whose worker is gone; check again when the next live claim may lapse."""
        orphans, next_lapse = runner.stalled(self.runtime)
        for run_id, name in orphans:
            self._execute_target(run_id, name)
        if orphans:
            log.info("resuming targets", extra={"fields": {"targets": len(orphans)}})
        if next_lapse is not None:
            eta = (next_lapse + timedelta(milliseconds=500)).replace(tzinfo=UTC)
            self._recover.schedule(eta=eta)
        return len(orphans)

    def consumer(self, *, in_process: bool) -> Consumer:
        """A consumer of this queue with ``workers`` threads, polling often enough for interactive runs."""
        consumer_class = InProcessConsumer if in_process else Consumer
        return consumer_class(
            self.huey,
            workers=self.workers,
            worker_type="thread",
            initial_delay=0.02,
            backoff=1.5,
            max_delay=0.25,
            scheduler_interval=1,
            periodic=True,
            check_worker_health=not in_process,
        )

    def start_in_process(self) -> Consumer:
        """Start a consumer in this process's background (huey's own threads) and look for orphans."""
        consumer = self.consumer(in_process=True)
        consumer.start()
        self.request_recovery()
        return consumer

    def request_recovery(self) -> None:
        """Ask a consumer to look for orphaned targets now (the minutely recovery covers a queue outage)."""
        try:
            self._recover()
        except Exception as exc:  # the queue's storage is unreachable right now
            log.warning(
                "queue unavailable; recovery waits for the next minute",
                extra={"fields": {"error": type(exc).__name__}},
            )
