"""svc-leaver settings: the environment for the service, a YAML file for the five vendors.

The YAML file (``LEAVER_CONFIG``) names each vendor's base URL and account and
the *environment variable* holding its secret; secrets never live in the file.
Any mistake stops the service at start with a message naming the field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from vendorkit.config import ConfigError, load_settings, section

SERVICE = "svc-leaver"

# The five vendors, in the order runs show them.
TARGETS = ("grommunio", "dnl", "commvault", "wso2", "aktion")

# Which secret each vendor's account uses: aktion logs in with an API key, the others with a password.
SECRET_FIELD = {name: "password_env" for name in TARGETS} | {"aktion": "api_key_env"}

DEMO_SECRETS: dict[str, str] = {"LEAVER_API_TOKEN": "leaver-demo-token"}

DEFAULTS: dict[str, Any] = {
    # The YAML file of the vendors; unset in demo mode: the packaged demo.yaml.
    "LEAVER_CONFIG": "",
    # Where the task queue lives: empty = the service's own database (DATABASE_URL);
    # or redis://host:port/db.
    "LEAVER_QUEUE_URL": "",
    # The queue's name, so that several deployments can share one Redis.
    "LEAVER_QUEUE_NAME": "svc-leaver",
    # "inprocess": each web process also runs a queue consumer; "none": a separate `leaver worker` does.
    "LEAVER_CONSUMER": "inprocess",
    # Threads of a queue consumer: how many targets one process works on at once.
    "LEAVER_WORKERS": 8,
    # How long a worker's claim on a target lasts without a heartbeat (0: derived from the timeouts).
    "LEAVER_LEASE_SECONDS": 0.0,
}

PACKAGED_DEMO_CONFIG = Path(__file__).with_name("demo.yaml")


@dataclass(frozen=True)
class TargetConfig:
    """One vendor: where it is and which account the service logs in as."""

    name: str
    base_url: str
    username: str
    secret: str
    secret_env: str


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing vendor request is repeated."""

    attempts: int = 5
    base_delay_ms: int = 200
    max_delay_ms: int = 5000


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect to a vendor and to wait for its answer."""

    connect: float = 2.0
    read: float = 30.0


@dataclass(frozen=True)
class LeaverConfig:
    """The whole YAML configuration, secrets resolved from the environment."""

    targets: dict[str, TargetConfig]
    retry: RetryPolicy
    timeouts: Timeouts


def _text(fields: dict[str, Any], key: str, where: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: required, a non-empty string")
    return value


def _number(fields: dict[str, Any], key: str, where: str, default: float, *, integer: bool, minimum: float):
    value = fields.get(key, default)
    valid_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not valid_type or not math.isfinite(value) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where}.{key}: expected {kind} >= {minimum:g}, got {value!r}")
    return value


def _target(name: str, raw: Any, environ: Mapping[str, str]) -> TargetConfig:
    where = f"targets.{name}"
    secret_field = SECRET_FIELD[name]
    fields = section(raw, where, {"base_url", "username", secret_field})
    base_url = _text(fields, "base_url", where)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}.base_url: expected an http:// or https:// URL, got {base_url!r}")
    username = _text(fields, "username", where)
    secret_env = _text(fields, secret_field, where)
    secret = environ.get(secret_env)
    if not secret:
        raise ConfigError(f"{where}.{secret_field}: environment variable {secret_env} is not set")
    return TargetConfig(name, base_url.rstrip("/"), username, secret, secret_env)


def parse_leaver_config(document: Any, environ: Mapping[str, str] | None = None) -> LeaverConfig:
    """A validated LeaverConfig from the parsed YAML ``document``; ConfigError names the bad field."""
    environ = os.environ if environ is None else environ
    root = section(document, "configuration", {"targets", "retry", "timeouts"})
    targets_section = section(root.get("targets"), "targets", TARGETS)
    if not targets_section:
        raise ConfigError("targets: at least one target is required")
    targets = {
        name: _target(name, targets_section[name], environ) for name in TARGETS if name in targets_section
    }

    retry_section = section(root.get("retry"), "retry", {"attempts", "base_delay_ms", "max_delay_ms"})
    defaults = RetryPolicy()
    retry = RetryPolicy(
        attempts=_number(retry_section, "attempts", "retry", defaults.attempts, integer=True, minimum=1),
        base_delay_ms=_number(
            retry_section, "base_delay_ms", "retry", defaults.base_delay_ms, integer=True, minimum=0
        ),
        max_delay_ms=_number(
            retry_section, "max_delay_ms", "retry", defaults.max_delay_ms, integer=True, minimum=0
        ),
    )
    if retry.max_delay_ms < retry.base_delay_ms:
        raise ConfigError("retry.max_delay_ms: must not be less than retry.base_delay_ms")

    timeout_section = section(root.get("timeouts"), "timeouts", {"connect", "read"})
    timeouts = Timeouts(
        connect=_number(timeout_section, "connect", "timeouts", 2.0, integer=False, minimum=0.001),
        read=_number(timeout_section, "read", "timeouts", 30.0, integer=False, minimum=0.001),
    )
    return LeaverConfig(targets=targets, retry=retry, timeouts=timeouts)


def load_leaver_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> LeaverConfig:
    """Read and validate the YAML file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"LEAVER_CONFIG: cannot read {path}: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"LEAVER_CONFIG: {path} is not valid YAML: {exc}") from None
    return parse_leaver_config(document, environ)


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Service settings from the environment, then ``overrides``; adds ``LEAVER`` (the parsed YAML)."""
    settings = load_settings(SERVICE, DEFAULTS, demo_secrets=DEMO_SECRETS, overrides=overrides)
    if settings["LEAVER_CONSUMER"] not in ("inprocess", "none"):
        raise ConfigError("LEAVER_CONSUMER: expected inprocess or none")
    if settings["LEAVER_WORKERS"] < 1:
        raise ConfigError("LEAVER_WORKERS: expected an integer >= 1")
    if "LEAVER" not in settings:
        path = settings["LEAVER_CONFIG"]
        if not path:
            if not settings["DEMO_DATA"]:
                raise ConfigError(
                    "LEAVER_CONFIG: required when svc-leaver runs outside demo mode (DEMO_DATA=0)"
                )
            path = PACKAGED_DEMO_CONFIG
        settings["LEAVER"] = load_leaver_config(path)
    if not settings["LEAVER_LEASE_SECONDS"]:
        timeouts = settings["LEAVER"].timeouts
        # A claim outlives the longest single request by a margin, so a slow vendor never loses it.
        settings["LEAVER_LEASE_SECONDS"] = timeouts.connect + timeouts.read + 15.0
    return settings
