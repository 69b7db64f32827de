"""svc-leaver end to end: the five real services on PostgreSQL, svc-leaver as a real process, its queue on Redis.

The vendors and the gateway are the session's shared ``stack`` (root conftest), used with their
default settings; every svc-leaver these tests need (other retry settings, short leases, a
separate queue worker) is a process of their own on a database of its own.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from svc_leaver.config import TARGETS
from svc_leaver.testing import Vendors
from vendorkit.testing import LEAVER_SECRETS, ServerProcess

from .sessionproxy import SessionProxy

TOKEN = "leaver-demo-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Which stack service and which dialect stand behind each target, and the path its base URL adds.
SERVICE_OF = {
    "grommunio": ("wipe", "grommunio", "/api/v1"),
    "dnl": ("bulkuser", "dnl", "/v1"),
    "commvault": ("offboard", "commvault", "/webconsole/api"),
    "wso2": ("emm", "wso2", ""),
    "aktion": ("agenda", "aktion", "/AktionNEXT/API"),
}
# What ``Vendors.presence`` shows of a person created with two devices once offboarded:
# both phones pending wipe at grommunio, the account gone everywhere else.
OFFBOARDED = {
    "grommunio": [2, 2],
    "dnl": False,
    "commvault": False,
    "wso2": False,
    "aktion": False,
}
# Each target's removal request as the gateway journals it: method and path prefix.
REMOVALS = {
    "grommunio": ("POST", "/api/v1/service/wipe/"),
    "dnl": ("DELETE", "/v1/user/all"),
    "commvault": ("POST", "/webconsole/api/User/Offboard"),
    "wso2": ("DELETE", "/mdm-admin/users"),
    "aktion": ("POST", "/AktionNEXT/API/user/remove"),
}
_instances = itertools.count(1)


@pytest.fixture(scope="session")
def vendor_services(stack) -> dict[str, ServerProcess]:
    """The five vendor services of the session's shared stack, with their default settings."""
    return {target: stack.start(service) for target, (service, _, _) in SERVICE_OF.items()}


@pytest.fixture(scope="session")
def vendors(vendor_services) -> Vendors:
    urls = {SERVICE_OF[target][0]: process.url for target, process in vendor_services.items()}
    return Vendors(**urls)


