"""svc-offboard settings, from the environment."""

from typing import Any

from vendorkit.config import load_settings

SERVICE = "svc-offboard"

# Demo values of secrets: accepted only in demo mode (DEMO_DATA=1).
DEMO_SECRETS: dict[str, str] = {}

DEFAULTS: dict[str, Any] = {
    # Request bodies above this size get 413 (docs/offboard.md, sections 2 and 11: 64 KiB).
    "MAX_BODY_BYTES": 64 * 1024,
    # Login ``timeout`` when the client sends none, in minutes of inactivity.
    "TOKEN_IDLE_MINUTES": 30,
    # An idle-expired token may still be exchanged at POST /RenewLoginToken for this long
    # after its last use; a logged-out token never.
    "TOKEN_RENEWAL_HOURS": 24,
    # The CommServe this web service fronts, as GET /CommServ names it.
    "COMMSERV_NAME": "commserv",
    "COMMSERV_HOSTNAME": "commserv.example.com",
    "COMMSERV_TIME_ZONE": "(UTC) Coordinated Universal Time",
}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from the environment, then ``overrides``."""
    return load_settings(SERVICE, DEFAULTS, demo_secrets=DEMO_SECRETS, overrides=overrides)
