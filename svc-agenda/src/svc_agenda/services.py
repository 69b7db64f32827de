"""svc-agenda logic: login, token authentication, and the users agenda."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from svc_agenda import errors
from svc_agenda.errors import AgendaError
from svc_agenda.models import ApiAccount, AuditEntry, Company, RateHit, RecordPermission, Token, User
from vendorkit.netaddr import in_networks, parse_address, parse_network
from vendorkit.security import hash_secret, hash_token, verify_secret

log = logging.getLogger(__name__)

USERS_AGENDA = "Users"
RATE_POLICY = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*")


def login_key(login_name: str) -> str:
    """The case-insensitive form under which logins are unique and looked up."""
    return login_name.lower()


# --- login and tokens ------------------------------------------------------


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
    session.commit()
    forget_expired_tokens(session, now - timedelta(seconds=config["AGENDA_EXPIRED_TOKEN_MEMORY_SECONDS"]))
    return issued


def forget_expired_tokens(session: Session, before: datetime) -> None:
    """Drop tokens that expired before ``before``; housekeeping that never fails a login."""
    try:
        session.execute(delete(Token).where(Token.expires_at < before))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("expired tokens not purged this time", exc_info=True)


def issue_token(session: Session, account: ApiAccount, *, now: datetime, lifetime: int) -> IssuedToken:
    """Store a new random GUID token (under its digest) for ``account``; the caller commits."""
    token = str(uuid.uuid4())
    expires_at = now + timedelta(seconds=lifetime)
    session.add(
        Token(token_hash=hash_token(token), account_id=account.id, issued_at=now, expires_at=expires_at)
    )
    return IssuedToken(token, expires_at, lifetime)


def authenticate(session: Session, token: str, client: str, *, now: datetime) -> ApiAccount:
    """The account behind a canonical GUID token, after the token, IP filter and rate policy checks."""
    stored = session.get(Token, hash_token(token))
    if stored is None:
        raise AgendaError(errors.TOKEN_NOT_FOUND, token)
    if stored.expires_at <= now:
        raise AgendaError(errors.TOKEN_EXPIRED, token)
    account = session.get(ApiAccount, stored.account_id)
    if account is None:
        raise AgendaError(errors.TOKEN_NOT_FOUND, token)
    check_ip_filter(account.ip_filter, client)
    count_against_rate_policy(session, account, now=now)
    return account


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
    if account.rate_policy is None or not account.rate_policy.strip():
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
        session.commit()
        raise AgendaError(errors.RATE_POLICY_VIOLATED, account.user_login)
    session.add(RateHit(account_id=account.id, at=now))
    session.commit()


# --- permissions -----------------------------------------------------------


def _require_privilege(account: ApiAccount, privilege: str, code: int, value: str, echo: Any) -> None:
    if privilege not in (account.privileges or []):
        raise AgendaError(code, value, echo=echo)


def _require_licence(session: Session, account: ApiAccount, echo: Any) -> None:
    company = session.get(Company, account.id_firma)
    if company is None or USERS_AGENDA not in (company.licensed_agendas or []):
        raise AgendaError(errors.LICENCE, echo=echo)


def _permission(session: Session, account: ApiAccount, user: User) -> RecordPermission | None:
    return session.get(RecordPermission, (account.id, user.id))


def _active_user(session: Session, id_firma: int, login_name: str) -> User | None:
    return session.scalars(
        select(User).where(
            User.id_firma == id_firma,
            User.login_key == login_key(login_name),
            User.removed_at.is_(None),
        )
    ).first()


# --- audit -----------------------------------------------------------------


def _storable(text: str) -> str:
    """``text`` cut to 100 characters, without the NULs and lone surrogates a refused request may carry."""
    return text[:100].encode("utf-8", "replace").decode("utf-8").replace("\x00", "?")


def _audit_entry(account: ApiAccount, action: str, target: str | None, client: str, code: int, now: datetime):
    return AuditEntry(
        at=now,
        account_id=account.id,
        action=action,
        target_login_name=_storable(target) if target else None,
        id_firma=account.id_firma,
        client_address=_storable(client),
        result_code=code,
    )


def audit_refusal(
    session: Session,
    account: ApiAccount,
    action: str,
    target: str | None,
    client: str,
    code: int,
    now: datetime,
) -> None:
    """Record a refused remove/create in a transaction of its own; a failure here never hides the answer."""
    session.rollback()
    try:
        session.add(_audit_entry(account, action, target, client, code, now))
        session.commit()
    except Exception:
        session.rollback()
        log.exception("audit entry for a refused %s not written", action)


# --- the users agenda ------------------------------------------------------


def remove_user(
    session: Session, account: ApiAccount, login_name: str, *, client: str, now: datetime
) -> None:
    """Soft-delete an active user of the caller's company, conditional on the version read."""
    echo = {"LoginName": login_name}
    _require_privilege(account, "Delete", errors.DELETE_DENIED, login_name, echo)
    _require_licence(session, account, echo)
    user = _active_user(session, account.id_firma, login_name)
    if user is None or user.is_system:
        raise AgendaError(
            errors.NOT_FOUND, login_name, account.id_firma, echo=echo, template=errors.REMOVE_NOT_FOUND
        )
    permission = _permission(session, account, user)
    if permission is not None and not permission.can_delete:
        raise AgendaError(errors.RECORD_DENIED, echo=echo)
    if session.scalar(select(ApiAccount.id).where(ApiAccount.login_key == user.login_key)) is not None:
        raise AgendaError(errors.CONSISTENCE, echo=echo)  # an API account is never left without its user
    try:
        removed = session.execute(
            update(User)
            .where(User.id == user.id, User.version == user.version, User.removed_at.is_(None))
            .values(removed_at=now, removed_by=account.id, version=user.version + 1, time_last_change=now)
            .execution_options(synchronize_session=False)
        )
        if removed.rowcount != 1:
            session.rollback()
            current = session.get(User, user.id, populate_existing=True)
            lost = errors.DELETED if current is None or current.removed_at is not None else errors.CHANGED
            raise AgendaError(lost, echo=echo)
        session.add(_audit_entry(account, "remove", login_name, client, 0, now))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.exception("removal of a user failed")
        raise AgendaError(errors.DB_FAILED, echo=echo) from None


