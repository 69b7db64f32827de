"""svc-agenda logic: the users agenda (remove, create, list, get), its audit, and new accounts."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from svc_agenda import errors
from svc_agenda.errors import AgendaError
from svc_agenda.models import ApiAccount, AuditEntry, Company, RecordPermission, User
from vendorkit.security import hash_secret

log = logging.getLogger(__name__)

USERS_AGENDA = "Users"


def login_key(login_name: str) -> str:
    """The case-insensitive form under which logins are unique and looked up."""
    return login_name.lower()


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
    """Record a refused remove/create (the caller's unit of work holds nothing else)."""
    session.add(_audit_entry(account, action, target, client, code, now))


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
            # Another writer got there between the lookup and the write: removed it (5) or changed it (4).
            current = session.get(User, user.id, populate_existing=True)
            lost = errors.DELETED if current is None or current.removed_at is not None else errors.CHANGED
            raise AgendaError(lost, echo=echo)
        session.add(_audit_entry(account, "remove", login_name, client, 0, now))
        session.flush()  # a failing write answers 7 here, not when the caller's unit of work commits
    except SQLAlchemyError:
        log.exception("removal of a user failed")
        raise AgendaError(errors.DB_FAILED, echo=echo) from None


def create_user(
    session: Session, account: ApiAccount, request: dict[str, Any], *, client: str, now: datetime
) -> None:
    """Add a user to the caller's company from a bound UserCreateReq; 403/3 when the LoginName is taken."""
    echo = request  # echoed as received: a Lock not sent stays null, stored as 0
    login_name = request["LoginName"]
    _require_privilege(account, "New", errors.NEW_DENIED, login_name, echo)
    _require_licence(session, account, echo)
    key = login_key(login_name)
    taken = select(User.id).where(User.login_key == key, User.removed_at.is_(None))
    if session.scalar(taken) is not None:
        raise AgendaError(errors.DUPLICITY, echo=echo)
    session.add(
        User(
            id_firma=account.id_firma,
            login_name=login_name,
            login_key=key,
            user_name=request["UserName"],
            roles=[],
            verification_nt=1,
            valid_from=request["ValidFrom"],
            valid_to=request["ValidTo"],
            lock=request["Lock"] or 0,
            person_id=request["PersonID"],
            is_system=False,
            time_last_change=now,
            version=1,
        )
    )
    session.add(_audit_entry(account, "create", login_name, client, 0, now))
    try:
        session.flush()  # the unique index speaks here, not when the caller's unit of work commits
    except IntegrityError:
        # A concurrent create of the same name won the unique index.
        raise AgendaError(errors.DUPLICITY, echo=echo) from None
    except SQLAlchemyError:
        log.exception("creation of a user failed")
        raise AgendaError(errors.DB_FAILED, echo=echo) from None


def list_users(session: Session, account: ApiAccount, query: dict[str, int | None]) -> list[User]:
    """The active, non-system, viewable users of the caller's company, by lowercased LoginName; a page if asked."""
    echo = query
    page_number, page_size = query["PageNumber"], query["PageSize"]
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
