"""The emulator as a pytest plugin: ``vendor_stack`` and ``vendors`` for anyone's test suite.

Installed with vendorkit (entry point ``pytest11``), it adds two fixtures:

- ``vendor_stack`` (session): the gateway and the five vendor services as
  processes on free loopback ports, each service on a fresh SQLite database
  with its demo data, the gateway's admin API and journal on. With
  ``--vendor-stack-url URL`` (or ``VENDOR_STACK_URL``) it uses a stack that
  already runs there (``make run``, a container) and starts nothing.
- ``vendors`` (function): the same stack, reset to its demo data before the test.

Nothing starts until a test asks for one of them, and everything started is
stopped (whole process groups) when the session ends.

``mock_vendors()`` is the in-process mode (vendorkit.inprocess): the same
vendors, gateway policy and admin API inside the test process, no socket.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

URL_OPTION = "--vendor-stack-url"
URL_VARIABLE = "VENDOR_STACK_URL"
# route name -> the service's package; svc-leaver is a client of the vendors, not one of them.
VENDOR_SERVICES = {
    "wipe": "svc_wipe",
    "bulkuser": "svc_bulkuser",
    "offboard": "svc_offboard",
    "emm": "svc_emm",
    "agenda": "svc_agenda",
}
# Settings of the caller's environment that would point the stack elsewhere or lock its admin API.
INHERITED_SETTINGS_DROPPED = frozenset(
    {
        "DATABASE_URL",
        "ADMIN_TOKEN",
        "GATEWAY_CONFIG",
        "GATEWAY_ADMIN_TOKEN",
        "GATEWAY_SERVICE_ADMIN_TOKEN",
        "SERVE_APP",
        "SERVE_BIND",
    }
)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# The first reset after a service starts runs its demo loader, which takes about a second.
ADMIN_TIMEOUT = 30.0


class VendorStackError(RuntimeError):
    """The stack's admin API refused a call, or the stack could not be started or reached."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class Fault:
    """A fault set on the gateway; removed by ``remove()`` or on leaving its ``with`` block."""

    def __init__(self, stack: VendorStack, fields: dict[str, Any]):
        self._stack = stack
        self.fields = fields

    @property
    def id(self) -> str:
        """The gateway's id of this fault."""
        return self.fields["id"]

    def remove(self) -> None:
        """Remove the fault; one already used up (``times``) or reset away is fine."""
        self._stack._call("DELETE", f"/_gateway/faults/{self.id}", missing_ok=True)

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"Fault({self.fields!r})"


class VendorStack:
    """A running stack, driven through the gateway's admin API under ``/_gateway/``."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self._session = requests.Session()

    def _call(
        self, method: str, path: str, *, json: Any = None, params: Any = None, missing_ok: bool = False
    ) -> Any:
        try:
            answer = self._session.request(
                method, self.url + path, json=json, params=params, timeout=ADMIN_TIMEOUT
            )
        except requests.RequestException as exc:
            raise VendorStackError(f"{method} {self.url}{path}: {exc}") from exc
        if missing_ok and answer.status_code == 404:
            return None
        try:
            body = answer.json() if answer.content else None
        except ValueError:
            body = answer.text
        if answer.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else body
            raise VendorStackError(
                f"{method} {path} answered {answer.status_code}: {message}", answer.status_code, body
            )
        return body

    def reset(self, *routes: str) -> list[str]:
        """Put the routes' services (all of them when none is named) back to their demo data; their journal and faults go."""
        document = {"routes": list(routes)} if routes else None
        return self._call("POST", "/_gateway/reset", json=document)["reset"]

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """The journal's entries, newest first; filters: route, method, path (a prefix), status, limit."""
        query = {name: value for name, value in filters.items() if value is not None}
        return self._call("GET", "/_gateway/requests", params=query)["requests"]

    def fault(self, **fields: Any) -> Fault:
        """Set a fault (the fields of ``POST /_gateway/faults``); use it as a context manager to remove it after."""
        return Fault(self, self._call("POST", "/_gateway/faults", json=fields))

    def state(self) -> dict[str, Any]:
        """Every vendor's data, as a document ``restore`` takes back."""
        return self._call("GET", "/_gateway/state")

    def restore(self, state: dict[str, Any]) -> list[str]:
        """Put the vendors' data back as ``state()`` returned it; all routes or none."""
        return self._call("PUT", "/_gateway/state", json=state)["restored"]

    def close(self) -> None:
        """Release the HTTP connections (the stack itself keeps running)."""
        self._session.close()


