"""Client addresses behind trusted proxies: one rule (``client_address``) for the gateway and every service."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> IPAddress | None:
    """An address from ``text`` (IPv4-mapped IPv6 folded to IPv4), or None if it is not one."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1 and "." in text:  # "192.0.2.1:8080"
        text = text.split(":", 1)[0]
    if "%" in text:  # zone index, e.g. fe80::1%eth0
        text = text.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_network(text: str) -> IPNetwork:
    """A CIDR or single address as a network (host bits allowed); ValueError if invalid."""
    text = text.strip()
    if not text:
        raise ValueError("empty address")
    network = ipaddress.ip_network(text, strict=False)
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        mapped = network.network_address.ipv4_mapped
        prefix = max(network.prefixlen - 96, 0)
        return ipaddress.ip_network(f"{mapped}/{prefix}", strict=False)
    return network


def parse_networks(items: Iterable[str] | str) -> tuple[IPNetwork, ...]:
    """Networks from a list or a comma-separated string; ValueError names the bad item."""
    if isinstance(items, str):
        items = [item for item in items.split(",") if item.strip()]
    networks = []
    for item in items:
        try:
            networks.append(parse_network(str(item)))
        except ValueError as exc:
            raise ValueError(f"{str(item).strip()!r} is not an IP address or CIDR range") from exc
    return tuple(networks)


def in_networks(address: IPAddress | None, networks: Sequence[IPNetwork]) -> bool:
    """Whether ``address`` lies in any of ``networks`` (never across IP versions)."""
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)


def forwarded_entries(header_values: Iterable[str]) -> list[str]:
    """Every X-Forwarded-For entry, left to right, over all occurrences of the header."""
    return [part.strip() for value in header_values for part in value.split(",") if part.strip()]


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's address: the TCP peer, or, behind trusted proxies, the nearest untrusted hop.

    X-Forwarded-For is believed only when the peer itself is trusted; it is then
    read from the right, skipping trusted hops. If every hop is trusted, the
    left-most one is the client. An entry that is not an address ends the walk
    and the last trusted hop is taken, so garbage can never pose as a client.
    """
    peer_address = parse_address(peer)
    if peer_address is None:
        return peer
    if not in_networks(peer_address, trusted):
        return str(peer_address)
    client = peer_address
    for entry in reversed(forwarded_entries(forwarded_for)):
        address = parse_address(entry)
        if address is None:
            break
        client = address
        if not in_networks(address, trusted):
            break
    return str(client)


def environ_client_address(environ: dict, trusted: Sequence[IPNetwork]) -> str:
    """``client_address`` for a WSGI environ."""
    header = environ.get("HTTP_X_FORWARDED_FOR")
    return client_address(environ.get("REMOTE_ADDR", ""), [header] if header else [], trusted)
