"""svc-emm settings, from the environment."""

from typing import Any

from vendorkit.config import load_settings

SERVICE = "svc-emm"

# Demo values of secrets: accepted only in demo mode (DEMO_DATA=1).
DEMO_SECRETS: dict[str, str] = {}

DEFAULTS: dict[str, Any] = {
    # Request bodies above 64 KiB are refused (413), as docs/emm.md section 5 says.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "EMM_ACCESS_TOKEN_TTL": 3600,
    "EMM_REFRESH_TOKEN_TTL": 86400,
    # SMTP: no MAIL_HOST means the outbox table is the only delivery.
    "MAIL_HOST": "",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_FROM": "emm-noreply@localhost",
    "MAIL_TIMEOUT": 10.0,
}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from the environment, then ``overrides``."""
    return load_settings(SERVICE, DEFAULTS, demo_secrets=DEMO_SECRETS, overrides=overrides)
