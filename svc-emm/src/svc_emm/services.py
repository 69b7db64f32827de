"""The user-management logic of docs/emm.md section 3: plain functions over a Session, never committing."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from svc_emm import mail
from svc_emm.auth import revoke_user_tokens
from svc_emm.errors import Invalid
from svc_emm.models import Device, Enrolment, OutboxMessage, Role, User
from svc_emm.schemas import PasswordInput, UserInput, strip_prefix
from vendorkit import db
from vendorkit.security import hash_secret, verify_secret

PASSWORD_ALPHABET = string.ascii_letters + string.digits
HIDDEN_ROLE_PREFIXES = ("internal/", "application/")
BUILT_IN_ADMIN = "admin"


class Undelivered(Exception):
    """The SMTP server refused ``mails``: the caller's transaction is rolled back, the outbox must keep them."""

    def __init__(self, mails: list[mail.Mail]):
        super().__init__(f"{len(mails)} mail(s) refused")
        self.mails = mails


@dataclass
class Answer:
    """A successful envelope: status, message and optional content (apidoc's payload schemas dump it)."""

    status: int
    message: str
    content: Any = None


@dataclass
class DevicePage:
    """One DataTables page of a user's devices."""

    total: int
    devices: list[Device]
    draw: int = 0  # DataTables' request counter, which the product does not echo

    @property
    def filtered(self) -> int:
        """How many devices the search matched: no search narrows them."""
        return self.total


INVITATIONS_SENT = Answer(200, "Email invitation was successfully sent to user.")
# What a user is shown with (lists can be long: never the whole row).
SHOWN_USER_COLUMNS = (User.username, User.firstname, User.lastname, User.email)


def is_hidden_role(name: str) -> bool:
    return name.lower().startswith(HIDDEN_ROLE_PREFIXES)


def _role_sort_key(name: str) -> tuple[str, str]:
    return (name.lower(), name)


def _find_user(session: Session, stored_name: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.username == stored_name)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def _resolve_roles(session: Session, names: list[str]) -> list[Role]:
    """The roles ``names`` list (case-insensitively), internal names skipped; 400 for an unknown one."""
    roles: list[Role] = []
    for name in names:
        if is_hidden_role(name):
            continue
        role = session.scalar(select(Role).where(func.lower(Role.name) == name.lower()))
        if role is None:
            raise Invalid(f"Role by name: {name} does not exist.")
        if role not in roles:
            roles.append(role)
    return roles


def _like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern (escape ``\\``): ``*`` matches any run, everything else is literal."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _users_matching(session: Session, pattern: str | None) -> list[RowMapping]:
    """Users (their shown columns, by name) whose lower-cased name is LIKE ``pattern``."""
    query = select(*SHOWN_USER_COLUMNS).order_by(func.lower(User.username), User.username)
    if pattern is not None:
        if "\x00" in pattern:  # no name holds NUL, and PostgreSQL refuses it in a parameter
            return []
        query = query.where(func.lower(User.username).like(pattern, escape="\\"))
    return list(session.execute(query).mappings())


def add_user(session: Session, config: dict[str, Any], data: UserInput) -> Answer:
    """Create a user with a random password and send the registration mail; all or nothing."""
    if _find_user(session, data.stored_name) is not None:
        raise Invalid(
            f"User by username: {data.username} already exists. Therefore, request made to add user was refused.",
            409,
        )
    roles = _resolve_roles(session, data.roles)
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(6))
    user = User(
        username=data.stored_name,
        password_hash=hash_secret(password),
        firstname=data.firstname,
        lastname=data.lastname,
        email=data.email,
        roles=roles,
    )
    session.add(user)
    try:
        # The unique index decides between concurrent adds of one name; the
        # loser waits here (PostgreSQL) or at BEGIN IMMEDIATE (SQLite).
        session.flush()
    except IntegrityError:
        raise Invalid(
            f"User by username: {data.username} already exists. Therefore, request made to add user was refused.",
            409,
        ) from None
    registration = mail.registration_mail(data.stored_name, data.firstname, data.email or "", password)
    # The mail goes out while the new row is still uncommitted: if the SMTP
    # server refuses it, the user is rolled back and only the outbox remembers.
    if not mail.deliver(config, [registration]):
        raise Undelivered([registration])
    mail.record(session, [registration])
    return Answer(201, f"User by username: {data.username} was successfully added.")


