"""Who calls: the login token (JWT + CSRF pair), the client address, the domain rights, and the checks.

Each view declares an ``Access`` (``vendorkit.endpoints.declare``). ``create_app``
runs its checks before every view in grommunio's order (docs/wipe.md sections 2
to 5): 404/405, 401 where a login is required (``logged_in``), 400 for input the
view's schemas refuse (``schemas.valid_input``), 403 for a caller the endpoint
does not admit (``permitted``). What depends on the record asked for (404, GET
wipe's domain right, the password rule) follows in services.py.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app, g, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from svc_wipe.errors import access_denied, not_logged_in
from svc_wipe.models import Role, User, UserRole
from vendorkit import db
from vendorkit.admin import signing_secret
from vendorkit.endpoints import Endpoint
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


def current_caller() -> Caller:
    """The caller of the current request, looked up once; non-GET requests must carry the CSRF header to be logged in."""
    if "caller" not in g:
        config = current_app.config
        address = client_ip()
        policy_host = in_networks(parse_address(address), config["SYNC_POLICY_NETWORKS"])
        try:
            user = token_user(
                db.session(),
                request.cookies.get(TOKEN_COOKIE),
                signing_secret(config["SECRET_KEY"]),
                request.headers.get(CSRF_HEADER),
                check_csrf=request.method not in ("GET", "HEAD"),
            )
            g.caller = Caller(address, policy_host, user=user)
        except TokenRejected as rejected:
            g.caller = Caller(address, policy_host, problem=rejected.reason)
    return g.caller


# -- who may call an endpoint (its ``declare``), and the checks that hold it to that --------------


class Access(enum.Enum):
    """Who may call an endpoint."""

    ANYONE = "anyone"  # POST /login
    # The wipe endpoints: a policy host, or a logged-in caller (login is optional there).
    SYNC_REPORT = "policy host or system administrator"
    SYNC_READ = "policy host or admin of the user's domain"  # the domain is known after the user lookup
    LOGGED_IN = "logged in"
    DOMAIN_READ = "read right on the path's domain"
    DOMAIN_WRITE = "write right on the path's domain"

    @property
    def login_required(self) -> bool:
        """Whether a token problem is a 401 (otherwise it only means "not logged in")."""
        return self in (Access.LOGGED_IN, Access.DOMAIN_READ, Access.DOMAIN_WRITE)


def logged_in(endpoint: Endpoint | None) -> None:
    """401 ``Access denied`` with the token problem, on an endpoint that requires a login."""
    if endpoint is None or not endpoint.caller.login_required:
        return
    caller = current_caller()
    if caller.user is None:
        raise not_logged_in(caller.problem or NO_TOKEN)


def permitted(endpoint: Endpoint | None) -> None:
    """403 ``Access denied: <reason>`` for a caller the endpoint does not admit (docs/wipe.md sections 2 to 4)."""
    if endpoint is None or endpoint.caller in (Access.ANYONE, Access.LOGGED_IN):
        return
    caller = current_caller()
    access = endpoint.caller
    if access in (Access.SYNC_REPORT, Access.SYNC_READ):
        if caller.policy_host:
            return
        if caller.user is None:
            raise access_denied(caller.problem or NO_TOKEN)
        if access is Access.SYNC_REPORT and not caller.user.is_system_admin:
            raise access_denied()
        return
    right = can_write_domain if access is Access.DOMAIN_WRITE else can_read_domain
    if not right(db.session(), caller.user, request.view_args["domainID"]):
        raise access_denied()


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
