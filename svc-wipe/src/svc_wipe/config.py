"""svc-wipe settings, from the environment."""

from typing import Any

from vendorkit.config import ConfigError, load_settings, networks

SERVICE = "svc-wipe"

# Demo values of secrets: accepted only in demo mode (DEMO_DATA=1).
DEMO_SECRETS: dict[str, str] = {"SECRET_KEY": "svc-wipe-demo-secret-key-not-for-production"}

DEFAULTS: dict[str, Any] = {
    # Client addresses exempt from the permission check of the wipe endpoints
    # (grommunio-sync on the same host).
    "SYNC_POLICY_HOSTS": "127.0.0.1,::1",
    # Lifetime of a login token, in seconds (7 days).
    "JWT_EXPIRES_AFTER": 604800,
}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from the environment, then ``overrides``."""
    settings = load_settings(SERVICE, DEFAULTS, demo_secrets=DEMO_SECRETS, overrides=overrides)
    settings["SYNC_POLICY_NETWORKS"] = networks(settings, "SYNC_POLICY_HOSTS")
    if settings["JWT_EXPIRES_AFTER"] <= 0:
        raise ConfigError("JWT_EXPIRES_AFTER: expected a positive number of seconds")
    return settings