@dataclass
class NewUser:
    login_name: str
    user_name: str
    valid_from: datetime | None
    valid_to: datetime | None
    lock: int | None  # None when not sent: echoed as received, stored as 0
    person_id: str | None

    def echo(self) -> dict[str, Any]:
        return {
            "LoginName": self.login_name,
            "UserName": self.user_name,
            "ValidFrom": self.valid_from,
            "ValidTo": self.valid_to,
            "Lock": self.lock,
            "PersonID": self.person_id,
        }


def create_user(session: Session, account: ApiAccount, new: NewUser, *, client: str, now: datetime) -> None:
    """Add a user to the caller's company; 403/3 when the LoginName is taken by any active user."""
    echo = new.echo()
    _require_privilege(account, "New", errors.NEW_DENIED, new.login_name, echo)
    _require_licence(session, account, echo)
    key = login_key(new.login_name)
    taken = select(User.id).where(User.login_key == key, User.removed_at.is_(None))
    if session.scalar(taken) is not None:
        raise AgendaError(errors.DUPLICITY, echo=echo)
    session.add(
        User(
            id_firma=account.id_firma,
            login_name=new.login_name,
            login_key=key,
            user_name=new.user_name,
            roles=[],
            verification_nt=1,
            valid_from=new.valid_from,
            valid_to=new.valid_to,
            lock=new.lock or 0,
            person_id=new.person_id,
            is_system=False,
            time_last_change=now,
            version=1,
        )
    )
    session.add(_audit_entry(account, "create", new.login_name, client, 0, now))
    try:
        session.commit()
    except IntegrityError:
        # A concurrent create of the same name won the unique index.
        session.rollback()
        raise AgendaError(errors.DUPLICITY, echo=echo) from None
    except SQLAlchemyError:
        session.rollback()
        log.exception("creation of a user failed")
        raise AgendaError(errors.DB_FAILED, echo=echo) from None


