"""Fixtures of the gateway's end-to-end tests: an echoing upstream and gateway processes from config dicts."""

import pytest
import yaml
from gwsupport import serve

from vendorkit.testing import ServerProcess


@pytest.fixture(scope="module")
def echo():
    """A real echo server on loopback."""
    with serve() as url:
        yield url


@pytest.fixture
def gateways(tmp_path):
    """Start ``gateway`` commands from config mappings; all are stopped after the test."""
    started: list[ServerProcess] = []

    def start(config, name="gateway", workers=1, **env):
        name = f"{name}{len(started)}"
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        process = ServerProcess(
            "gateway:create_app()",
            env={"GATEWAY_CONFIG": str(path), **env},
            workers=workers,
            log_path=tmp_path / f"{name}.log",
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
