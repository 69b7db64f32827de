"""Database outages under load: backends terminated, PostgreSQL restarted.

Each service runs as in production (``python -m vendorkit.serve``) on a
PostgreSQL cluster of this module's own, so that restarting it disturbs no
other test. Reader threads keep authenticated reads going on every service
while the database fails under them. Every answer must be the read's 200 or
the vendor's outage answer (503 in its envelope; AKTION's 403 with code 7),
never HTML; one second after the database is back, every read succeeds again;
and no log line holds a password, API key or token the clients sent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from vendorkit.testing import HttpResult, PostgresServer, ServerProcess, http_request

READERS_PER_SERVICE = 3
RECOVERY_SECONDS = 1.0
AKTION_DB_FAILURE = 7


@dataclass(frozen=True)
class Credentials:
    """How a client authenticates a read: headers and a query string."""

    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    secrets: tuple[str, ...] = ()  # what must never appear in a log


def _form(url: str, body: str) -> HttpResult:
    return http_request(
        "POST", url, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=20
    )


def login_wipe(url: str) -> Credentials:
    body = _form(url + "/api/v1/login", "user=admin&pass=admin-demo").json()
    token = body["grommunioAuthJwt"]
    return Credentials({"Cookie": f"grommunioAuthJwt={token}"}, secrets=("admin-demo", token, body["csrf"]))


def login_bulkuser(url: str) -> Credentials:
    answer = http_request(
        "POST", url + "/v1/auth", json_body={"email_or_name": "admin", "password": "admin-demo"}, timeout=20
    )
    token = answer.json()["payload"]["token"]
    return Credentials({"X-Auth-Token": token}, secrets=("admin-demo", token))


def login_offboard(url: str) -> Credentials:
    password = base64.b64encode(b"admin-demo").decode()
    answer = http_request(
        "POST",
        url + "/webconsole/api/Login",
        json_body={"username": "admin", "password": password},
        timeout=20,
    )
    token = answer.json()["token"]
    return Credentials(
        {"Authtoken": token, "Accept": "application/json"}, secrets=("admin-demo", password, token)
    )


def login_emm(url: str) -> Credentials:
    body = _form(url + "/oauth2/token", "grant_type=password&username=admin&password=admin-demo").json()
    token = body["access_token"]
    return Credentials(
        {"Authorization": f"Bearer {token}"}, secrets=("admin-demo", token, body["refresh_token"])
    )


def login_agenda(url: str) -> Credentials:
    answer = http_request(
        "POST",
        url + "/AktionNEXT/API/login",
        json_body={"UserLogin": "api", "ApiKey": "api-demo-key"},
        timeout=20,
    )
    token = answer.json()["Token"]
    # AKTION carries the session token in the query string.
    return Credentials(query=f"?Token={token}", secrets=("api-demo-key", token))


def aktion_db_failure(result: HttpResult) -> bool:
    return result.status == 403 and result.json()["Result"]["Code"] == AKTION_DB_FAILURE


def plain_503(result: HttpResult) -> bool:
    return result.status == 503


@dataclass(frozen=True)
class Service:
    package: str
    login: Callable[[str], Credentials]
    read_path: str
    is_outage_answer: Callable[[HttpResult], bool] = plain_503


SERVICES = {
    "wipe": Service("svc_wipe", login_wipe, "/api/v1/profile"),
    "bulkuser": Service("svc_bulkuser", login_bulkuser, "/v1/user"),
    "offboard": Service("svc_offboard", login_offboard, "/webconsole/api/User"),
    "emm": Service("svc_emm", login_emm, "/mdm-admin/users/count"),
    "agenda": Service("svc_agenda", login_agenda, "/AktionNEXT/API/user/getAll", aktion_db_failure),
}


@dataclass
class Running:
    service: Service
    process: ServerProcess
    credentials: Credentials

    def read(self) -> HttpResult:
        path = self.service.read_path + self.credentials.query
        return http_request("GET", self.process.url + path, headers=self.credentials.headers, timeout=20)


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL cluster of this module's own: it gets restarted."""
    server = PostgresServer().init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def services(cluster, tmp_path_factory) -> dict[str, Running]:
    """The five services on ``cluster``, each logged in once."""
    logs = tmp_path_factory.mktemp("outage-logs")
    processes = {
        name: ServerProcess(
            f"{service.package}:create_app()",
            env={
                "DATABASE_URL": cluster.create_database(f"outage_{name}"),
                "DEMO_DATA": "1",
                "LOG_LEVEL": "INFO",  # every request logged: the logs are checked for secrets below
                "AGENDA_TOKEN_TTL_SECONDS": "3600",
            },
            log_path=logs / f"{name}.log",
        )
        for name, service in SERVICES.items()
    }
    with ThreadPoolExecutor(len(processes)) as pool:
        list(pool.map(ServerProcess.start, processes.values()))
    try:
        yield {
            name: Running(SERVICES[name], process, SERVICES[name].login(process.url))
            for name, process in processes.items()
        }
    finally:
        for process in processes.values():
            process.stop()


@dataclass
class Answer:
    at: float
    service: str
    status: int
    outage: bool
    html: bool
    content_type: str
    body: bytes


