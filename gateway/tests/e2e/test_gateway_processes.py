"""The gateway as it runs: the `gateway` command, real sockets, Redis-backed counters."""

import http.client
import subprocess
import sys
import time

import yaml
from gwsupport import route

from vendorkit.testing import RedisServer, http_request


def test_two_gateway_processes_share_one_redis_budget(gateways, echo, redis_server):
    config = {
        "routes": [route(upstreams=[echo], rate_limits=["6/minute"])],
        "rate_limit_storage": redis_server.url,
    }
    config["routes"][0]["name"] = "shared-budget"
    first, second = gateways(config), gateways(config)
    statuses = [http_request("GET", f"{g.url}/api/v1/x").status for _ in range(5) for g in (first, second)]
    assert statuses.count(200) == 6
    assert statuses.count(429) == 4


def test_redis_down_fails_open_without_limit_headers(gateways, echo):
    redis = RedisServer()
    redis.start()
    gateway = gateways(
        {"routes": [route(upstreams=[echo], rate_limits=["100/minute"])], "rate_limit_storage": redis.url}
    )
    assert "RateLimit-Limit" in http_request("GET", f"{gateway.url}/api/v1/x").headers
    redis.stop()
    for _ in range(3):
        started = time.monotonic()
        response = http_request("GET", f"{gateway.url}/api/v1/x")
        assert response.status == 200
        assert "RateLimit-Limit" not in response.headers
        assert time.monotonic() - started < 2
    metrics = http_request("GET", f"{gateway.url}/_gateway/metrics").text
    assert "gateway_ratelimit_storage_failures_total 3.0" in metrics


def test_redis_down_fails_closed_with_a_503_in_the_dialect(gateways, echo):
    redis = RedisServer()
    redis.start()
    gateway = gateways(
        {
            "routes": [route(dialect="dnl", prefixes=["/v1/"], upstreams=[echo], rate_limits=["100/minute"])],
            "rate_limit_storage": redis.url,
            "on_storage_failure": "closed",
        }
    )
    assert http_request("GET", f"{gateway.url}/v1/user").status == 200
    redis.stop()
    started = time.monotonic()
    response = http_request("GET", f"{gateway.url}/v1/user")
    assert time.monotonic() - started < 2
    assert response.status == 503
    assert response.json()["error"] == {
        "message": "Rate limit storage unavailable",
        "code": 503,
        "reason": "rate_limit_storage_unavailable",
    }
    redis.start()  # same port: the gateway recovers without a restart
    time.sleep(1.1)
    assert http_request("GET", f"{gateway.url}/v1/user").status == 200
    redis.stop()


def test_the_ip_filter_sees_the_real_socket_peer(gateways, echo):
    gateway = gateways({"routes": [route(upstreams=[echo], ip_allow=["127.0.0.2"])], "trusted_proxies": []})
    assert http_request("GET", f"{gateway.url}/api/v1/x", source="127.0.0.2").status == 200
    # Claiming to be 127.0.0.2 from elsewhere changes nothing.
    refused = http_request("GET", f"{gateway.url}/api/v1/x", headers={"X-Forwarded-For": "127.0.0.2"})
    assert refused.status == 403


def test_a_chunked_body_over_the_limit_is_refused(gateways, echo):
    gateway = gateways({"routes": [route(upstreams=[echo])], "max_body_bytes": 1000})
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.request("POST", "/api/v1/x", body=iter([b"x" * 600, b"y" * 600]), encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413
    connection.close()

    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.request("POST", "/api/v1/x", body=iter([b"a" * 300, b"b" * 300]), encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 200
    assert len(__import__("json").loads(response.read())["body"]) == 600
    connection.close()


def test_a_config_error_stops_the_gateway_command_with_the_field_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump({"routes": [route(upstreams=["http://127.0.0.1:9"], ip_deny=["10.0.0.300/8"])]})
    )
    finished = subprocess.run(
        [sys.executable, "-m", "gateway", "--bind", "127.0.0.1:0", "--workers", "2"],
        env={"GATEWAY_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert "routes[0].ip_deny[0]" in finished.stdout + finished.stderr


def test_the_whole_stack_answers_readiness_once_every_service_is_up(stack):
    for name in ("wipe", "bulkuser", "offboard", "emm", "agenda", "leaver"):
        stack.start(name)
    response = http_request("GET", stack.url("/_gateway/readyz"))
    assert (response.status, response.json()) == (200, {"status": "ready"})
    docs = http_request("GET", stack.url("/_gateway/docs/specs/emm.json"))
    assert docs.status == 200 and docs.json()["openapi"].startswith("3.")
