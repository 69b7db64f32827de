"""The user logic: login, filters, the set-based bulk delete, create, list, get, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, exists, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from svc_bulkuser.auth import issue_token
from svc_bulkuser.errors import (
    CannotDeleteSelf,
    InvalidCredentials,
    NotFound,
    UserNotActive,
    ValidationFailed,
    schema_error,
)
from svc_bulkuser.models import User
from svc_bulkuser.schemas import MAX_ID
from vendorkit.security import hash_secret, verify_secret

T = TypeVar("T")
users = User.__table__
ONLINE_WINDOW = timedelta(minutes=15)
# The product's user attributes beyond the contract's, stored as given at create.
OTHER_ATTRIBUTES = (
    "client_id", "reseller_id", "landing_page", "auth_ip", "report_group", "avatar_id", "card_id",
    "default_mod", "default_mod2", "all_termination",
)  # fmt: skip


def utc_now() -> datetime:
    """Now in UTC, naive and truncated to whole seconds, as times are stored."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def format_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_online(user: User, now: datetime) -> int:
    return int(user.last_seen is not None and user.last_seen > now - ONLINE_WINDOW)


def user_payload(user: User, now: datetime) -> dict[str, Any]:
    """A user as the API shows it: the contract's keys in order, then the product's other attributes."""
    fullname = " ".join(part for part in (user.first_name, user.last_name) if part) or user.name
    return {
        "user_id": user.user_id,
        "name": user.name,
        "email": user.email,
        "user_type": user.user_type,
        "role_id": user.role_id,
        "active": user.active,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "fullname": fullname,
        "create_time": format_time(user.create_time),
        "last_login_time": format_time(user.last_login_time),
        "login_ip": user.login_ip,
        "last_seen": format_time(user.last_seen),
        "is_online": is_online(user, now),
        "create_user_id": user.create_user_id,
        "role_name": user.role_name,
        "client_id": user.client_id,
        "reseller_id": user.reseller_id,
        "landing_page": user.landing_page,
        "auth_ip": list(user.auth_ip),
        "report_group": user.report_group,
        "avatar_id": user.avatar_id,
        "card_id": user.card_id,
        "default_mod": user.default_mod,
        "default_mod2": user.default_mod2,
        "all_termination": user.all_termination,
    }


# Login


def login(
    session: Session, email_or_name: str, password: str, client_ip: str, secret: str, ttl: int
) -> tuple[str, User]:
    """Check the credentials, record the login and issue a token."""
    user = None
    # No stored name or email holds a NUL, and PostgreSQL cannot even bind one.
    if "\x00" not in email_or_name:
        user = session.scalar(select(User).where(User.name == email_or_name))
        if user is None:
            user = session.scalar(select(User).where(User.email == email_or_name))
    # Password hashing is slow: do not hold a transaction (SQLite's write lock) meanwhile.
    session.commit()
    # An unknown user costs one verification too, so that timing tells nothing.
    password_matches = verify_secret(user.password_hash if user else None, password)
    if user is None or not password_matches:
        raise InvalidCredentials()
    if not user.active:
        raise UserNotActive()
    now = utc_now()
    recorded = session.execute(
        update(users)
        .where(users.c.user_id == user.user_id)
        .values(last_login_time=now, last_seen=now, login_ip=client_ip)
    )
    if recorded.rowcount != 1:  # deleted meanwhile
        session.rollback()
        raise InvalidCredentials()
    session.commit()
    for attribute, value in (("last_login_time", now), ("last_seen", now), ("login_ip", client_ip)):
        set_committed_value(user, attribute, value)
    return issue_token(user.user_id, secret, ttl, now), user


# Filters


def filter_conditions(filters: dict[str, Any], now: datetime) -> list[ColumnElement[bool]]:
    """One bound condition per given filter of docs/bulkuser.md section 5 (their AND is the match)."""
    column = users.c
    conditions: list[ColumnElement[bool]] = []
    for name, value in filters.items():
        if name == "active":
            conditions.append(column.active == value)
        elif name == "is_online":
            online_since = now - ONLINE_WINDOW
            conditions.append(
                column.last_seen > online_since
                if value
                else or_(column.last_seen.is_(None), column.last_seen <= online_since)
            )
        elif name == "user_id":
            conditions.append(column.user_id == value)
        elif name == "user_id_in":
            conditions.append(column.user_id.in_(value))
        elif name in ("role_id", "user_type", "login_ip"):
            conditions.append(column[name] == value)
        elif name in ("name", "email"):
            # No stored name or email holds a NUL, and PostgreSQL cannot even bind one.
            conditions.append(false() if "\x00" in value else column[name] == value)
        elif name in ("create_time_gt", "last_login_time_gt"):
            conditions.append(column[name.removesuffix("_gt")] > value)
        elif name in ("create_time_lt", "last_login_time_lt"):
            conditions.append(column[name.removesuffix("_lt")] < value)
        elif name == "last_login_time_isnull":
            conditions.append(
                column.last_login_time.is_(None) if value else column.last_login_time.isnot(None)
            )
    return conditions


