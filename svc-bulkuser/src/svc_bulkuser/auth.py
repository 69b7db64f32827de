"""X-Auth-Token: HS256 JWTs carrying ``user_id``, ``iat`` and ``exp`` (docs/bulkuser.md section 3); nothing is stored."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from svc_bulkuser.errors import Forbidden, TokenExpired, TokenInvalid, TokenMissing
from svc_bulkuser.models import User
from vendorkit import db

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
    """The active user ``token`` names, its ``last_seen`` refreshed; the session's transaction ends here."""
    if not token:
        raise TokenMissing()
    user_id = token_user_id(token, secret, now)
    user = session.get(User, user_id)
    if user is None or not user.active:
        session.rollback()
        raise TokenInvalid()
    if user.last_seen is None or user.last_seen <= now - LAST_SEEN_INTERVAL:
        # A read request's session reads deferred on SQLite; this rare write takes a writer's transaction.
        db.for_writes(session)
        users = User.__table__
        session.execute(
            update(users)
            .where(
                users.c.user_id == user_id,
                or_(users.c.last_seen.is_(None), users.c.last_seen <= now - LAST_SEEN_INTERVAL),
            )
            .values(last_seen=now)
        )
        set_committed_value(user, "last_seen", now)
    # End the short read (and refresh) here, so that the request's own work
    # runs in a transaction of its own and SQLite's write lock is not held
    # while it validates or hashes.
    session.commit()
    return user


def require_admin(user: User) -> None:
    """403 unless ``user`` is an admin now (the stored type, not the token's)."""
    if user.user_type != "admin":
        raise Forbidden()
