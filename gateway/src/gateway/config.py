"""The gateway's YAML configuration, validated whole before anything starts."""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from limits import RateLimitItem, parse_many

from vendorkit.config import ConfigError, section
from vendorkit.dialects import DIALECT_NAMES
from vendorkit.netaddr import IPNetwork, parse_network

DEFAULT_CONFIG = Path(__file__).with_name("demo.yaml")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
LIMIT_PERIODS = {"second", "minute", "hour", "day"}


@dataclass(frozen=True)
class Timeouts:
    connect: float = 2.0
    read: float = 30.0


@dataclass(frozen=True)
class Override:
    path: str
    rate_limits: tuple[RateLimitItem, ...]


@dataclass(frozen=True)
class Route:
    name: str
    prefixes: tuple[str, ...]
    dialect: str
    upstreams: tuple[str, ...]
    timeouts: Timeouts = field(default_factory=Timeouts)
    rate_limits: tuple[RateLimitItem, ...] = ()
    limit_by: str = "ip"
    ip_allow: tuple[IPNetwork, ...] = ()
    ip_deny: tuple[IPNetwork, ...] = ()
    methods: frozenset[str] | None = None
    overrides: tuple[Override, ...] = ()
    resolve_interval: float = 5.0
    eject_seconds: float = 5.0

    @property
    def limit_header(self) -> str | None:
        """The header named by ``limit_by: header:<Name>``, or None for ``ip``."""
        return self.limit_by.split(":", 1)[1] if self.limit_by.startswith("header:") else None


@dataclass(frozen=True)
class AdminConfig:
    """Who may use the emulator's endpoints under /_gateway/, and how the gateway reaches the services' own."""

    enabled: bool = False
    token: str | None = None
    allow: tuple[IPNetwork, ...] = ()
    service_token: str | None = None


@dataclass(frozen=True)
class JournalConfig:
    """How many requests the journal keeps (0: none) and how much of each body."""

    capacity: int = 0
    max_body_bytes: int = 65536


@dataclass(frozen=True)
class GatewayConfig:
    routes: tuple[Route, ...]
    trusted_proxies: tuple[IPNetwork, ...]
    rate_limit_storage: str = "memory://"
    on_storage_failure: str = "open"
    max_body_bytes: int = 10 * 1024 * 1024
    admin: AdminConfig = field(default_factory=AdminConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)


TOP_LEVEL = {
    "trusted_proxies", "rate_limit_storage", "on_storage_failure", "max_body_bytes", "routes",
    "admin", "journal",
}  # fmt: skip
ADMIN_KEYS = {"enabled", "token", "allow", "service_token"}
JOURNAL_KEYS = {"capacity", "max_body_bytes"}
DEFAULT_ADMIN_ALLOW = ["127.0.0.1/32", "::1/128"]
ROUTE_KEYS = {
    "name", "prefixes", "dialect", "upstreams", "timeouts", "rate_limits", "limit_by",
    "ip_allow", "ip_deny", "methods", "overrides", "resolve_interval", "eject_seconds",
}  # fmt: skip


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list")
    return value