def update_user(session: Session, data: UserInput) -> Answer:
    """Replace the given fields, add the listed roles and set the password if one is given."""
    user = _find_user(session, data.stored_name, for_update=True)
    if user is None:
        raise Invalid(
            f"User by username: {data.username} doesn't  exists. Therefore, request made to update user was refused.",
            409,
        )
    roles = _resolve_roles(session, data.roles)
    if data.firstname is not None:
        user.firstname = data.firstname
    if data.lastname is not None:
        user.lastname = data.lastname
    if data.email is not None:
        user.email = data.email
    for role in roles:
        if role not in user.roles:
            user.roles.append(role)
    if data.password is not None:
        user.password_hash = hash_secret(data.password)
        revoke_user_tokens(session, user.username)
    return Answer(201, f"User by username: {data.username} was successfully updated.")


def remove_user(session: Session, username: str) -> Answer:
    """Delete a user (not the built-in admin) and revoke their tokens; enrolments stay."""
    stored_name = strip_prefix(username)
    if stored_name == BUILT_IN_ADMIN:
        raise Invalid(f"User by username: {username} cannot be removed.")
    # A conditional DELETE: of two concurrent deletes exactly one removes the row.
    removed = session.execute(delete(User).where(User.username == stored_name))
    if removed.rowcount != 1:
        raise Invalid(f"User by username: {username} does not exist for removal.")
    revoke_user_tokens(session, stored_name)
    return Answer(200, f"User by username: {username} was successfully removed.")


def view_user(session: Session, username: str) -> Answer:
    """One user; the product answers a missing one with HTTP 404 but body status 400."""
    shown = (
        session.execute(select(*SHOWN_USER_COLUMNS).where(User.username == strip_prefix(username)))
        .mappings()
        .first()
    )
    if shown is None:
        raise Invalid(f"User by username: {username} does not exist.", 404, body_status=400)
    # The product shows the name as asked for (``PRIMARY/kim`` too), not as stored.
    user = {**shown, "username": username}
    return Answer(200, "User information was retrieved successfully.", user)


def list_users(session: Session, prefix: str | None = None) -> Answer:
    """All users, or those whose name starts with ``prefix`` (``*`` wildcard), sorted case-insensitively."""
    pattern = None if prefix is None else _like_pattern(prefix) + "%"
    users = _users_matching(session, pattern)
    return Answer(200, f"All users were successfully retrieved. Obtained user count: {len(users)}", users)


def search_users(session: Session, fragment: str | None, *, names_only: bool) -> Answer:
    """Users whose name contains ``fragment`` (``*`` wildcard; empty matches all)."""
    fragment = strip_prefix(fragment) if fragment else fragment
    pattern = f"%{_like_pattern(fragment)}%" if fragment else None
    users = _users_matching(session, pattern)
    content = [user["username"] for user in users] if names_only else users
    return Answer(
        200, f"All users by username were successfully retrieved. Obtained user count: {len(users)}", content
    )


# A hot path of dashboards: compiled once, run by the driver (see db.Prepared).
COUNT_USERS = db.Prepared(select(func.count(User.id)))


def count_users(connection: Connection) -> int:
    """How many users there are, on the request's read connection (no ORM session needed)."""
    row = COUNT_USERS.first(connection)
    return row[0] if row else 0


