"""Who calls: OAuth2 tokens (the password and refresh_token grants, revocation) and the request checks.

Each view declares its caller (``vendorkit.endpoints.declare``): ``ADMIN``
(role ``admin``), ``SELF`` (any token holder; the view calls
``ensure_self`` once it knows whose record is asked for) or ``ANYONE`` (the
OAuth2 endpoints). ``CHECKS`` refuse in the product's order: 404/405, 401,
403 for an admin-only endpoint, 415; the view's validation (400) and the
self-service 403 follow.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy import Connection, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from svc_emm.errors import Forbidden, Invalid, OAuthError, Unauthorized
from svc_emm.models import Role, Token, User, UserRole
from svc_emm.schemas import MEDIA_TYPE_REFUSED, strip_prefix
from vendorkit import db
from vendorkit.changes import ChangeCache
from vendorkit.endpoints import Endpoint
from vendorkit.security import hash_token, new_token, verify_secret

ADMIN, SELF, ANYONE = "admin", "self", "anyone"
FORM = "application/x-www-form-urlencoded"
INVALID_GRANT = "Provided Authorization Grant is invalid."
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
CALLERS_KEY = "svc_emm.callers"
# Announced by the triggers of migration 0002 after every statement that could change a caller.
CALLERS_CHANNEL = "svc_emm_callers"


@dataclass(frozen=True)
class Caller:
    """The user a valid access token belongs to."""

    username: str
    is_admin: bool


def now_ms() -> int:
    return int(time.time() * 1000)


# --- tokens -------------------------------------------------------------------------------------


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"Missing parameters: {name}")
    return value


def _validity(form: dict[str, str], config: dict[str, Any]) -> int:
    """The access-token lifetime in seconds: ``validity_period`` capped to the configured one."""
    lifetime = int(config["EMM_ACCESS_TOKEN_TTL"])
    raw = form.get("validity_period")
    if raw is None or raw == "":
        return lifetime
    if not re.fullmatch(r"[0-9]{1,12}", raw) or int(raw) < 1:
        raise OAuthError("invalid_request", "Invalid validity_period")
    return min(int(raw), lifetime)


def _issue(session: Session, config: dict[str, Any], username: str, scope: str, validity: int) -> dict:
    access, refresh = new_token(16), new_token(16)
    now = now_ms()
    session.add(
        Token(
            access_hash=hash_token(access),
            refresh_hash=hash_token(refresh),
            username=username,
            scope=scope,
            access_expires_at=now + validity * 1000,
            refresh_expires_at=now + int(config["EMM_REFRESH_TOKEN_TTL"]) * 1000,
            revoked=False,
            created_at=now,
        )
    )
    return {
        "access_token": access,
        "refresh_token": refresh,
        "scope": scope,
        "token_type": "Bearer",
        "expires_in": validity,
    }


def issue_tokens(session: Session, config: dict[str, Any], username: str, scope: str = "default") -> dict:
    """A new token pair for ``username`` with the configured lifetime (the caller's transaction commits it)."""
    answer = _issue(session, config, username, scope, int(config["EMM_ACCESS_TOKEN_TTL"]))
    session.flush()
    return answer


def grant(session: Session, config: dict[str, Any], form: dict[str, str]) -> dict:
    """Answer ``POST /oauth2/token`` for the password and refresh_token grants."""
    grant_type = _required(form, "grant_type")
    if grant_type == "password":
        username = _required(form, "username")
        password = _required(form, "password")
        validity = _validity(form, config)
        # No user name holds NUL, and PostgreSQL refuses it in a text parameter.
        user = (
            None
            if "\x00" in username
            else session.scalar(select(User).where(User.username == strip_prefix(username)))
        )
        # verify_secret runs even for an unknown user, so both refusals take as long.
        password_matches = verify_secret(user.password_hash if user else None, password)
        if user is None or not password_matches:
            raise OAuthError("invalid_grant", INVALID_GRANT)
        return _issue(session, config, user.username, form.get("scope") or "default", validity)
    if grant_type == "refresh_token":
        refresh = _required(form, "refresh_token")
        validity = _validity(form, config)
        old = session.scalar(select(Token).where(Token.refresh_hash == hash_token(refresh)))
        if old is None or old.revoked or old.refresh_expires_at <= now_ms():
            raise OAuthError("invalid_grant", INVALID_GRANT)
        # Conditional revocation: of two concurrent refreshes with one token, one wins.
        revoked = session.execute(
            update(Token).where(Token.id == old.id, Token.revoked.is_(False)).values(revoked=True)
        )
        if (
            revoked.rowcount != 1
            or session.scalar(select(User.id).where(User.username == old.username)) is None
        ):
            raise OAuthError("invalid_grant", INVALID_GRANT)  # the unit of work rolls the revocation back
        return _issue(session, config, old.username, form.get("scope") or old.scope, validity)
    raise OAuthError("unsupported_grant_type", "Unsupported Grant Type")


def revoke(session: Session, token: str) -> None:
    """Revoke the pair ``token`` (access or refresh) belongs to; unknown tokens are ignored."""
    digest = hash_token(token)
    session.execute(
        update(Token)
        .where(or_(Token.access_hash == digest, Token.refresh_hash == digest))
        .values(revoked=True)
    )


def revoke_user_tokens(session: Session, username: str) -> None:
    """Revoke every token of ``username`` inside the caller's transaction."""
    session.execute(
        update(Token).where(Token.username == username, Token.revoked.is_(False)).values(revoked=True)
    )


def _caller_statement():
    """One round trip: the token, whether its user still exists, and whether they are an admin."""
    is_admin = (
        select(UserRole.user_id)
        .join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id == User.id, func.lower(Role.name) == "admin")
        .exists()
    )
    return (
        select(Token.username, Token.access_expires_at, Token.revoked, is_admin.label("is_admin"))
        .join(User, User.username == Token.username)
        .where(Token.access_hash == bindparam("digest"))
    )


