"""docker-compose.yml brought up as processes: the same commands, the same environment.

Each image's CMD (or the compose service's command: svc-leaver-worker's
`leaver worker`) runs under this machine's Python with the image's ENV and the
compose service's environment, interpolated from a .env written by
deploy/compose/new-env.py. Only what Docker would provide is replaced by local
equivalents: service DNS names and ports become loopback ports (a PostgreSQL
database and role per service, as the postgres image creates them; a Redis with
the .env password; an SMTP catcher for mailpit), the mounted configuration files
get those local addresses, and the gateway's fixed address on the services
network, which the services trust, becomes 127.0.0.1. Several processes sharing
one database is what the scaling test below checks, with three replicas
migrating a new database at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
import yaml
from aiosmtpd.controller import Controller
from deploy_helpers import (
    COMPOSE_GATEWAY_CONFIG,
    COMPOSE_LEAVER_CONFIG,
    LEAVER_WORKER,
    REPO_ROOT,
    ROUTES,
    SERVICES,
    component,
    environment,
    interpolate,
    load_compose,
    parse_dockerfile,
    parse_env_file,
)
from psycopg import sql
from werkzeug.test import Client

from vendorkit.testing import RedisServer, ServerProcess, free_port, http_request

NEW_ENV = REPO_ROOT / "deploy" / "compose" / "new-env.py"
# The variables that would make a process read something other than what compose gives it.
OUTER_SETTINGS = (
    "DATABASE_URL",
    "DEMO_DATA",
    "SECRET_KEY",
    "GUNICORN_",
    "SERVE_",
    "GATEWAY_CONFIG",
    "RATELIMIT_",
    "LEAVER_",
)
TERMINAL_RUN_STATUSES = {"succeeded", "partial", "failed", "planned"}


@dataclass
class ImageProcess(ServerProcess):
    """An image's CMD as a local process: ``python -m vendorkit.serve`` run by this Python."""

    cmd: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        program, *arguments = self.cmd
        assert program == "python"
        return [sys.executable, *arguments]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(OUTER_SETTINGS)}
        return {**env, **self.env, "SERVE_BIND": f"{self.host}:{self.port}"}

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


@dataclass
class WorkerProcess(ImageProcess):
    """svc-leaver-worker: the image's console script that compose names, healthy by compose's check."""

    healthcheck: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        program, *arguments = self.cmd
        # The image's PATH puts its virtual environment's scripts first; here, this Python's.
        return [str(Path(sys.executable).parent / program), *arguments]

    def wait_healthy(self, timeout: float) -> None:
        kind, program, *arguments = self.healthcheck
        assert (kind, program) == ("CMD", "python")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("process exited")
            check = subprocess.run(
                [sys.executable, *arguments], env=self.environment(), capture_output=True, check=False
            )
            if check.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.cmd} not healthy after {timeout}s")


@dataclass
class GatewayImageProcess(ImageProcess):
    """The gateway image's entrypoint with compose's arguments, on a local port, with one worker."""

    def command(self) -> list[str]:
        program, *arguments = self.cmd
        assert program == "gateway"
        arguments[arguments.index("--bind") + 1] = f"{self.host}:{self.port}"
        arguments[arguments.index("--workers") + 1] = "1"
        return [sys.executable, "-m", "gateway", *arguments]


def image_of(folder: str) -> tuple[list[str], dict[str, str]]:
    """The image's CMD and the ENV of its runtime stage (PATH aside: the local Python is used)."""
    unit = component(folder)
    _, stages = parse_dockerfile(unit.dockerfile, unit.build_args)
    (cmd,) = stages[-1].all("CMD")
    env = {k: v for k, v in stages[-1].env().items() if k != "PATH"}
    return cmd.exec_form, env


