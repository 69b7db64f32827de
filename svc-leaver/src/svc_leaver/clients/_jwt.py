"""Reading a JWT's expiry without verifying it: a client only needs to know when to log in again."""

from __future__ import annotations

import base64
import json


def expiry_of(token: str) -> float | None:
    """The ``exp`` claim (UNIX seconds) of a JWT, or None when it has none or is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return None
    expires = claims.get("exp") if isinstance(claims, dict) else None
    return float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else None