# Every authenticated request needs its answer: built and compiled once, run by the driver (see db.Prepared;
# building, compiling or running it through the ORM costs several times the query).
CALLER_QUERY = db.Prepared(_caller_statement())


def init_app(app: Flask) -> None:
    """Keep the app's callers in a cache that PostgreSQL empties on every change of a token, user or role."""
    app.extensions[CALLERS_KEY] = ChangeCache(db.engine(app), CALLERS_CHANNEL)


def caller_for(connection: Connection, authorization: str | None, callers: ChangeCache) -> Caller | None:
    """The caller named by an ``Authorization: Bearer`` header; None when missing, unknown, expired or revoked.

    Read from ``callers`` while PostgreSQL announces every change that could
    alter the answer (migration 0002's triggers), from the database otherwise;
    the expiry is checked on every request.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not TOKEN_PATTERN.fullmatch(token):
        return None
    digest = hash_token(token)
    row = callers.get(digest)
    if row is None:
        generation = callers.generation()
        row = CALLER_QUERY.first(connection, digest=digest)
        if row is None:
            return None
        callers.put(digest, row, generation)
    username, access_expires_at, revoked, is_admin = row
    if revoked or access_expires_at <= now_ms():
        return None
    return Caller(username, bool(is_admin))


# --- the request checks, in the product's order -------------------------------------------------


def token_holder(endpoint: Endpoint | None) -> None:
    """401 unless an API endpoint's request carries a valid Bearer token; the caller goes to ``g.caller``."""
    if endpoint is None or endpoint.caller == ANYONE:
        return
    # A read's own connection (no ORM session); a write's transaction, which the lookup joins.
    callers = current_app.extensions[CALLERS_KEY]
    caller = caller_for(db.connection(), request.headers.get("Authorization"), callers)
    if caller is None:
        raise Unauthorized()
    g.caller = caller


def admin_only(endpoint: Endpoint | None) -> None:
    """403 for a non-admin on an endpoint for administrators."""
    if endpoint is not None and endpoint.caller == ADMIN and not g.caller.is_admin:
        raise Forbidden(g.caller)


def body_format(endpoint: Endpoint | None) -> None:
    """415 (OAuth2: ``invalid_request``) for a body in a format the endpoint does not read."""
    if endpoint is None or not endpoint.formats:
        return
    media_type = (request.mimetype or "").lower()
    if endpoint.reads(media_type):
        return
    if endpoint.reads(FORM):
        if not media_type and not request.get_data(cache=True):
            return  # an empty request: every parameter is missing
        raise OAuthError("invalid_request", f"Unsupported Content-Type: expected {FORM}")
    raise Invalid(MEDIA_TYPE_REFUSED, 415)


CHECKS = [token_holder, admin_only, body_format]


def ensure_self(username: str) -> None:
    """Self-service endpoints, once the request is valid: a non-admin may only name themselves."""
    caller: Caller = g.caller
    if not caller.is_admin and strip_prefix(username) != caller.username:
        raise Forbidden(caller)
