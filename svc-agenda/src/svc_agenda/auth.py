"""Who calls: login and tokens, IP filters, rate policies, and the checks every request passes before its view.

Each view declares its caller (``PUBLIC`` for login, ``account(...)`` for the
token endpoints) and the body media types it reads. ``CHECKS`` run in the
product's order: route and method (404/405), the ``Token`` (1002/1000/1001),
the account's IP filter (1007/1006), its rate policy (1008), then the body's
media type (415), as docs/agenda.md section 3 orders them. Binding (1002)
follows in the view's ``@blp.arguments``.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g
from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from svc_agenda import errors, services, wire
from svc_agenda.errors import AgendaError
from svc_agenda.models import ApiAccount, RateHit, Token
from svc_agenda.services import login_key
from vendorkit import db
from vendorkit.endpoints import ROUTED, Endpoint
from vendorkit.netaddr import in_networks, parse_address, parse_network
from vendorkit.security import hash_token, verify_secret

log = logging.getLogger(__name__)

RATE_POLICY = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*")


# --- login and tokens ----------------------------------------------------------


@dataclass
class IssuedToken:
    token: str
    expires_at: datetime
    lifetime: int


def login(session: Session, user_login: str, api_key: str, *, now: datetime, config: dict) -> IssuedToken:
    """A new token for the account; 1003 for an unknown login or wrong key, 1004 for a revoked key."""
    echo = {"UserLogin": user_login}
    account = session.scalars(select(ApiAccount).where(ApiAccount.login_key == login_key(user_login))).first()
    # verify_secret spends the same time on a missing account, so logins cannot be enumerated.
    if not verify_secret(account.api_key_hash if account else None, api_key) or account is None:
        raise AgendaError(errors.LOGIN_UNKNOWN, echo=echo)
    if account.key_revoked:
        raise AgendaError(errors.KEY_REVOKED, echo=echo)
    issued = issue_token(session, account, now=now, lifetime=config["AGENDA_TOKEN_TTL_SECONDS"])
    forget_expired_tokens(session, now - timedelta(seconds=config["AGENDA_EXPIRED_TOKEN_MEMORY_SECONDS"]))
    return issued


def forget_expired_tokens(session: Session, before: datetime) -> None:
    """Drop tokens that expired before ``before``; housekeeping that never fails a login (a savepoint of its own)."""
    try:
        with session.begin_nested():
            session.execute(delete(Token).where(Token.expires_at < before))
    except SQLAlchemyError:
        log.warning("expired tokens not purged this time", exc_info=True)


def issue_token(session: Session, account: ApiAccount, *, now: datetime, lifetime: int) -> IssuedToken:
    """Store a new random GUID token (under its digest) for ``account``; the caller commits."""
    token = str(uuid.uuid4())
    expires_at = now + timedelta(seconds=lifetime)
    session.add(
        Token(token_hash=hash_token(token), account_id=account.id, issued_at=now, expires_at=expires_at)
    )
    return IssuedToken(token, expires_at, lifetime)


def token_owner(session: Session, token: str, *, now: datetime) -> ApiAccount:
    """The account behind a canonical GUID token; 1000 for a token never issued (or forgotten), 1001 past its lifetime."""
    stored = session.get(Token, hash_token(token))
    if stored is None:
        raise AgendaError(errors.TOKEN_NOT_FOUND, token)
    if stored.expires_at <= now:
        raise AgendaError(errors.TOKEN_EXPIRED, token)
    account = session.get(ApiAccount, stored.account_id)
    if account is None:
        raise AgendaError(errors.TOKEN_NOT_FOUND, token)
    return account


def has_rate_policy(account: ApiAccount) -> bool:
    """Whether the account's requests are counted at all."""
    return account.rate_policy is not None and bool(account.rate_policy.strip())


def check_ip_filter(ip_filter: str | None, client: str) -> None:
    """1007 when the stored filter does not parse, 1006 when the client address is outside it."""
    if ip_filter is None or not ip_filter.strip():
        return
    try:
        networks = [parse_network(item) for item in ip_filter.split(",")]
    except ValueError:
        raise AgendaError(errors.IP_FILTER_BROKEN, ip_filter) from None
    if not in_networks(parse_address(client), networks):
        raise AgendaError(errors.IP_FILTER_VIOLATED, client)


