"""Rate limits: counting per route and client, the headers, and refusals in every vendor's envelope."""

import time

import pytest
from gwsupport import REFUSALS, route


@pytest.mark.parametrize("dialect", sorted(REFUSALS))
def test_the_refusal_speaks_the_routes_dialect(make_gateway, upstream, dialect):
    _, client = make_gateway(route(dialect=dialect, upstreams=[upstream], rate_limits=["2/minute"]))
    assert client.get("/api/v1/x").status_code == 200
    assert client.get("/api/v1/x").status_code == 200
    refused = client.get("/api/v1/x")
    status, body = REFUSALS[dialect]["rate_limited"]
    assert refused.status_code == status
    assert refused.json == body
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"


def test_the_aktion_refusal_is_xml_when_the_client_asks_for_xml(make_gateway, upstream):
    _, client = make_gateway(route(dialect="aktion", upstreams=[upstream], rate_limits=["1/minute"]))
    client.get("/api/v1/x")
    refused = client.get("/api/v1/x", headers={"Accept": "application/xml"})
    assert refused.status_code == 401
    assert refused.headers["Content-Type"].startswith("application/xml")
    assert b"<Code>1008</Code>" in refused.get_data()
    assert b"<Message>Request rate policy violated for [127.0.0.9]</Message>" in refused.get_data()


def test_the_commvault_refusal_is_xml_when_the_client_asks_for_xml(make_gateway, upstream):
    _, client = make_gateway(route(dialect="commvault", upstreams=[upstream], rate_limits=["1/minute"]))
    client.get("/api/v1/x")
    refused = client.get("/api/v1/x", headers={"Accept": "application/xml"})
    assert refused.status_code == 429
    assert b'<App_GenericResp errorCode="429" errorMessage="Too many requests" />' in refused.get_data()


def test_headers_describe_every_period_and_the_most_restrictive_limit(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream], rate_limits=["5/second", "3/minute", "100/hour"]))
    response = client.get("/api/v1/x")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit-Second"] == "5"
    assert response.headers["X-RateLimit-Remaining-Second"] == "4"
    assert response.headers["X-RateLimit-Limit-Minute"] == "3"
    assert response.headers["X-RateLimit-Remaining-Minute"] == "2"
    assert response.headers["X-RateLimit-Limit-Hour"] == "100"
    assert response.headers["X-RateLimit-Remaining-Hour"] == "99"
    # The minute limit has the fewest requests left.
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "2"
    assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60


def test_on_a_tie_the_longer_window_is_reported(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream], rate_limits=["4/second", "4/minute"]))
    # The windows follow the clock: in a minute's last seconds its reset is as near as the second's.
    if (seconds_left := 60 - time.time() % 60) < 3:
        time.sleep(seconds_left)
    response = client.get("/api/v1/x")
    assert response.headers["RateLimit-Limit"] == "4"
    assert int(response.headers["RateLimit-Reset"]) > 1  # the minute's reset, not the second's


def test_clients_and_routes_are_counted_apart(make_gateway, upstream):
    _, client = make_gateway(
        route("a", prefixes=["/a/"], upstreams=[upstream], rate_limits=["1/minute"]),
        route("b", prefixes=["/b/"], upstreams=[upstream], rate_limits=["1/minute"]),
    )
    assert client.get("/a/x").status_code == 200
    assert client.get("/a/x").status_code == 429
    assert client.get("/b/x").status_code == 200
    assert client.get("/a/x", environ_base={"REMOTE_ADDR": "127.0.0.10"}).status_code == 200


def test_an_override_counts_only_against_its_own_limits(make_gateway, upstream):
    _, client = make_gateway(
        route(
            upstreams=[upstream],
            rate_limits=["3/minute"],
            overrides=[{"path": "/api/v1/login", "rate_limits": ["1/minute"]}],
        )
    )
    assert client.post("/api/v1/login").status_code == 200
    login = client.post("/api/v1/login")
    assert login.status_code == 429
    assert login.headers["X-RateLimit-Limit-Minute"] == "1"
    # The route's own budget is untouched by the login calls.
    first = client.get("/api/v1/users")
    assert first.headers["X-RateLimit-Remaining-Minute"] == "2"
    # An override matches its path exactly.
    assert client.post("/api/v1/login/extra").headers["X-RateLimit-Limit-Minute"] == "3"


def test_limit_by_header_falls_back_to_the_address(make_gateway, upstream):
    _, client = make_gateway(
        route(upstreams=[upstream], rate_limits=["1/minute"], limit_by="header:X-Consumer")
    )
    assert client.get("/api/v1/x", headers={"X-Consumer": "alice"}).status_code == 200
    assert client.get("/api/v1/x", headers={"X-Consumer": "alice"}).status_code == 429
    assert client.get("/api/v1/x", headers={"X-Consumer": "bob"}).status_code == 200
    assert client.get("/api/v1/x").status_code == 200
    assert client.get("/api/v1/x").status_code == 429


def test_a_burst_at_a_window_boundary_passes_at_most_twice_the_limit(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream], rate_limits=["10/second"]))
    # Spend the budget at the very end of one window and the start of the next.
    while time.time() % 1 < 0.8:
        time.sleep(0.01)
    passed = sum(client.get("/api/v1/x").status_code == 200 for _ in range(15))
    while time.time() % 1 > 0.2:
        time.sleep(0.01)
    passed += sum(client.get("/api/v1/x").status_code == 200 for _ in range(15))
    assert passed <= 20


def test_unlimited_routes_send_no_limit_headers(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    response = client.get("/api/v1/x")
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response.headers


def test_refusals_are_counted_in_metrics(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream], rate_limits=["1/minute"]))
    client.get("/api/v1/x")
    client.get("/api/v1/x")
    metrics = client.get("/_gateway/metrics").get_data(as_text=True)
    assert 'gateway_ratelimit_refusals_total{route="wipe"} 1.0' in metrics
    assert 'gateway_requests_total{route="wipe",status="429"} 1.0' in metrics