def list_users(
    session: Session, account: ApiAccount, page_number: int | None, page_size: int | None, echo: Any
) -> list[User]:
    """The active, non-system, viewable users of the caller's company, by lowercased LoginName."""
    _require_privilege(account, "View", errors.VIEW_DENIED, "all", echo)
    _require_licence(session, account, echo)
    key = User.login_key
    if session.get_bind().dialect.name == "postgresql":
        key = key.collate("C")  # code point order, whatever the database's locale
    statement = (
        select(User)
        .outerjoin(
            RecordPermission,
            and_(RecordPermission.user_id == User.id, RecordPermission.account_id == account.id),
        )
        .where(
            User.id_firma == account.id_firma,
            User.removed_at.is_(None),
            User.is_system.is_(False),
            or_(RecordPermission.can_view.is_(None), RecordPermission.can_view.is_(True)),
        )
        .order_by(key, User.id)
    )
    if page_number is not None:
        size = page_size or 50
        offset = (page_number - 1) * size
        if offset >= 2**31:
            return []
        statement = statement.offset(offset).limit(size)
    return list(session.scalars(statement))


def get_user(session: Session, account: ApiAccount, login_name: str) -> User:
    """One viewable user of the caller's company."""
    echo = {"LoginName": login_name}
    _require_privilege(account, "View", errors.VIEW_DENIED, login_name, echo)
    _require_licence(session, account, echo)
    user = _active_user(session, account.id_firma, login_name)
    if user is None:
        raise AgendaError(errors.NOT_FOUND, login_name, echo=echo, template=errors.GET_NOT_FOUND)
    if user.is_system:
        raise AgendaError(errors.SYSTEM_USER, echo=echo)
    permission = _permission(session, account, user)
    if permission is not None and not permission.can_view:
        raise AgendaError(errors.RECORD_VIEW_DENIED, login_name, echo=echo)
    return user


def user_fields(user: User) -> dict[str, Any]:
    """A User as the API shows it."""
    return {
        "LoginName": user.login_name,
        "UserName": user.user_name,
        "Roles": list(user.roles or []),
        "TimeLastChange": user.time_last_change,
        "VerificationNT": user.verification_nt,
        "ValidFrom": user.valid_from,
        "ValidTo": user.valid_to,
        "Lock": user.lock,
        "PersonID": user.person_id,
    }


# --- accounts (demo data and tests) ----------------------------------------


def new_account(
    user_login: str,
    api_key: str,
    id_firma: int,
    privileges: list[str],
    *,
    ip_filter: str | None = None,
    rate_policy: str | None = None,
    key_revoked: bool = False,
) -> ApiAccount:
    """An API account with its key hashed (argon2id); never the key itself."""
    return ApiAccount(
        user_login=user_login,
        login_key=login_key(user_login),
        api_key_hash=hash_secret(api_key),
        key_revoked=key_revoked,
        ip_filter=ip_filter,
        rate_policy=rate_policy,
        id_firma=id_firma,
        privileges=privileges,
    )


def new_user(
    id_firma: int, login_name: str, user_name: str, *, now: datetime, is_system: bool = False
) -> User:
    """A user record as the product's own tools create it."""
    return User(
        id_firma=id_firma,
        login_name=login_name,
        login_key=login_key(login_name),
        user_name=user_name,
        roles=[],
        verification_nt=0,
        lock=0,
        is_system=is_system,
        time_last_change=now,
        version=1,
    )