class LaunchedStack(VendorStack):
    """The gateway and the five vendor services started here, in their own process groups."""

    def __init__(self, workdir: Path, gateway_port: int, service_ports: dict[str, int]):
        super().__init__(f"http://127.0.0.1:{gateway_port}")
        self.workdir = workdir
        self.gateway_port = gateway_port
        self.service_ports = service_ports
        self.processes: list[subprocess.Popen] = []

    def gateway_config(self) -> dict[str, Any]:
        """The gateway's demo configuration, its five vendor routes pointed at this stack's services."""
        try:
            demo = importlib.resources.files("gateway").joinpath("demo.yaml").read_text()
        except ModuleNotFoundError:
            raise VendorStackError(
                "the gateway is not installed here: install usermgmt-gateway and the five services, "
                f"or point {URL_OPTION} at a running stack"
            ) from None
        config = yaml.safe_load(demo)
        config["routes"] = [route for route in config["routes"] if route["name"] in VENDOR_SERVICES]
        for route in config["routes"]:
            route["upstreams"] = [f"http://127.0.0.1:{self.service_ports[route['name']]}"]
        config["rate_limit_storage"] = "memory://"
        config["admin"] = {"enabled": True, "token": None, "allow": ["127.0.0.1/32", "::1/128"]}
        config["journal"] = {"capacity": 1000, "max_body_bytes": 65536}
        return config

    def _spawn(self, command: list[str], environment: dict[str, str], log_name: str) -> None:
        with open(self.workdir / log_name, "ab") as log:
            self.processes.append(
                subprocess.Popen(
                    command,
                    env=environment,
                    cwd=self.workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def start(self) -> LaunchedStack:
        """Start the services (one forking parent, as ``make run`` does) and the gateway; wait until all answer."""
        (self.workdir / "var").mkdir()
        config_path = self.workdir / "gateway.yaml"
        config_path.write_text(yaml.safe_dump(self.gateway_config()))
        base = {key: value for key, value in os.environ.items() if key not in INHERITED_SETTINGS_DROPPED}
        # Without DATABASE_URL each service opens var/<service>.db under its working directory: here, workdir.
        services = {**base, "DEMO_DATA": "1", "ADMIN_API": "1", "LOG_LEVEL": "WARNING"}
        targets = [
            f"{package}:create_app()@127.0.0.1:{self.service_ports[route]}"
            for route, package in VENDOR_SERVICES.items()
        ]
        self._spawn([sys.executable, "-m", "vendorkit.serve", *targets], services, "services.log")
        gateway = {**base, "GATEWAY_CONFIG": str(config_path), "RATELIMIT_STORAGE_URL": "memory://"}
        command = [
            sys.executable,
            "-m",
            "gateway",
            "--bind",
            f"127.0.0.1:{self.gateway_port}",
            "--workers",
            "1",
        ]
        self._spawn(command, gateway, "gateway.log")
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _health_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/healthz" for port in self.service_ports.values()] + [
            f"{self.url}/_gateway/healthz"
        ]

    def _wait_healthy(self) -> None:
        waiting = self._health_urls()
        deadline = time.monotonic() + START_TIMEOUT
        while waiting:
            if any(process.poll() is not None for process in self.processes):
                raise VendorStackError(f"the vendor stack stopped while starting:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise VendorStackError(f"not answering after {START_TIMEOUT:.0f}s: {waiting}\n{self.logs()}")
            for url in list(waiting):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(url, timeout=2).status_code == 200:
                        waiting.remove(url)
            time.sleep(0.05)

    def logs(self, lines: int = 40) -> str:
        """The last lines of the services' and the gateway's output."""
        tails = []
        for name in ("services.log", "gateway.log"):
            path = self.workdir / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(tails)

    def stop(self) -> None:
        """Stop every process started, workers and forked children included (their whole process groups)."""
        self.close()
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            # Whatever is left of the group (a child that ignored SIGTERM) goes now.
            _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    # The leader was started with start_new_session, so its pid is its group's id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports nobody listens on right now."""
    with contextlib.ExitStack() as sockets:
        ports = []
        for _ in range(count):
            sock = sockets.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


@contextlib.contextmanager
def launch_vendor_stack() -> Iterator[LaunchedStack]:
    """The gateway and the five vendor services, started for the block and stopped after it, their files removed."""
    workdir = Path(tempfile.mkdtemp(prefix="vendor-stack-"))
    gateway_port, *ports = _free_ports(1 + len(VENDOR_SERVICES))
    stack = LaunchedStack(workdir, gateway_port, dict(zip(VENDOR_SERVICES, ports, strict=True)))
    try:
        yield stack.start()
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def mock_vendors(function: Any = None, /, **base_urls: str) -> Any:
    """The five vendors inside this process for a ``with`` block or a decorated test (see vendorkit.inprocess)."""
    from vendorkit.inprocess import mock_vendors as in_process

    return in_process(function, **base_urls)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--vendor-stack-url``."""
    parser.getgroup("vendor stack").addoption(
        URL_OPTION,
        dest="vendor_stack_url",
        default=None,
        metavar="URL",
        help=f"use the vendor stack running at URL instead of starting one (also: {URL_VARIABLE})",
    )


@pytest.fixture(scope="session")
def vendor_stack(request: pytest.FixtureRequest) -> Iterator[VendorStack]:
    """The five vendors behind the gateway: started for the session, or the one at ``--vendor-stack-url``."""
    url = request.config.getoption("vendor_stack_url") or os.environ.get(URL_VARIABLE)
    if url:
        stack = VendorStack(url)
        try:
            yield stack
        finally:
            stack.close()
        return
    with launch_vendor_stack() as launched:
        yield launched


@pytest.fixture
def vendors(vendor_stack: VendorStack) -> VendorStack:
    """The vendor stack, every vendor back to its demo data and the journal and faults emptied first."""
    vendor_stack.reset()
    return vendor_stack
