"""The client-address rule shared by the gateway and the services."""

import pytest

from vendorkit.netaddr import client_address, parse_address, parse_networks

TRUSTED = parse_networks("127.0.0.1/32,::1/128,10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", [], "203.0.113.5"),
        ("203.0.113.5", ["127.0.0.1"], "203.0.113.5"),  # untrusted peers cannot pick an address
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.2"], "198.51.100.2"),
        ("127.0.0.1", ["198.51.100.2, 203.0.113.9"], "203.0.113.9"),  # read from the right
        ("127.0.0.1", ["198.51.100.2, 10.1.2.3"], "198.51.100.2"),  # trusted hops skipped
        ("127.0.0.1", ["198.51.100.2", "10.1.2.3"], "198.51.100.2"),  # repeated headers combine
        ("127.0.0.1", ["10.0.0.1, 10.0.0.2"], "10.0.0.1"),  # all trusted: the left-most
        ("127.0.0.1", ["garbage, 10.0.0.2"], "10.0.0.2"),  # garbage never becomes the client
        ("::1", ["2001:db8::1"], "2001:db8::1"),
        ("::ffff:127.0.0.1", ["198.51.100.2"], "198.51.100.2"),  # mapped counts as IPv4
        ("::ffff:203.0.113.5", [], "203.0.113.5"),
        ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("127.0.0.1", ["198.51.100.2:5555"], "198.51.100.2"),
    ],
)
def test_client_address(peer, forwarded, expected):
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_parse_address_folds_mapped_ipv6_and_rejects_garbage():
    assert str(parse_address("::ffff:192.0.2.1")) == "192.0.2.1"
    assert parse_address("localhost") is None
    assert parse_address("") is None


def test_parse_networks_names_the_bad_item():
    with pytest.raises(ValueError, match=r"'10.0.0.0/33'"):
        parse_networks("127.0.0.1, 10.0.0.0/33")
    assert [str(n) for n in parse_networks("192.0.2.7/24, ::ffff:10.0.0.0/104")] == [
        "192.0.2.0/24",
        "10.0.0.0/8",
    ]
