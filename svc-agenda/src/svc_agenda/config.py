"""svc-agenda settings, from the environment."""

from typing import Any

from vendorkit.config import ConfigError, load_settings, networks

SERVICE = "svc-agenda"

# Demo values of secrets: accepted only in demo mode (DEMO_DATA=1). The API
# keys of the demo accounts live in demo.py and are stored only as hashes.
DEMO_SECRETS: dict[str, str] = {}

DEFAULTS: dict[str, Any] = {
    # Lifetime of a login token, from issue; use does not extend it.
    "AGENDA_TOKEN_TTL_SECONDS": 20,
    # How long an expired token is still told apart (1001) from an unknown one (1000).
    "AGENDA_EXPIRED_TOKEN_MEMORY_SECONDS": 3600,
    # Peers whose rightmost X-Forwarded-For entry is taken as the client address.
    "AGENDA_TRUSTED_PROXIES": "127.0.0.0/8,::1",
    # Larger bodies do not bind: 400/1002 like any other malformed request.
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from the environment, then ``overrides``."""
    settings = load_settings(SERVICE, DEFAULTS, demo_secrets=DEMO_SECRETS, overrides=overrides)
    settings["AGENDA_TRUSTED_PROXY_NETWORKS"] = networks(settings, "AGENDA_TRUSTED_PROXIES")
    if settings["AGENDA_TOKEN_TTL_SECONDS"] < 1:
        raise ConfigError("AGENDA_TOKEN_TTL_SECONDS: must be at least 1")
    return settings
