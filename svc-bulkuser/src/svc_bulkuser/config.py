"""svc-bulkuser settings, from the environment."""

from typing import Any

from vendorkit.config import load_settings

SERVICE = "svc-bulkuser"

# Demo values of secrets: accepted only in demo mode (DEMO_DATA=1).
DEMO_SECRETS: dict[str, str] = {"SECRET_KEY": "dnl-bulkuser-demo-secret"}

DEFAULTS: dict[str, Any] = {
    # Lifetime of the JWTs POST /v1/auth issues.
    "TOKEN_TTL_SECONDS": 86400,
}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from the environment, then ``overrides``."""
    return load_settings(SERVICE, DEFAULTS, demo_secrets=DEMO_SECRETS, overrides=overrides)