class Emulator:
    """The stack's gateway as an emulator: faults created and cleared, its journal read."""

    def __init__(self, url: str):
        self.url = url

    def fault(self, target: str, action: str, **fields) -> dict:
        """Create a fault on the route in front of ``target`` (fields as ``POST /_gateway/faults`` takes)."""
        body = {"route": SERVICE_OF[target][0], "action": action, **fields}
        answer = httpx.post(self.url + "/_gateway/faults", json=body, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def journal(self, target: str) -> list[dict]:
        """What the gateway forwarded or refused on ``target``'s route, oldest first."""
        answer = httpx.get(
            self.url + "/_gateway/requests",
            params={"route": SERVICE_OF[target][0], "limit": 1000},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["requests"][::-1]  # the gateway lists the newest first

    def clear(self) -> None:
        """No fault left, the journal empty."""
        for path in ("/_gateway/faults", "/_gateway/requests"):
            assert httpx.delete(self.url + path, timeout=10).status_code == 204


@pytest.fixture(scope="session")
def gateway(stack, vendor_services) -> Emulator:
    """The shared stack's gateway before the five services, with its emulator admin API (faults, journal) on."""
    config = stack.gateway_config()
    assert config["admin"]["enabled"], "the gateway's demo configuration must enable its admin API"
    # One worker: faults and the journal live in the gateway process.
    assert stack.gateway.workers == 1
    return Emulator(stack.gateway.url)


@pytest.fixture
def faults(gateway) -> Iterator[Emulator]:
    """The gateway's faults and journal, empty before and after the test."""
    gateway.clear()
    yield gateway
    gateway.clear()


@pytest.fixture(scope="session")
def faulty_leaver(stack, redis_server, gateway, tmp_path_factory) -> Iterator[Leaver]:
    """svc-leaver calling every vendor through the gateway, with quick retries (20 ms base, 200 ms cap, 4 attempts)."""
    config = leaver_config(dict.fromkeys(TARGETS, gateway.url), attempts=4, read=3)
    running = start_leaver(stack, redis_server, tmp_path_factory.mktemp("faulty"), config)
    yield running
    running.process.stop()


@pytest.fixture(scope="session")
def proxies(gateway) -> Iterator[dict[str, SessionProxy]]:
    """One session-refusing proxy per vendor, in front of the gateway."""
    started = {target: SessionProxy(gateway.url, SERVICE_OF[target][1]).start() for target in TARGETS}
    yield started
    for proxy in started.values():
        proxy.stop()


def leaver_config(
    base_urls: dict[str, str], *, attempts=5, base_delay_ms=20, max_delay_ms=200, read=10
) -> dict:
    """The YAML document pointing each target at ``base_urls[target]`` (the service root)."""
    names = {"aktion": ("api", "api_key_env", "LEAVER_AKTION_API_KEY")}
    targets = {}
    for target in TARGETS:
        username, field, variable = names.get(
            target, ("admin", "password_env", f"LEAVER_{target.upper()}_PASSWORD")
        )
        targets[target] = {
            "base_url": base_urls[target] + SERVICE_OF[target][2],
            "username": username,
            field: variable,
        }
    return {
        "targets": targets,
        "retry": {"attempts": attempts, "base_delay_ms": base_delay_ms, "max_delay_ms": max_delay_ms},
        "timeouts": {"connect": 2, "read": read},
    }


class Leaver:
    """A running svc-leaver and a small client of its API."""

    def __init__(self, process: ServerProcess):
        self.process = process

    @property
    def url(self) -> str:
        return self.process.url

    def request(self, method: str, path: str, *, headers=None, auth=True, **kwargs) -> httpx.Response:
        merged = {**(AUTH if auth else {}), **(headers or {})}
        return httpx.request(method, self.url + path, headers=merged, timeout=30, **kwargs)

    def start_run(self, accounts: dict[str, str], *, dry_run: bool = False, person: str = "E-1042", **kwargs):
        answer = self.request(
            "POST",
            "/leaver/v1/runs",
            json={"person": person, "accounts": accounts, "dry_run": dry_run},
            **kwargs,
        )
        assert answer.status_code in (200, 202), answer.text
        return answer.json()

    def run(self, run_id: str) -> dict:
        answer = self.request("GET", f"/leaver/v1/runs/{run_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait(self, run_id: str, timeout: float = 30.0) -> dict:
        """The run once it has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["finished"] is not None:
                return run
            time.sleep(0.05)
        raise AssertionError(
            f"run {run_id} still {run['status']} after {timeout}s: {run}\n{self.process.log_tail()}"
        )

    def audit(self, run_id: str) -> list[dict]:
        answer = self.request("GET", f"/leaver/v1/runs/{run_id}/audit")
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]


def start_leaver(stack, redis_server, tmp_path: Path, config: dict, **env: str) -> Leaver:
    """svc-leaver under gunicorn on its own PostgreSQL database and Redis queue."""
    instance = f"leaver_{next(_instances)}_{uuid.uuid4().hex[:6]}"
    config_path = tmp_path / f"{instance}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    process = ServerProcess(
        "svc_leaver:create_app()",
        env={
            "DATABASE_URL": stack.postgres.create_database(instance),
            "DEMO_DATA": "1",
            "LOG_LEVEL": "WARNING",
            "LEAVER_CONFIG": str(config_path),
            "LEAVER_QUEUE_URL": redis_server.url,
            "LEAVER_QUEUE_NAME": instance,
            "ADMIN_API": "1",
            **LEAVER_SECRETS,
            **env,
        },
        log_path=tmp_path / f"{instance}.log",
        workers=2,
    )
    return Leaver(process.start())


class QueueWorker:
    """A ``leaver worker`` process: the queue consumer of a svc-leaver whose web processes run none."""

    def __init__(self, web: Leaver, log_path: Path):
        self.env = web.process.environment()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> QueueWorker:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "svc_leaver.cli", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker (its process group: the consumer's threads die with it), as a crash would."""
        assert self.alive(), self.log_tail()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def leaver(stack, redis_server, vendor_services, tmp_path_factory) -> Iterator[Leaver]:
    """svc-leaver pointed straight at the five services."""
    urls = {target: process.url for target, process in vendor_services.items()}
    # INFO: the logs a deployment keeps, which the secrets test reads.
    running = start_leaver(
        stack, redis_server, tmp_path_factory.mktemp("leaver"), leaver_config(urls), LOG_LEVEL="INFO"
    )
    yield running
    running.process.stop()


@pytest.fixture(scope="session")
def proxied_leaver(stack, redis_server, proxies, tmp_path_factory) -> Iterator[Leaver]:
    """svc-leaver calling the vendors through the session-refusing proxies and the gateway."""
    urls = {target: proxy.url for target, proxy in proxies.items()}
    config = leaver_config(urls, attempts=4, read=3)
    running = start_leaver(stack, redis_server, tmp_path_factory.mktemp("proxied"), config)
    yield running
    running.process.stop()


@pytest.fixture
def refusals(proxies) -> Iterator[dict[str, SessionProxy]]:
    """The session-refusing proxies, cleared after the test."""
    yield proxies
    for proxy in proxies.values():
        proxy.clear()