def count_against_rate_policy(session: Session, account: ApiAccount, *, now: datetime) -> None:
    """Count this request, or refuse it (1008, uncounted) when the rolling window is full."""
    if not has_rate_policy(account):
        return
    match = RATE_POLICY.fullmatch(account.rate_policy)
    if match is None or int(match.group(2)) == 0:
        log.error("account %s has an unreadable rate policy; refusing its requests", account.id)
        raise AgendaError(errors.RATE_POLICY_VIOLATED, account.user_login)
    limit, seconds = int(match.group(1)), int(match.group(2))
    # Lock the account row so that workers counting for it queue (SQLite: BEGIN IMMEDIATE already does).
    session.execute(select(ApiAccount.id).where(ApiAccount.id == account.id).with_for_update())
    window_start = now - timedelta(seconds=seconds)
    session.execute(delete(RateHit).where(RateHit.account_id == account.id, RateHit.at <= window_start))
    used = session.scalar(select(func.count()).select_from(RateHit).where(RateHit.account_id == account.id))
    if used >= limit:
        raise AgendaError(errors.RATE_POLICY_VIOLATED, account.user_login)
    session.add(RateHit(account_id=account.id, at=now))


# --- who may call a view ------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who may call a view: anyone, or the API account behind a valid token."""

    token: bool
    # The AuditEntry action under which a call refused after authentication is recorded.
    audited_as: str | None = None


PUBLIC = Caller(token=False)


def account(*, audited_as: str | None = None) -> Caller:
    """The API account of the request's ``Token``; ``audited_as`` records its refused calls too."""
    return Caller(token=True, audited_as=audited_as)


# --- the checks, in the product's order --------------------------------------


def _needs_token(endpoint: Endpoint | None) -> bool:
    return endpoint is not None and endpoint.caller.token


def token(endpoint: Endpoint | None) -> None:
    """1002 for a missing or malformed Token, 1000 for one never issued, 1001 for one past its lifetime."""
    if not _needs_token(endpoint):
        return
    # Only the query parameter counts (any case); a token in a header, cookie or body is ignored.
    canonical = wire.check_token(wire.query_fields().get("Token"))
    g.token_owner = token_owner(db.session(), canonical, now=wire.utcnow())


def ip_filter(endpoint: Endpoint | None) -> None:
    """1007 when the account's stored filter does not parse, 1006 when the client address is outside it."""
    if _needs_token(endpoint):
        check_ip_filter(g.token_owner.ip_filter, wire.client_address())


def rate_policy(endpoint: Endpoint | None) -> None:
    """Count the request against the account's rate policy, or refuse it (1008); then the caller is authenticated."""
    if not _needs_token(endpoint):
        return
    owner: ApiAccount = g.token_owner
    if has_rate_policy(owner):
        # A unit of work of its own, committed before the view runs: the product counts every
        # authorised request, also one it refuses later (415, 1002, 1407, ...). A refused one (1008)
        # rolls back and so is not counted.
        with db.unit_of_work() as session:
            count_against_rate_policy(session, owner, now=wire.utcnow())
    g.account = owner


def body_format(endpoint: Endpoint | None) -> None:
    """415 for a body whose media type the view does not read (a POST without body and type binds nothing)."""
    if endpoint is not None and endpoint.formats:
        wire.body_format(endpoint.formats)


CHECKS = [ROUTED, token, ip_filter, rate_policy, body_format]


# --- after the checks --------------------------------------------------------


def caller_account() -> ApiAccount:
    """The authenticated API account of the current request (set by the checks)."""
    return g.account


def audit_refusal(error: AgendaError) -> None:
    """Record a remove or create refused after authentication, in a unit of work of its own.

    The view's own unit of work, if it began, has rolled back: only the audit row
    is written. A failure here never hides the refusal from the caller.
    """
    endpoint: Endpoint | None = g.get("endpoint")
    if "account" not in g or endpoint is None or endpoint.caller.audited_as is None:
        return
    target = error.target if isinstance(error.target, str) else None
    try:
        with db.unit_of_work() as session:
            services.audit_refusal(
                session,
                g.account,
                endpoint.caller.audited_as,
                target,
                wire.client_address(),
                error.code,
                wire.utcnow(),
            )
    except Exception:
        log.exception("audit entry for a refused %s not written", endpoint.caller.audited_as)
