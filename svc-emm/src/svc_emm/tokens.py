"""OAuth2 tokens: the password and refresh_token grants, revocation, and who a Bearer token is."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from svc_emm.models import Role, Token, User, UserRole
from svc_emm.schemas import strip_prefix
from vendorkit.security import hash_token, new_token, verify_secret

INVALID_GRANT = "Provided Authorization Grant is invalid."
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")


class OAuthError(Exception):
    """An OAuth2 error answer: HTTP 400 ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Caller:
    """The user a valid access token belongs to."""

    username: str
    is_admin: bool


def now_ms() -> int:
    return int(time.time() * 1000)


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
    """A new token pair for ``username`` with the configured lifetime, committed."""
    answer = _issue(session, config, username, scope, int(config["EMM_ACCESS_TOKEN_TTL"]))
    session.commit()
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
        answer = _issue(session, config, user.username, form.get("scope") or "default", validity)
        session.commit()
        return answer
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
            session.rollback()
            raise OAuthError("invalid_grant", INVALID_GRANT)
        answer = _issue(session, config, old.username, form.get("scope") or old.scope, validity)
        session.commit()
        return answer
    raise OAuthError("unsupported_grant_type", "Unsupported Grant Type")


def revoke(session: Session, token: str) -> None:
    """Revoke the pair ``token`` (access or refresh) belongs to; unknown tokens are ignored."""
    digest = hash_token(token)
    session.execute(
        update(Token)
        .where(or_(Token.access_hash == digest, Token.refresh_hash == digest))
        .values(revoked=True)
    )
    session.commit()


def revoke_user_tokens(session: Session, username: str) -> None:
    """Revoke every token of ``username`` inside the caller's transaction."""
    session.execute(
        update(Token).where(Token.username == username, Token.revoked.is_(False)).values(revoked=True)
    )


@functools.cache
def _caller_query() -> Select:
    """One round trip: the token, whether its user still exists, and whether they are an admin.

    Built once: every authenticated request runs it, and building the
    expression costs more than running it.
    """
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


def caller_for(session: Session, authorization: str | None) -> Caller | None:
    """The caller named by an ``Authorization: Bearer`` header; None when missing, unknown, expired or revoked."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not TOKEN_PATTERN.fullmatch(token):
        return None
    row = session.connection().execute(_caller_query(), {"digest": hash_token(token)}).first()
    if row is None or row.revoked or row.access_expires_at <= now_ms():
        return None
    return Caller(row.username, bool(row.is_admin))
