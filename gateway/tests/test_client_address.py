"""The client address the gateway filters and limits on: the peer, or behind trusted proxies the real client."""

import pytest
from gwsupport import route


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # An untrusted peer cannot choose its address.
        ("203.0.113.5", "127.0.0.1", "203.0.113.5"),
        ("203.0.113.5", None, "203.0.113.5"),
        # A trusted proxy's X-Forwarded-For is read from the right.
        ("127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        # Trusted hops are skipped.
        ("127.0.0.1", "198.51.100.1, 127.0.0.1", "198.51.100.1"),
        # IPv6 and IPv4-mapped peers.
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("::ffff:203.0.113.5", None, "203.0.113.5"),
    ],
)
def test_the_ip_filter_judges_the_real_client(make_gateway, upstream, peer, forwarded, client):
    _, test_client = make_gateway(
        route(upstreams=[upstream], ip_allow=[f"{client}/32" if "." in client else client])
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = test_client.get("/api/v1/x", headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == 200, response.get_data()
