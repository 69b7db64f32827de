"""Gateway test fixtures: real upstream servers on loopback and gateways built from config dicts."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.config import parse_config
from gateway.testing import GatewayLoop, InProcessGateway

sys.path.insert(0, str(Path(__file__).parent))

from gwsupport import PeerClient, serve


@pytest.fixture(scope="session")
def upstream():
    """An echo server on 127.0.0.1, shared by the tests that only need one."""
    with serve() as url:
        yield url


@pytest.fixture(scope="session")
def gateway_loop():
    """The event loop the in-process gateways run on."""
    loop = GatewayLoop()
    yield loop
    loop.close()


@pytest.fixture
def make_gateway(gateway_loop):
    """Build a Gateway (and a test client) from route mappings; the peer defaults to 127.0.0.9."""
    built: list[Gateway] = []

    def build(*routes, resolver=None, peer="127.0.0.9", **top):
        raw = {"routes": [copy.deepcopy(r) for r in routes], **top}
        config = parse_config(raw, environ={})
        gateway = Gateway(config, resolver=resolver) if resolver else Gateway(config)
        built.append(gateway)
        return gateway, PeerClient(InProcessGateway(gateway, gateway_loop), peer)

    yield build
    for gateway in built:
        gateway_loop.run(gateway.close())
