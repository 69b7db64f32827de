"""The user logic: login, filters, the set-based bulk delete, create, list, get, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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
)
from svc_bulkuser.models import ONLINE_WINDOW, User, utc_now
from svc_bulkuser.schemas import MAX_ID
from vendorkit.security import hash_secret, verify_secret

T = TypeVar("T")
users = User.__table__
# The product's user attributes beyond the contract's, stored as given at create.
OTHER_ATTRIBUTES = (
    "client_id", "reseller_id", "landing_page", "auth_ip", "report_group", "avatar_id", "card_id",
    "default_mod", "default_mod2", "all_termination",
)  # fmt: skip


# Login


def find_login(session: Session, email_or_name: str) -> User | None:
    """The user whose name, else whose email, is ``email_or_name`` exactly."""
    # No stored name or email holds a NUL, and PostgreSQL cannot even bind one.
    if "\x00" in email_or_name:
        return None
    user = session.scalar(select(User).where(User.name == email_or_name))
    if user is None:
        user = session.scalar(select(User).where(User.email == email_or_name))
    return user


def check_password(user: User | None, password: str) -> User:
    """``user`` if ``password`` is its own and it is active (401 100 or 101 otherwise)."""
    # An unknown user costs one verification too, so that timing tells nothing.
    password_matches = verify_secret(user.password_hash if user else None, password)
    if user is None or not password_matches:
        raise InvalidCredentials()
    if not user.active:
        raise UserNotActive()
    return user


def record_login(session: Session, user: User, client_ip: str, secret: str, ttl: int) -> str:
    """Record the login's time and address; a token for the user."""
    now = utc_now()
    recorded = session.execute(
        update(users)
        .where(users.c.user_id == user.user_id)
        .values(last_login_time=now, last_seen=now, login_ip=client_ip)
    )
    if recorded.rowcount != 1:  # deleted meanwhile
        raise InvalidCredentials()
    for attribute, value in (("last_login_time", now), ("last_seen", now), ("login_ip", client_ip)):
        set_committed_value(user, attribute, value)
    return issue_token(user.user_id, secret, ttl, now)


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
    if filters.get("user_id") == caller.user_id:
        raise CannotDeleteSelf()
    statement = delete(users).where(*filter_conditions(filters, utc_now()), users.c.user_id != caller.user_id)
    deleted = session.execute(statement).rowcount
    # After the delete, so that of two concurrent deletes of one user the loser sees it gone.
    if deleted == 0 and "user_id" in filters and not user_exists(session, filters["user_id"]):
        raise NotFound()
    return deleted


# PostgreSQL aborts one of two transactions that wait on each other's row locks
# (deadlock_detected), e.g. overlapping deletes by different filters. Each
# delete is one statement, so running its unit of work again is safe.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
ATTEMPTS = 3


def retrying(work: Callable[[], T]) -> T:
    """``work()`` (a whole unit of work), run again (up to 3 times) when the database aborted it for a conflict."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except OperationalError as error:
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
    if session.execute(delete(users).where(users.c.user_id == parse_path_id(user_id))).rowcount == 0:
        raise NotFound()


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
        raise ValidationFailed(errors)
    try:
        # A savepoint: a concurrent create may take the name or email between
        # the check and the insert (PostgreSQL), and the check is then read again.
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
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
