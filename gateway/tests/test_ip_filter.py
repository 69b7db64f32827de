"""IP allow and deny lists, IPv4 and IPv6, deny first."""

import pytest
from gwsupport import REFUSALS, route


@pytest.mark.parametrize("dialect", sorted(REFUSALS))
def test_a_denied_address_is_refused_in_the_routes_dialect(make_gateway, upstream, dialect):
    _, client = make_gateway(
        route(dialect=dialect, upstreams=[upstream], ip_deny=["192.0.2.0/24"]), peer="192.0.2.1"
    )
    response = client.get("/api/v1/x")
    status, body = REFUSALS[dialect]["ip_denied"]
    assert (response.status_code, response.json) == (status, body)


@pytest.mark.parametrize(
    ("allow", "deny", "peer", "passes"),
    [
        ([], [], "198.51.100.1", True),
        (["198.51.100.0/24"], [], "198.51.100.1", True),
        (["198.51.100.0/24"], [], "198.51.101.1", False),
        (["198.51.100.0/24"], ["198.51.100.1"], "198.51.100.1", False),  # deny wins
        (["198.51.100.0/24"], ["198.51.100.1"], "198.51.100.2", True),
        (["2001:db8::/32"], [], "2001:db8:1::5", True),
        (["2001:db8::/32"], [], "2001:db9::5", False),
        ([], ["2001:db8::/32"], "2001:db8::1", False),
        ([], ["2001:db8::/32"], "198.51.100.1", True),  # a v6 rule never matches a v4 client
        (["198.51.100.0/24"], [], "::ffff:198.51.100.9", True),  # IPv4-mapped counts as IPv4
        ([], ["198.51.100.9"], "::ffff:198.51.100.9", False),
    ],
)
def test_allow_and_deny(make_gateway, upstream, allow, deny, peer, passes):
    _, client = make_gateway(route(upstreams=[upstream], ip_allow=allow, ip_deny=deny), peer=peer)
    assert (client.get("/api/v1/x").status_code == 200) is passes


def test_refusals_are_counted_in_metrics(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream], ip_deny=["0.0.0.0/0"]))
    client.get("/api/v1/x")
    assert 'gateway_ip_refusals_total{route="wipe"} 1.0' in client.get("/_gateway/metrics").get_data(
        as_text=True
    )