def _networks(value: Any, where: str) -> tuple[IPNetwork, ...]:
    networks = []
    for index, item in enumerate(_list(value, where)):
        try:
            networks.append(parse_network(str(item)))
        except ValueError:
            raise ConfigError(f"{where}[{index}]: {item!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _rate_limits(value: Any, where: str) -> tuple[RateLimitItem, ...]:
    items = []
    for index, text in enumerate(_list(value, where)):
        try:
            parsed = parse_many(str(text))
        except ValueError:
            parsed = []
        if len(parsed) != 1 or parsed[0].GRANULARITY.name not in LIMIT_PERIODS or parsed[0].multiples != 1:
            raise ConfigError(
                f"{where}[{index}]: {text!r} is not a rate limit like '20/second' or '600/minute'"
            )
        items.append(parsed[0])
    periods = [item.GRANULARITY.name for item in items]
    if len(set(periods)) != len(periods):
        raise ConfigError(f"{where}: at most one limit per period")
    return tuple(items)


def _number(value: Any, where: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= minimum:
        raise ConfigError(f"{where}: expected a number greater than {minimum:g}")
    return float(value)


def _upstream(value: Any, where: str) -> str:
    parts = urllib.parse.urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"{where}: {value!r} is not an upstream URL like http://host:port")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{where}: {value!r} has an invalid port") from None
    return str(value).rstrip("/")


def _route(raw: Any, index: int) -> Route:
    where = f"routes[{index}]"
    raw = section(raw, where, ROUTE_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError(f"{where}.name: expected a name of letters, digits, '_' or '-'")
    prefixes = _list(raw.get("prefixes"), f"{where}.prefixes")
    if not prefixes:
        raise ConfigError(f"{where}.prefixes: at least one prefix is required")
    for position, prefix in enumerate(prefixes):
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ConfigError(f"{where}.prefixes[{position}]: a prefix must start with '/'")
    dialect = raw.get("dialect")
    if dialect not in DIALECT_NAMES:
        raise ConfigError(
            f"{where}.dialect: unknown dialect {dialect!r} (expected one of {', '.join(DIALECT_NAMES)})"
        )
    upstreams = [
        _upstream(u, f"{where}.upstreams[{i}]")
        for i, u in enumerate(_list(raw.get("upstreams"), f"{where}.upstreams"))
    ]
    if not upstreams:
        raise ConfigError(f"{where}.upstreams: at least one upstream is required")

    raw_timeouts = section(raw.get("timeouts"), f"{where}.timeouts", {"connect", "read"})
    timeouts = Timeouts(
        connect=_number(raw_timeouts.get("connect", 2), f"{where}.timeouts.connect"),
        read=_number(raw_timeouts.get("read", 30), f"{where}.timeouts.read"),
    )

    limit_by = raw.get("limit_by", "ip")
    if not isinstance(limit_by, str) or not (
        limit_by == "ip" or (limit_by.startswith("header:") and HEADER_NAME.fullmatch(limit_by[7:]))
    ):
        raise ConfigError(f"{where}.limit_by: expected 'ip' or 'header:<Name>'")

    methods = None
    if "methods" in raw:
        names = [str(m).upper() for m in _list(raw["methods"], f"{where}.methods")]
        bad = [m for m in names if m not in KNOWN_METHODS]
        if bad or not names:
            raise ConfigError(f"{where}.methods: unknown method {bad[0] if bad else '(none)'!r}")
        methods = frozenset(names)

    overrides = []
    for position, item in enumerate(_list(raw.get("overrides"), f"{where}.overrides")):
        spot = f"{where}.overrides[{position}]"
        item = section(item, spot, {"path", "rate_limits"})
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(f"{spot}.path: a path must start with '/'")
        overrides.append(Override(path, _rate_limits(item.get("rate_limits"), f"{spot}.rate_limits")))

    return Route(
        name=name,
        prefixes=tuple(prefixes),
        dialect=dialect,
        upstreams=tuple(upstreams),
        timeouts=timeouts,
        rate_limits=_rate_limits(raw.get("rate_limits"), f"{where}.rate_limits"),
        limit_by=limit_by,
        ip_allow=_networks(raw.get("ip_allow"), f"{where}.ip_allow"),
        ip_deny=_networks(raw.get("ip_deny"), f"{where}.ip_deny"),
        methods=methods,
        overrides=tuple(overrides),
        resolve_interval=_number(raw.get("resolve_interval", 5), f"{where}.resolve_interval"),
        eject_seconds=_number(raw.get("eject_seconds", 5), f"{where}.eject_seconds"),
    )


def _secret(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _admin(raw: Any, environ) -> AdminConfig:
    fields = section(raw.get("admin"), "admin", ADMIN_KEYS)
    enabled = fields.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError("admin.enabled: expected true or false")
    token = environ.get("GATEWAY_ADMIN_TOKEN") or _secret(fields.get("token"), "admin.token")
    service_token = environ.get("GATEWAY_SERVICE_ADMIN_TOKEN") or _secret(
        fields.get("service_token"), "admin.service_token"
    )
    allow = fields.get("allow", DEFAULT_ADMIN_ALLOW)
    return AdminConfig(
        enabled=enabled,
        token=token,
        allow=_networks(allow, "admin.allow"),
        service_token=service_token,
    )


def _whole_number(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: expected a whole number of at least {minimum}")
    return value


def _journal(raw: Any) -> JournalConfig:
    fields = section(raw.get("journal"), "journal", JOURNAL_KEYS)
    return JournalConfig(
        capacity=_whole_number(fields.get("capacity", 0), "journal.capacity", 0),
        max_body_bytes=_whole_number(fields.get("max_body_bytes", 65536), "journal.max_body_bytes", 1),
    )


def parse_config(raw: Any, environ: dict[str, str] | None = None) -> GatewayConfig:
    """Validate a loaded YAML document; ConfigError names the first bad field."""
    environ = os.environ if environ is None else environ
    raw = section(raw, "", TOP_LEVEL)
    routes = tuple(_route(item, i) for i, item in enumerate(_list(raw.get("routes"), "routes")))
    if not routes:
        raise ConfigError("routes: at least one route is required")

    seen_names: set[str] = set()
    seen_prefixes: dict[str, str] = {}
    for index, route in enumerate(routes):
        if route.name in seen_names:
            raise ConfigError(f"routes[{index}].name: {route.name!r} is used by another route")
        seen_names.add(route.name)
        for position, prefix in enumerate(route.prefixes):
            if prefix in seen_prefixes:
                raise ConfigError(
                    f"routes[{index}].prefixes[{position}]: {prefix!r} is also a prefix of route {seen_prefixes[prefix]!r}"
                )
            seen_prefixes[prefix] = route.name
        if any(prefix.startswith("/_gateway/") for prefix in route.prefixes):
            raise ConfigError(f"routes[{index}].prefixes: /_gateway/ is the gateway's own")

    storage = environ.get("RATELIMIT_STORAGE_URL") or raw.get("rate_limit_storage", "memory://")
    if not isinstance(storage, str) or not re.match(r"^(memory|redis|rediss|redis\+unix)://", storage):
        raise ConfigError("rate_limit_storage: expected memory:// or redis://host:port/db")
    failure = raw.get("on_storage_failure", "open")
    if failure not in ("open", "closed"):
        raise ConfigError("on_storage_failure: expected 'open' or 'closed'")
    max_body = raw.get("max_body_bytes", 10 * 1024 * 1024)
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
        raise ConfigError("max_body_bytes: expected a whole number of bytes")

    return GatewayConfig(
        routes=routes,
        trusted_proxies=_networks(raw.get("trusted_proxies", ["127.0.0.1/32", "::1/128"]), "trusted_proxies"),
        rate_limit_storage=storage,
        on_storage_failure=failure,
        max_body_bytes=max_body,
        admin=_admin(raw, environ),
        journal=_journal(raw),
    )


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> GatewayConfig:
    """Read and validate the file named by ``path`` or GATEWAY_CONFIG (the demo file by default)."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("GATEWAY_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"GATEWAY_CONFIG: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"GATEWAY_CONFIG: {path} is not valid YAML: {exc}") from None
    return parse_config(raw, environ)