# Bulk delete


def bulk_delete(session: Session, filters: dict[str, Any], caller: User) -> int:
    """Delete every user matching all ``filters`` but the caller, in one statement; the count deleted."""
    if not filters:
        raise schema_error("At least one filter is required.")
    if filters.get("user_id") == caller.user_id:
        raise CannotDeleteSelf()
    statement = delete(users).where(*filter_conditions(filters, utc_now()), users.c.user_id != caller.user_id)

    def run() -> int:
        deleted = session.execute(statement).rowcount
        # After the delete, so that of two concurrent deletes of one user the loser sees it gone.
        if deleted == 0 and "user_id" in filters and not user_exists(session, filters["user_id"]):
            session.rollback()
            raise NotFound()
        session.commit()
        return deleted

    return retrying(session, run)


# PostgreSQL aborts one of two transactions that wait on each other's row locks
# (deadlock_detected), e.g. overlapping deletes by different filters. Each
# delete is one statement, so running it again is safe.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
ATTEMPTS = 3


def retrying(session: Session, work: Callable[[], T]) -> T:
    """``work()`` in a transaction, run again (up to 3 times) when the database aborted it for a conflict."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except OperationalError as error:
            session.rollback()
            if attempt == ATTEMPTS or getattr(error.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
    raise AssertionError("unreachable")


def user_exists(session: Session, user_id: int) -> bool:
    return bool(session.scalar(select(exists().where(users.c.user_id == user_id))))


# Single users


def parse_path_id(user_id: int) -> int:
    """A path id that can exist (the route only passes digits)."""
    if not 1 <= user_id <= MAX_ID:
        raise NotFound()
    return user_id


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, parse_path_id(user_id))
    if user is None:
        raise NotFound()
    return user


def delete_user(session: Session, user_id: int, caller: User) -> None:
    """Delete one user; never the caller."""
    if user_id == caller.user_id:
        raise CannotDeleteSelf()
    statement = delete(users).where(users.c.user_id == parse_path_id(user_id))

    def run() -> None:
        if session.execute(statement).rowcount == 0:
            session.rollback()
            raise NotFound()
        session.commit()

    retrying(session, run)


def _taken(session: Session, name: str, email: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if session.scalar(select(exists().where(users.c.name == name))):
        errors["name"] = ["User with this name already exists."]
    if email is not None and session.scalar(select(exists().where(users.c.email == email))):
        errors["email"] = ["User with this email already exists."]
    return errors


def create_user(session: Session, data: dict[str, Any], caller: User) -> int:
    """Insert a user from validated ``data``; its new id."""
    password_hash = hash_secret(data["passwd"]) if data["passwd"] is not None else None
    user = User(
        name=data["name"],
        email=data["email"],
        password_hash=password_hash,
        user_type=data["user_type"],
        role_id=data["role_id"],
        active=data["active"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        create_time=utc_now(),
        create_user_id=caller.user_id,
        **{name: data[name] for name in OTHER_ATTRIBUTES},
    )
    errors = _taken(session, user.name, user.email)
    if errors:
        session.rollback()
        raise ValidationFailed(errors)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent create took the name or email between check and insert.
        session.rollback()
        raise ValidationFailed(_taken(session, data["name"], data["email"])) from None
    return user.user_id


def list_users(session: Session, query: dict[str, Any]) -> tuple[int, list[User]]:
    """The total matching the filters and one page of them."""
    query = dict(query)
    page, per_page = query.pop("page"), query.pop("per_page")
    order_by, order_dir = query.pop("order_by"), query.pop("order_dir")
    conditions = filter_conditions(query, utc_now())
    total = session.scalar(select(func.count()).select_from(users).where(*conditions))
    column = users.c[order_by]
    # NULLs last going up, first going down, on both databases; user_id breaks ties.
    if order_dir == "asc":
        ordering = (column.asc().nulls_last(), users.c.user_id.asc())
    else:
        ordering = (column.desc().nulls_first(), users.c.user_id.desc())
    items = session.scalars(
        select(User).where(*conditions).order_by(*ordering).offset(page * per_page).limit(per_page)
    ).all()
    return total, list(items)