def classify(name: str, running: Running, result: HttpResult) -> Answer:
    content_type = result.headers.get("Content-Type", "")
    html = "html" in content_type or b"<html" in result.body.lower()
    outage = False
    if result.status != 200 and not html:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            json.loads(result.body)
            outage = running.service.is_outage_answer(result)
    return Answer(time.monotonic(), name, result.status, outage, html, content_type, result.body[:300])


class SteadyReads:
    """Reader threads reading from every service until stopped; every answer kept."""

    def __init__(self, services: dict[str, Running]):
        self.services = services
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(name,), daemon=True)
            for name in services
            for _ in range(READERS_PER_SERVICE)
        ]

    def _loop(self, name: str) -> None:
        running = self.services[name]
        while not self._stop.is_set():
            try:
                answer = classify(name, running, running.read())
            except OSError as error:  # the service itself must never drop a connection
                with self._lock:
                    self.errors.append(f"{name}: {type(error).__name__}: {error}")
                time.sleep(0.05)
                continue
            with self._lock:
                self.answers.append(answer)

    def __enter__(self) -> SteadyReads:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def terminate_backends(cluster: PostgresServer) -> int:
    """Terminate every backend of the services' databases; how many there were."""
    with psycopg.connect(cluster.url("postgres").replace("+psycopg", ""), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname LIKE 'outage_%' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def assert_only_reads_and_outage_answers(reads: SteadyReads) -> None:
    assert not reads.errors, reads.errors[:5]
    assert not [a for a in reads.answers if a.html], "HTML answers"
    wrong = [a for a in reads.answers if a.status != 200 and not a.outage]
    assert not wrong, [(a.service, a.status, a.content_type, a.body) for a in wrong[:5]]


def assert_recovered(reads: SteadyReads, back_at: float) -> None:
    late = [a for a in reads.answers if a.at >= back_at + RECOVERY_SECONDS]
    for name in SERVICES:
        mine = [a for a in late if a.service == name]
        assert mine, f"{name}: no reads after recovery"
        failed = [a for a in mine if a.status != 200]
        assert not failed, (name, [(a.status, a.body) for a in failed[:3]])


def test_reads_survive_terminated_backends(services, cluster):
    with SteadyReads(services) as reads:
        time.sleep(1.0)
        terminated = 0
        for _ in range(3):
            terminated += terminate_backends(cluster)
            time.sleep(0.7)
        back_at = time.monotonic()
        time.sleep(RECOVERY_SECONDS + 1.5)
    assert terminated >= len(SERVICES)
    assert_only_reads_and_outage_answers(reads)
    assert_recovered(reads, back_at)


def test_reads_survive_a_postgresql_restart(services, cluster):
    with SteadyReads(services) as reads:
        time.sleep(1.0)
        cluster.stop("fast")
        down_at = time.monotonic()
        time.sleep(1.5)
        cluster.start()
        back_at = time.monotonic()
        time.sleep(RECOVERY_SECONDS + 1.5)
    assert_only_reads_and_outage_answers(reads)
    during = [a for a in reads.answers if down_at + 0.2 <= a.at <= back_at - 0.2]
    assert {a.service for a in during if a.outage} == set(SERVICES), "every service saw the outage"
    assert_recovered(reads, back_at)


def test_no_log_line_holds_a_secret_the_clients_sent(services):
    for name, running in services.items():
        log = Path(running.process.log_path).read_text(errors="replace")
        assert '"path"' in log, f"{name} wrote no request log"
        for secret in running.credentials.secrets:
            assert secret not in log, f"{name}'s log holds a secret"


def wait_for_session(cluster: PostgresServer, application_name: str, timeout: float = 10) -> None:
    """Wait until a connection that names itself ``application_name`` is open."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(cluster.url("postgres").replace("+psycopg", ""), autocommit=True) as connection:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        while connection.execute(query, (application_name,)).fetchone()[0] == 0:
            assert time.monotonic() < deadline, f"no connection named {application_name!r}"
            time.sleep(0.05)


def sessions_opened(cluster: PostgresServer, database: str) -> int:
    """How many connections PostgreSQL has accepted to ``database`` since the cluster started."""
    with psycopg.connect(cluster.url("postgres").replace("+psycopg", ""), autocommit=True) as connection:
        row = connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return row[0]


def test_a_busy_service_reads_on_its_pooled_connections_without_opening_new_ones(services, cluster):
    # As many concurrent readers as the server has request threads (4 by default): each request holds
    # a connection, so a pool smaller than that opened and closed one per request (a backend forked each).
    running = services["emm"]
    assert running.read().status == 200
    # svc-emm's caller cache listens on a connection of its own, opened on its first authenticated request.
    wait_for_session(cluster, "listen svc_emm_callers")
    threads = running.process.threads  # the server's SERVE_THREADS, and so its pool's size
    with ThreadPoolExecutor(threads) as pool:
        before = sessions_opened(cluster, "outage_emm")
        statuses = list(pool.map(lambda _: running.read().status, range(threads * 60)))
    assert statuses == [200] * len(statuses)
    # At most the pool's own filling (a connection per thread); a smaller pool opened dozens here.
    assert sessions_opened(cluster, "outage_emm") - before <= threads
