"""Who calls: X-Auth-Token, an HS256 JWT of ``user_id``, ``iat`` and ``exp`` (docs/bulkuser.md section 3), and the checks."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app, g, request
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from svc_bulkuser.errors import Forbidden, TokenExpired, TokenInvalid, TokenMissing
from svc_bulkuser.models import User, utc_now
from vendorkit import db
from vendorkit.admin import signing_secret
from vendorkit.endpoints import ROUTED, Endpoint

ALGORITHM = "HS256"
# Three base64url parts; PyJWT's decoder alone would skip stray characters.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
LAST_SEEN_INTERVAL = timedelta(minutes=1)

# The demo key the contract fixes is 24 bytes; PyJWT warns on every use of a
# key under 32 bytes. Production keys are the operator's choice.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)


def epoch_seconds(now: datetime) -> int:
    """Seconds since the epoch of a naive UTC datetime."""
    return int(now.replace(tzinfo=UTC).timestamp())


def issue_token(user_id: int, secret: str, ttl_seconds: int, now: datetime) -> str:
    """A signed token for ``user_id`` valid ``ttl_seconds`` from ``now`` (naive UTC)."""
    issued_at = epoch_seconds(now)
    claims = {"user_id": user_id, "iat": issued_at, "exp": issued_at + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def token_user_id(token: str, secret: str, now: datetime) -> int:
    """The ``user_id`` of a well-formed, correctly signed, unexpired token (else 111 or 112)."""
    if not TOKEN_SHAPE.fullmatch(token):
        raise TokenInvalid()
    try:
        if jwt.get_unverified_header(token).get("alg") != ALGORITHM:
            raise TokenInvalid()
        # Expiry is checked below, after the claim types, so that 112 means "expired" only.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"verify_exp": False})
    except jwt.InvalidTokenError:
        raise TokenInvalid() from None
    user_id, expires = claims.get("user_id"), claims.get("exp")
    if not _is_int(user_id) or not _is_int(expires):
        raise TokenInvalid()
    if expires <= epoch_seconds(now):
        raise TokenExpired()
    return user_id


def authenticate(session: Session, token: str | None, secret: str, now: datetime) -> User:
    """The active user ``token`` names (110, 111 or 112 otherwise); reads only."""
    if not token:
        raise TokenMissing()
    user = session.get(User, token_user_id(token, secret, now))
    if user is None or not user.active:
        raise TokenInvalid()
    return user


def record_seen(session: Session, user: User, now: datetime) -> None:
    """Set the user's ``last_seen`` to ``now`` unless another request did within the last minute."""
    users = User.__table__
    session.execute(
        update(users)
        .where(
            users.c.user_id == user.user_id,
            or_(users.c.last_seen.is_(None), users.c.last_seen <= now - LAST_SEEN_INTERVAL),
        )
        .values(last_seen=now)
    )
    set_committed_value(user, "last_seen", now)


def require_admin(user: User) -> None:
    """403 unless ``user`` is an admin now (the stored type, not the token's)."""
    if user.user_type != "admin":
        raise Forbidden()


# Who may call a view (``vendorkit.endpoints.declare``), and the checks that
# enforce it, in the contract's order (docs/bulkuser.md section 3): route and
# method, then the token, then the permission; the view then validates its
# query string and body.
ANYONE = "anyone"
USER = "any valid token"
ADMIN = "admin"
ADMIN_OR_SELF = "admin, or the user the path names"


def identified(endpoint: Endpoint | None) -> None:
    """401 unless a view that wants a caller gets a valid token; the caller is kept for the view."""
    if endpoint is None or endpoint.caller == ANYONE:
        return
    now = utc_now()
    user = authenticate(
        db.session(),
        request.headers.get("X-Auth-Token"),
        signing_secret(current_app.config["SECRET_KEY"]),
        now,
    )
    if user.last_seen is None or user.last_seen <= now - LAST_SEEN_INTERVAL:
        # Every authenticated request counts as the user being seen (docs section 7),
        # whatever the view then answers: recorded in a unit of work of its own.
        with db.unit_of_work() as session:
            record_seen(session, user, now)
    g.caller = user


def permitted(endpoint: Endpoint | None) -> None:
    """403 unless the caller may call this view (an admin, or for some views the user itself)."""
    if endpoint is None or endpoint.caller in (ANYONE, USER):
        return
    user = caller()
    if endpoint.caller == ADMIN_OR_SELF and (request.view_args or {}).get("user_id") == user.user_id:
        return
    require_admin(user)


CHECKS = (ROUTED, identified, permitted)


def caller() -> User:
    """The caller the checks identified for this request."""
    return g.caller
