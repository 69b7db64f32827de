"""Who is calling: the login token (JWT + CSRF pair), the client address and the domain rights."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from svc_wipe.errors import not_logged_in
from svc_wipe.models import Role, User, UserRole
from vendorkit import db
from vendorkit.admin import signing_secret
from vendorkit.netaddr import in_networks, parse_address
from vendorkit.security import constant_time_equals
from vendorkit.web import client_ip

TOKEN_COOKIE = "grommunioAuthJwt"  # noqa: S105 (a cookie name)
CSRF_HEADER = "X-Csrf-Token"
ALGORITHM = "HS256"

# Why a request is not logged in (the product's wording).
NO_TOKEN = "No token provided"  # noqa: S105 (texts, not secrets)
TOKEN_EXPIRED = "Token has expired"  # noqa: S105
BAD_SIGNATURE = "Invalid token signature"
MALFORMED_TOKEN = "invalid token"  # noqa: S105
BAD_CSRF = "Invalid or missing CSRF token"
UNKNOWN_USER = "Invalid user"


# The signature and ``exp`` are all that count: every other claim is ignored, as by the product.
DECODE_OPTIONS = {
    "require": ["exp"],
    "verify_signature": True,
    "verify_exp": True,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


class TokenRejected(Exception):
    """The token does not log anybody in; ``reason`` is one of the texts above."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def issue_token(username: str, secret_key: str, lifetime: int) -> str:
    """A signed login token for ``username``, valid for ``lifetime`` seconds."""
    claims = {"usr": username, "exp": int(time.time()) + lifetime}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def csrf_token(token: str) -> str:
    """The CSRF value bound to ``token``: padded base64 of the SHA3-256 of its text."""
    return base64.b64encode(hashlib.sha3_256(token.encode("ascii")).digest()).decode("ascii")


def decode_token(token: str | None, secret_key: str) -> dict[str, Any]:
    """The claims of a token that verifies with HS256 and has a future ``exp``; TokenRejected otherwise."""
    if not token:
        raise TokenRejected(NO_TOKEN)
    try:
        # Only HS256 is accepted: "none" and every other algorithm are refused.
        return jwt.decode(token, secret_key, algorithms=[ALGORITHM], options=DECODE_OPTIONS)
    except jwt.ExpiredSignatureError:
        raise TokenRejected(TOKEN_EXPIRED) from None
    except jwt.InvalidSignatureError:
        raise TokenRejected(BAD_SIGNATURE) from None
    except jwt.InvalidTokenError:
        raise TokenRejected(MALFORMED_TOKEN) from None


def find_user(session: Session, username: str) -> User | None:
    """The user named ``username``, regardless of case."""
    if "\x00" in username:  # no user has one, and PostgreSQL refuses it in text parameters
        return None
    return session.scalar(select(User).where(func.lower(User.username) == func.lower(username)))


def token_user(
    session: Session, token: str | None, secret_key: str, csrf: str | None = None, *, check_csrf: bool
):
    """The user a token logs in (checking the CSRF value when ``check_csrf``); TokenRejected otherwise."""
    claims = decode_token(token, secret_key)
    if check_csrf and (not csrf or not constant_time_equals(csrf, csrf_token(token))):
        raise TokenRejected(BAD_CSRF)
    username = claims.get("usr")
    user = find_user(session, username) if isinstance(username, str) else None
    if user is None:
        raise TokenRejected(UNKNOWN_USER)
    return user


@dataclass(frozen=True)
class Caller:
    """The client of one request: its address and, when logged in, its user."""

    address: str
    policy_host: bool
    user: User | None = None
    problem: str | None = None  # why ``user`` is None


def current_caller(session: Session | None = None) -> Caller:
    """The caller of the current request; non-GET requests must carry the CSRF header to be logged in."""
    session = session or db.session()
    config = current_app.config
    address = client_ip()
    policy_host = in_networks(parse_address(address), config["SYNC_POLICY_NETWORKS"])
    try:
        user = token_user(
            session,
            request.cookies.get(TOKEN_COOKIE),
            signing_secret(config["SECRET_KEY"]),
            request.headers.get(CSRF_HEADER),
            check_csrf=request.method not in ("GET", "HEAD"),
        )
    except TokenRejected as rejected:
        return Caller(address, policy_host, problem=rejected.reason)
    return Caller(address, policy_host, user=user)


def require_login(caller: Caller) -> User:
    """The logged-in user; 401 with the token problem otherwise."""
    if caller.user is None:
        raise not_logged_in(caller.problem or NO_TOKEN)
    return caller.user


def domain_role(session: Session, user: User, domain_id: int | None) -> Role | None:
    """The role ``user`` holds on ``domain_id`` (None for none, or for no domain)."""
    if domain_id is None:
        return None
    return session.scalar(
        select(UserRole.role).where(UserRole.user_id == user.id, UserRole.domain_id == domain_id)
    )


def can_read_domain(session: Session, user: User, domain_id: int | None) -> bool:
    """System administrator, or (read-only) domain admin of ``domain_id``."""
    return user.is_system_admin or domain_role(session, user, domain_id) is not None


def can_write_domain(session: Session, user: User, domain_id: int | None) -> bool:
    """System administrator, or domain admin (not read-only) of ``domain_id``."""
    return user.is_system_admin or domain_role(session, user, domain_id) is Role.DOMAIN_ADMIN


def holds_any_role(session: Session, user: User) -> bool:
    """Whether ``user`` may log in: the system administrator or a holder of some domain role."""
    if user.is_system_admin:
        return True
    return session.scalar(select(UserRole.user_id).where(UserRole.user_id == user.id).limit(1)) is not None


def capabilities(session: Session, user: User) -> list[str]:
    """The capability names the admin UI reads from the profile."""
    if user.is_system_admin:
        return ["SystemAdminRead", "SystemAdminWrite", "DomainAdminRead", "DomainAdminWrite"]
    roles = set(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))
    found = []
    if roles:
        found.append("DomainAdminRead")
    if Role.DOMAIN_ADMIN in roles:
        found.append("DomainAdminWrite")
    return found