class SmtpCatcher:
    """Stands in for mailpit: accepts and keeps every message."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


def create_role_and_database(postgres, url: urllib.parse.SplitResult) -> None:
    """What the postgres image does with POSTGRES_USER/PASSWORD/DB: a role owning its database."""
    role, password, database = url.username, url.password, url.path.lstrip("/")
    with psycopg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres", autocommit=True
    ) as db:
        if not db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            db.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            db.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(role))
            )


def relocate(url: str, netloc_by_host: dict[str, str]) -> str:
    """``url`` with its compose host:port replaced by the local one (credentials kept)."""
    parts = urllib.parse.urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    local = netloc_by_host[f"{parts.hostname}:{parts.port}"]
    return parts._replace(netloc=f"{credentials}@{local}" if credentials else local).geturl()


@dataclass
class ComposeStack:
    dotenv: dict[str, str]
    services: dict[str, ImageProcess]
    worker: WorkerProcess
    gateway: ImageProcess
    redis_url: str
    smtp: SmtpCatcher
    gateway_config: dict

    def url(self, path: str) -> str:
        return self.gateway.url + path


@pytest.fixture(scope="module")
def compose_stack(postgres, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("compose")
    subprocess.run(
        [sys.executable, str(NEW_ENV), "--output", str(workdir / ".env")], check=True, capture_output=True
    )
    dotenv = parse_env_file((workdir / ".env").read_text())
    compose = load_compose()
    services = interpolate(compose["services"], dotenv)
    gateway_ip = services["gateway"]["networks"]["services"]["ipv4_address"]

    redis = RedisServer(password=dotenv["REDIS_PASSWORD"])
    redis.start()
    smtp = SmtpCatcher()
    smtp.controller.start()

    ports = {name: free_port() for name in SERVICES}
    gateway_port = free_port()
    netloc_by_host = {f"{name}:8000": f"127.0.0.1:{port}" for name, port in ports.items()}
    netloc_by_host["redis:6379"] = f"127.0.0.1:{redis.port}"
    netloc_by_host["gateway:8080"] = f"127.0.0.1:{gateway_port}"
    for name in SERVICES:
        database = urllib.parse.urlsplit(environment(services[name])["DATABASE_URL"])
        netloc_by_host[f"{database.hostname}:{database.port}"] = f"127.0.0.1:{postgres.port}"
        create_role_and_database(postgres, database)

    # svc-leaver's vendors file, as mounted, with the gateway's local address.
    leaver_config = yaml.safe_load(COMPOSE_LEAVER_CONFIG.read_text())
    for target in leaver_config["targets"].values():
        target["base_url"] = relocate(target["base_url"], netloc_by_host)
    (workdir / "leaver.yaml").write_text(yaml.safe_dump(leaver_config))

    def local_env(name: str, image: str | None = None) -> dict[str, str]:
        _, image_env = image_of(image or name)
        env = {**image_env, **{k: str(v) for k, v in environment(services[name]).items()}}
        for key in ("DATABASE_URL", "RATELIMIT_STORAGE_URL", "LEAVER_QUEUE_URL"):
            if key in env:
                env[key] = relocate(env[key], netloc_by_host)
        if "LEAVER_CONFIG" in env:
            env["LEAVER_CONFIG"] = str(workdir / "leaver.yaml")
        for key in ("TRUSTED_PROXIES", "AGENDA_TRUSTED_PROXIES"):
            if key in env:
                assert env[key] == f"{gateway_ip}/32"
                env[key] = "127.0.0.1/32"  # where the local gateway's connections come from
        if env.get("MAIL_HOST") == "mailpit":
            env["MAIL_HOST"], env["MAIL_PORT"] = "127.0.0.1", str(smtp.port)
        return env

    processes = {}
    for name in SERVICES:
        command, _ = image_of(name)
        processes[name] = ImageProcess(
            app=local_env(name)["SERVE_APP"],
            cmd=command,
            env=local_env(name),
            port=ports[name],
            log_path=workdir / f"{name}.log",
        )
    gateway_config = yaml.safe_load(COMPOSE_GATEWAY_CONFIG.read_text())
    for route in gateway_config["routes"]:
        route["upstreams"] = [relocate(url, netloc_by_host) for url in route["upstreams"]]
    (workdir / "gateway.yaml").write_text(yaml.safe_dump(gateway_config))
    gateway_env = local_env("gateway")
    gateway_env["GATEWAY_CONFIG"] = str(workdir / "gateway.yaml")
    # The image's entrypoint, with the arguments compose gives it in place of the image's CMD.
    _, stages = parse_dockerfile(component("gateway").dockerfile)
    (entrypoint,) = stages[-1].all("ENTRYPOINT")
    command = [*entrypoint.exec_form, *(str(a) for a in services["gateway"]["command"])]
    gateway = GatewayImageProcess(
        app="gateway", cmd=command, env=gateway_env, port=gateway_port, log_path=workdir / "gateway.log"
    )
    worker_service = services[LEAVER_WORKER]
    worker = WorkerProcess(
        app="leaver worker",
        cmd=[str(part) for part in worker_service["command"]],
        env=local_env(LEAVER_WORKER, image="svc-leaver"),
        healthcheck=worker_service["healthcheck"]["test"],
        log_path=workdir / f"{LEAVER_WORKER}.log",
    )

    try:
        # Compose starts the services together once their databases are healthy, then the gateway.
        with ThreadPoolExecutor(len(processes)) as pool:
            for started in [pool.submit(p.start) for p in processes.values()]:
                started.result()
        worker.start()
        gateway.start()
        yield ComposeStack(dotenv, processes, worker, gateway, relocate(environment(services["gateway"])["RATELIMIT_STORAGE_URL"], netloc_by_host), smtp, gateway_config)  # fmt: skip
    finally:
        gateway.stop()
        worker.stop()
        with ThreadPoolExecutor(len(processes)) as pool:
            list(pool.map(ImageProcess.stop, processes.values()))
        smtp.controller.stop()
        redis.stop()


def test_the_gateway_finds_every_upstream_ready(compose_stack):
    answer = http_request("GET", compose_stack.url("/_gateway/readyz"))
    assert (answer.status, answer.json()) == (200, {"status": "ready"})


def test_the_services_run_in_production_mode(compose_stack):
    for name, process in compose_stack.services.items():
        assert process.env["DEMO_DATA"] == "0", name
        assert process.env["DATABASE_URL"].startswith("postgresql://"), name


# One request per route through the gateway, answered by the service in its vendor's envelope.
ROUTE_REQUESTS = [
    ("wipe", "GET", "/api/v1/profile", {}, None, 401, lambda body: body["message"] == "Access denied"),
    ("bulkuser", "GET", "/v1/user/list", {}, None, 401,
     lambda body: body["success"] is False and body["error_type"] == "unauthenticated_error"),
    ("offboard", "POST", "/webconsole/api/Logout", {"Accept": "application/json"}, None, 401,
     lambda body: body == {"errorCode": 5, "errorMessage": "Access denied"}),
    ("offboard", "POST", "/commandcenter/api/Logout", {"Accept": "application/json"}, None, 401,
     lambda body: body == {"errorCode": 5, "errorMessage": "Access denied"}),
    ("emm", "GET", "/mdm-admin/users", {}, None, 401,
     lambda body: body == {"statusCode": 401, "messageFromServer": "Failed to authorize incoming request"}),
    ("emm", "POST", "/oauth2/token", {"Content-Type": "application/x-www-form-urlencoded"},
     "grant_type=password&username=nobody&password=wrong", 400, lambda body: body["error"] == "invalid_grant"),
    ("agenda", "GET", "/AktionNEXT/API/user/getAll", {"Accept": "application/json"}, None, 400,
     lambda body: body["Result"]["Code"] == 1002),
    ("leaver", "GET", "/leaver/v1/runs", {}, None, 401,
     lambda body: body["status"] == 401 and body["title"] and body["type"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("route", "method", "path", "headers", "body", "status", "envelope"),
    ROUTE_REQUESTS,
    ids=[f"{r[0]}:{r[2]}" for r in ROUTE_REQUESTS],
)
def test_each_route_reaches_its_service(compose_stack, route, method, path, headers, body, status, envelope):
    request_id = f"route-{route}-{int(time.time() * 1000)}"
    answer = http_request(
        method, compose_stack.url(path), headers={**headers, "X-Request-ID": request_id}, body=body
    )
    assert answer.status == status, answer.text
    assert envelope(answer.json()), answer.text
    assert answer.headers["X-Request-ID"] == request_id
    # Limited by the compose configuration's production limits (a login path by its tighter override).
    (config,) = [r for r in compose_stack.gateway_config["routes"] if r["name"] == route]
    overridden = path in {override["path"] for override in config.get("overrides", [])}
    period, limit = ("Minute", "10") if overridden else ("Second", "20")
    assert answer.headers[f"X-RateLimit-Limit-{period}"] == limit
    # The service answered (not the gateway): its own log has the request.
    service = compose_stack.services[ROUTES[route]]
    assert any(request_id in line for line in service.log_lines())


def test_every_prefix_of_the_compose_config_is_exercised(compose_stack):
    prefixes = {prefix for route in compose_stack.gateway_config["routes"] for prefix in route["prefixes"]}
    assert {p for p in prefixes if any(r[2].startswith(p) for r in ROUTE_REQUESTS)} == prefixes


def test_login_paths_get_the_tighter_limit(compose_stack):
    answer = http_request(
        "POST",
        compose_stack.url("/api/v1/login"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="user=nobody&pass=wrong",
    )
    assert answer.status == 401
    assert answer.headers["X-RateLimit-Limit-Minute"] == "10"


def test_the_counters_are_kept_in_the_password_protected_redis(compose_stack):
    http_request("GET", compose_stack.url("/v1/user/list"))
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(
            compose_stack.redis_url.replace(compose_stack.dotenv["REDIS_PASSWORD"], "wrong")
        ).ping()
    assert redis.Redis.from_url(compose_stack.redis_url).dbsize() > 0


def test_the_services_see_the_client_address_not_the_gateways(compose_stack):
    request_id = f"client-{int(time.time() * 1000)}"
    http_request(
        "GET", compose_stack.url("/v1/user/list"), headers={"X-Request-ID": request_id}, source="127.0.0.2"
    )
    (line,) = [line for line in compose_stack.services["svc-bulkuser"].log_lines() if request_id in line]
    assert '"client": "127.0.0.2"' in line


def test_scaling_svc_emm_spreads_its_traffic_over_every_replica(compose_stack, postgres, tmp_path):
    """`docker compose up --scale svc-emm=3`: one DNS name, three addresses, the gateway uses them all.

    Three replicas of svc-emm start at once on a new, empty database (as after
    `docker compose down -v`), so all three race to migrate it: the advisory lock
    in create_app() must let each come up. They listen on one port at 127.0.0.1,
    127.0.0.2 and 127.0.0.3. The gateway is built from the compose configuration
    with a resolver that answers for the name svc-emm like Docker's DNS: first
    one replica, then all three, as after the scale-up.
    """
    from gateway.app import Gateway
    from gateway.config import parse_config
    from gateway.testing import GatewayLoop, InProcessGateway

    stack_emm = compose_stack.services["svc-emm"]
    database = urllib.parse.urlsplit(stack_emm.env["DATABASE_URL"])
    database = database._replace(path=f"/emm_scaled_{int(time.time())}")
    create_role_and_database(postgres, database)
    port = free_port()
    replicas = [
        ImageProcess(
            app=stack_emm.app,
            cmd=stack_emm.cmd,
            env={**stack_emm.env, "DATABASE_URL": database.geturl()},
            host=address,
            port=port,
            log_path=tmp_path / f"svc-emm-{address}.log",
        )
        for address in ("127.0.0.1", "127.0.0.2", "127.0.0.3")
    ]
    try:
        with ThreadPoolExecutor(len(replicas)) as pool:
            for started in [pool.submit(r.start) for r in replicas]:
                started.result()

        answers = {"svc-emm": ["127.0.0.1"]}
        raw = yaml.safe_load(COMPOSE_GATEWAY_CONFIG.read_text())
        (emm,) = [route for route in raw["routes"] if route["name"] == "emm"]
        emm["upstreams"] = [f"http://svc-emm:{port}"]
        emm["resolve_interval"] = 0.2  # 5 s in the compose configuration; the mechanism is the same
        raw["routes"] = [emm]
        config = parse_config(raw, {"RATELIMIT_STORAGE_URL": "memory://"})
        gateway = Gateway(config, resolver=lambda host, port: list(answers[host]))
        loop = GatewayLoop()
        client = Client(InProcessGateway(gateway, loop))

        def send(tag: str) -> None:
            response = client.get("/mdm-admin/users", headers={"X-Request-ID": tag}, environ_base={"REMOTE_ADDR": "127.0.0.9"})  # fmt: skip
            assert response.status_code == 401

        def served_by(tag: str) -> list[int]:
            return [i for i, r in enumerate(replicas) if any(f'"{tag}"' in line for line in r.log_lines())]

        stamp = int(time.time() * 1000)
        send(f"scale-before-{stamp}")
        answers["svc-emm"] = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        time.sleep(0.3)
        tags = [f"scale-after-{stamp}-{i}" for i in range(9)]
        for tag in tags:
            send(tag)
        time.sleep(0.2)  # the replicas' log lines are written as the response goes out
        assert served_by(f"scale-before-{stamp}") == [0]
        hits = [served_by(tag) for tag in tags]
        assert all(len(h) == 1 for h in hits), hits
        assert sorted({h[0] for h in hits}) == [0, 1, 2]
        loop.run(gateway.close())
        loop.close()
    finally:
        with ThreadPoolExecutor(len(replicas)) as pool:
            list(pool.map(ImageProcess.stop, replicas))


def test_a_leaver_run_is_executed_by_the_worker_against_the_vendors_through_the_gateway(compose_stack):
    """A dry run through the gateway: the API (LEAVER_CONSUMER=none) queues it on Redis, the
    worker process executes it, and every vendor answers, through the gateway, for itself.

    The stack runs in production mode, so no vendor has the accounts that .env's fresh
    random secrets would log in to: every target ends refused by its vendor, which is
    what shows each request went all the way (a network failure would leave no answer).
    """
    token = compose_stack.dotenv["LEAVER_API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accounts = {"grommunio": "kim@example.com", "dnl": "kim@example.com", "commvault": "kim", "wso2": "kim", "aktion": "Kim.Doe"}  # fmt: skip
    created = http_request(
        "POST",
        compose_stack.url("/leaver/v1/runs"),
        headers=headers,
        body=json.dumps({"person": "E-compose", "accounts": accounts, "dry_run": True}),
    )
    assert created.status == 202, created.text
    run_id = created.json()["id"]
    deadline = time.monotonic() + 90
    while True:
        run = http_request("GET", compose_stack.url(f"/leaver/v1/runs/{run_id}"), headers=headers).json()
        if run["status"] in TERMINAL_RUN_STATUSES or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert run["status"] == "failed", run
    for name, target in run["targets"].items():
        assert target["status"] == "failed", (name, target)
        assert target["vendor"] is not None and target["vendor"]["status"] is not None, (name, target)
    # Every request the worker sent (its audit names them) went through the gateway.
    audit = http_request("GET", compose_stack.url(f"/leaver/v1/runs/{run_id}/audit"), headers=headers)
    sent = {(e["target"], e["data"]["path"]) for e in audit.json()["events"] if e["type"] == "request_sent"}
    assert {target for target, _ in sent} == set(accounts)
    gateway_log = "\n".join(compose_stack.gateway.log_lines())
    for target, path in sent:
        assert f'"{path}"' in gateway_log, (target, path)
    assert compose_stack.worker.process.poll() is None, "the worker keeps running"
    # A wrong token is refused by the API, in its own problem envelope.
    refused = http_request(
        "GET", compose_stack.url(f"/leaver/v1/runs/{run_id}"), headers={"Authorization": "Bearer wrong"}
    )
    assert refused.status == 401 and refused.json()["status"] == 401