def user_roles(session: Session, username: str) -> Answer:
    """A user's role names as one nested list, internal roles removed."""
    user = _find_user(session, strip_prefix(username))
    if user is None:
        raise Invalid(f"User by username: {username} does not exist for role retrieval.")
    names = sorted((role.name for role in user.roles if not is_hidden_role(role.name)), key=_role_sort_key)
    return Answer(200, f"User roles obtained for user {username}", [names])


def all_roles(session: Session) -> Answer:
    names = sorted(
        (name for name in session.scalars(select(Role.name)) if not is_hidden_role(name)), key=_role_sort_key
    )
    return Answer(200, "All user roles were successfully retrieved.", names)


def user_devices(
    session: Session, username: str, start: int, length: int | None
) -> list[Device] | DevicePage:
    """The devices enrolled by ``username``: all of them, or a DataTables page when ``length`` > 0."""
    owner_filter = Enrolment.owner == strip_prefix(username)
    query = select(Device).join(Enrolment).where(owner_filter).order_by(Device.id)
    if length is None or length <= 0:
        return list(session.scalars(query))
    total = session.scalar(select(func.count(Enrolment.id)).where(owner_filter)) or 0
    return DevicePage(total, list(session.scalars(query.offset(start).limit(length))))


def invite_users(session: Session, config: dict[str, Any], usernames: list[str]) -> bool:
    """Send one enrolment invitation per distinct user, after checking every name; whether all went out.

    Sent or not, every invitation is recorded in the outbox.
    """
    invitations: list[mail.Mail] = []
    seen: set[str] = set()
    for username in usernames:
        user = _find_user(session, strip_prefix(username))
        if user is None:
            raise Invalid(f"User by username: {username} does not exist.")
        if not user.email:
            raise Invalid(f"User by username: {username} does not have an email address.")
        if user.username not in seen:
            seen.add(user.username)
            invitations.append(mail.invitation_mail(user.username, user.firstname, user.email))
    delivered = mail.deliver(config, invitations)
    mail.record(session, invitations)
    return delivered


def change_password(session: Session, data: PasswordInput) -> Answer:
    """Set a new password after checking the old one; the user's tokens stay valid."""
    user = _find_user(session, data.stored_name, for_update=True)
    old_password_matches = verify_secret(user.password_hash if user else None, data.old_password or "")
    if user is None or not old_password_matches:
        raise Invalid("Old password does not match.")
    user.password_hash = hash_secret(data.new_password)
    return Answer(201, f"User password by username: {data.username} was successfully changed.")


def reset_password(session: Session, data: PasswordInput) -> Answer:
    """An administrator sets a user's password, which revokes all of the user's tokens."""
    user = _find_user(session, data.stored_name, for_update=True)
    if user is None:
        raise Invalid("Could not change the password.")
    user.password_hash = hash_secret(data.new_password)
    revoke_user_tokens(session, user.username)
    return Answer(201, f"User password by username: {data.username} was successfully changed.")


def outbox(session: Session, filters: dict[str, str]) -> Answer:
    """The mail outbox by id, filtered exactly by username, recipient and type."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    columns = {
        "username": OutboxMessage.username,
        "recipient": OutboxMessage.recipient,
        "type": OutboxMessage.type,
    }
    for name, value in filters.items():
        query = query.where(columns[name] == value)
    messages = list(session.scalars(query))
    return Answer(
        200,
        f"All outbox messages were successfully retrieved. Obtained message count: {len(messages)}",
        messages,
    )


def role_by_name(session: Session, name: str) -> Role | None:
    return session.scalar(select(Role).where(func.lower(Role.name) == name.lower()))


def ensure_user(session: Session, username: str, password: str, **fields: Any) -> None:
    """Insert ``username`` with the given fields and roles unless it exists (demo data)."""
    if _find_user(session, username) is not None:
        return
    role_names: list[str] = fields.pop("roles", [])
    session.add(
        User(
            username=username,
            password_hash=hash_secret(password),
            roles=[role for name in role_names if (role := role_by_name(session, name)) is not None],
            **fields,
        )
    )
    session.flush()
