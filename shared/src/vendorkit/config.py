"""Settings from the environment, with the production guard of the deployment contract; YAML sections checked."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

from vendorkit.netaddr import IPNetwork, parse_networks

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names the variable."""


def common_defaults(service: str) -> dict[str, Any]:
    """Settings every service has, with their ``make run`` defaults."""
    return {
        "DATABASE_URL": f"sqlite:///var/{service}.db",
        "DEMO_DATA": False,
        "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
        "LOG_LEVEL": "INFO",
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "RUN_MIGRATIONS": True,
        # The emulator's /_admin endpoints (reset, state), and the bearer token they need when set.
        "ADMIN_API": False,
        "ADMIN_TOKEN": "",
    }


def networks(settings: Mapping[str, Any], name: str) -> tuple[IPNetwork, ...]:
    """The networks the setting ``name`` lists (addresses or CIDR ranges, comma-separated)."""
    try:
        return parse_networks(settings[name])
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def section(value: Any, where: str, fields: Collection[str]) -> dict[str, Any]:
    """``value``, one mapping of a YAML configuration file, holding no field but ``fields``.

    A section left out or left empty (YAML null) is the empty mapping.
    ConfigError names the place: ``where`` for anything but a mapping, and
    ``where.field`` for the first field it does not know (``where`` is empty
    at the top level of the file).
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where or '(top level)'}: expected a mapping")
    for name in value:
        if name not in fields:
            place = f"{where}.{name}" if where else str(name)
            raise ConfigError(f"{place}: unknown field (expected one of {', '.join(sorted(fields))})")
    return value


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigError(f"{name}: expected a boolean (1/0, true/false), got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    return raw


def load_settings(
    service: str,
    defaults: Mapping[str, Any],
    *,
    demo_secrets: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Settings for ``service``: defaults, then the environment, then ``overrides``.

    Outside demo mode (``DEMO_DATA`` unset or 0) a service must be given a
    ``DATABASE_URL`` and may not run with any of its demo secrets.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    url_given = "DATABASE_URL" in environ or "DATABASE_URL" in overrides
    merged = {**common_defaults(service), **demo_secrets, **defaults}
    settings: dict[str, Any] = {}
    for name, default in merged.items():
        if name in overrides:
            settings[name] = overrides.pop(name)
        elif name in environ:
            settings[name] = _coerce(name, environ[name], default)
        else:
            settings[name] = default
    settings.update(overrides)

    settings["TRUSTED_PROXY_NETWORKS"] = networks(settings, "TRUSTED_PROXIES")

    if not settings["DEMO_DATA"]:
        if not url_given:
            raise ConfigError(f"DATABASE_URL: required when {service} runs outside demo mode (DEMO_DATA=0)")
        for name, demo_value in demo_secrets.items():
            if not settings.get(name):
                raise ConfigError(f"{name}: required when {service} runs outside demo mode (DEMO_DATA=0)")
            if settings[name] == demo_value:
                raise ConfigError(
                    f"{name}: the demo value is refused outside demo mode (DEMO_DATA=0); set a secret of your own"
                )
    return settings
