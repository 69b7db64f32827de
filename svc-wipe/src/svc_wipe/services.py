"""What the endpoints do: plain functions over the request's Session (never committing), raising ApiError."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from svc_wipe import auth
from svc_wipe.auth import Caller, find_user
from svc_wipe.errors import ApiError, access_denied
from svc_wipe.models import (
    REMOTE_IP_MAX,
    SYSTEM_ADMIN_ID,
    USERNAME_MAX,
    Device,
    DeviceHistory,
    Domain,
    User,
    UserRole,
)
from vendorkit.admin import signing_secret
from vendorkit.security import hash_secret, verify_secret

LOCAL_PART = re.compile(r"[A-Za-z0-9_.+-]+")

# Statuses up to OK (0 unknown, 1 policy applied); anything above is a wipe state.
HIGHEST_NORMAL_STATUS = 1


# -- representations -------------------------------------------------------------------------


def user_object(user: User) -> dict[str, Any]:
    """A user as the API shows it (never the password)."""
    return {"ID": user.id, "username": user.username, "domainID": user.domain_id or 0, "status": 0}


def _unix_seconds(moment: datetime) -> int:
    return calendar.timegm(moment.timetuple())


def _optional_unix_seconds(moment: datetime | None) -> int | None:
    return None if moment is None else _unix_seconds(moment)


def device_object(device: Device, owner: User, history: list[dict[str, Any]]) -> dict[str, Any]:
    """A synchronised device as the product's sync listing shows it, plus its wipe history."""
    return {
        "deviceid": device.device_id,
        "devicetype": device.device_type,
        "useragent": device.user_agent,
        # The product reports the account the device synchronises as: its owner.
        "deviceuser": owner.username,
        "firstsynctime": _optional_unix_seconds(device.first_sync_time),
        "lastupdatetime": _optional_unix_seconds(device.last_update_time),
        "asversion": device.as_version,
        "foldersSyncable": device.folders_syncable,
        "foldersSynced": device.folders_synced,
        "wipeStatus": device.status,
        "wipeHistory": history,
    }


def _utc(seconds: int | None) -> datetime:
    """A naive UTC datetime for ``seconds`` (now when None), as the history stores it."""
    if seconds is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


# -- device wipe status ----------------------------------------------------------------------


def wipe_status(session: Session, caller: Caller, username: str, device_ids: list[str] | None) -> dict:
    """The wipe status of ``username``'s devices (the listed ones, or all); reads change nothing.

    The caller is a policy host or logged in (``auth.permitted``); a logged-in one must
    also hold a right on the user's domain, known only now.
    """
    owner = find_user(session, username)
    if owner is None:
        raise ApiError(404, "User not found")
    if not caller.policy_host and not auth.can_read_domain(session, caller.user, owner.domain_id):
        raise access_denied()
    current = dict(
        session.execute(select(Device.device_id, Device.status).where(Device.user_id == owner.id)).all()
    )
    if device_ids is None:
        return {device_id: {"status": current[device_id]} for device_id in sorted(current)}
    return {device_id: {"status": current.get(device_id, 0)} for device_id in device_ids}


def report_wipe_status(
    session: Session, caller: Caller, username: str, device_ids: list[str] | None, report: dict[str, Any]
) -> None:
    """Set the wipe status of ``username``'s devices and record it in their history (the caller's transaction)."""
    owner = find_user(session, username)
    if owner is None:
        raise ApiError(404, "User not found")
    status = report["status"]

    # Verify the password before taking any lock (argon2 is slow); it only
    # matters when the new status is a wipe state.
    authenticated = False
    if status > HIGHEST_NORMAL_STATUS and "password" in report:
        password_owner = caller.user if caller.user is not None else owner
        authenticated = verify_secret(password_owner.password_hash, report["password"])

    # Reports for one user run one after the other: each locks the user's row
    # (SELECT ... FOR NO KEY UPDATE on PostgreSQL; on SQLite every transaction
    # already holds the write lock), so a device is never created twice and a
    # concurrent delete of the user waits or wins cleanly.
    locked = session.scalar(select(User.id).where(User.id == owner.id).with_for_update(key_share=True))
    if locked is None:
        raise ApiError(404, "User not found")
    devices = {
        device.device_id: device
        for device in session.scalars(select(Device).where(Device.user_id == owner.id))
    }
    if device_ids is None:
        targets = [devices[device_id] for device_id in sorted(devices)]
    else:
        targets = [
            devices.get(device_id) or Device(user_id=owner.id, device_id=device_id, status=0)
            for device_id in device_ids
        ]

    starts_wipe = status > HIGHEST_NORMAL_STATUS and any(d.status <= HIGHEST_NORMAL_STATUS for d in targets)
    if starts_wipe and not authenticated:
        raise access_denied()

    session.add_all(device for device in targets if device.id is None)
    session.flush()
    moment = _utc(report.get("time"))
    remote_ip = report.get("remoteIP", caller.address)[:REMOTE_IP_MAX]
    for device in targets:
        device.status = status
        session.add(DeviceHistory(device_ref=device.id, time=moment, remote_ip=remote_ip, status=status))


# -- login and profile -----------------------------------------------------------------------


def token_pair(user: User, config: dict[str, Any]) -> dict[str, str]:
    """A fresh login token for ``user`` and its CSRF value."""
    token = auth.issue_token(user.username, signing_secret(config["SECRET_KEY"]), config["JWT_EXPIRES_AFTER"])
    return {"grommunioAuthJwt": token, "csrf": auth.csrf_token(token)}


def login(session: Session, config: dict[str, Any], username: str, password: str) -> dict[str, str]:
    """A token pair for a user with the right password and some role; 401 otherwise."""
    user = find_user(session, username)
    # An unknown user still costs one password verification, like a known one.
    if not verify_secret(user.password_hash if user is not None else None, password):
        raise ApiError(401, "Login failed", error="Invalid username or password")
    if not auth.holds_any_role(session, user):
        raise ApiError(401, "Login failed", error="Access denied")
    return token_pair(user, config)


def profile(session: Session, user: User) -> dict[str, Any]:
    """The logged-in user and what it may do."""
    return {
        "user": user_object(user) | {"realName": user.real_name},
        "capabilities": auth.capabilities(session, user),
    }


def domains(session: Session, user: User) -> dict[str, Any]:
    """Every domain for the system administrator, else those the user holds a role on."""
    query = select(Domain).order_by(Domain.id)
    if not user.is_system_admin:
        query = query.join(UserRole, UserRole.domain_id == Domain.id).where(UserRole.user_id == user.id)
    rows = [{"ID": domain.id, "domainname": domain.domainname} for domain in session.scalars(query)]
    return {"data": rows, "count": len(rows)}


# -- users of a domain -----------------------------------------------------------------------


def _domain_user(session: Session, domain_id: int, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == user_id, User.domain_id == domain_id))
    if user is None:
        raise ApiError(404, "User not found")
    return user


def domain_users(session: Session, domain_id: int, limit: int, offset: int) -> list[dict[str, Any]]:
    """A page of the domain's users, by ID."""
    query = select(User).where(User.domain_id == domain_id).order_by(User.id).limit(limit).offset(offset)
    return [user_object(member) for member in session.scalars(query)]


def create_domain_user(session: Session, domain_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Create a user in the domain; ``username`` is a local part or an address in this domain."""
    username = fields.get("username")
    if not username:
        raise ApiError(400, "Missing username")
    domain = session.get(Domain, domain_id)
    if domain is None:
        raise ApiError(400, "Invalid domain")
    local, at, domain_part = username.rpartition("@")
    if not at:
        local = username
    elif domain_part.lower() != domain.domainname.lower():
        raise ApiError(400, "Domain specifications do not match")
    address = f"{local}@{domain.domainname}"
    if not LOCAL_PART.fullmatch(local) or len(address) > USERNAME_MAX:
        raise ApiError(400, f"'{address}' is not a valid e-mail address")
    if find_user(session, address) is not None:
        raise _username_taken()
    password = fields.get("password")
    new_user = User(
        username=address,
        domain_id=domain.id,
        password_hash=hash_secret(password) if password is not None else None,
    )
    session.add(new_user)
    try:
        session.flush()
    except IntegrityError:
        # Created concurrently by another request since the check above (the unit of work rolls back).
        raise _username_taken() from None
    return user_object(new_user)


def _username_taken() -> ApiError:
    return ApiError(400, "Object violates database constraints (duplicate entry for key 'username')")


def domain_user(session: Session, domain_id: int, user_id: int) -> dict[str, Any]:
    """One user of the domain."""
    return user_object(_domain_user(session, domain_id, user_id))


def delete_domain_user(session: Session, domain_id: int, user_id: int) -> None:
    """Delete a user of the domain with its devices and their history (the database cascades)."""
    if user_id == SYSTEM_ADMIN_ID:
        raise ApiError(400, "Cannot delete superuser")
    # One statement: of two concurrent deletes, the second finds no row.
    result = session.execute(delete(User).where(User.id == user_id, User.domain_id == domain_id))
    if result.rowcount == 0:
        raise ApiError(404, f"User #{user_id} not found")


def device_sync(session: Session, domain_id: int, user_id: int) -> list[dict[str, Any]]:
    """The user's devices with their wipe status and history (oldest first)."""
    owner = _domain_user(session, domain_id, user_id)
    devices = sorted(
        session.scalars(select(Device).where(Device.user_id == owner.id)), key=lambda d: d.device_id
    )
    history: dict[int, list[dict[str, Any]]] = {device.id: [] for device in devices}
    entries = session.scalars(
        select(DeviceHistory)
        .join(Device, Device.id == DeviceHistory.device_ref)
        .where(Device.user_id == owner.id)
        .order_by(DeviceHistory.id)
    )
    for entry in entries:
        history[entry.device_ref].append(
            {"time": _unix_seconds(entry.time), "remoteIP": entry.remote_ip, "status": entry.status}
        )
    return [device_object(device, owner, history[device.id]) for device in devices]


def refresh_login(session: Session, config: dict[str, Any], token: str | None) -> dict[str, str]:
    """A fresh token pair for the user of a valid ``grommunioAuthJwt`` cookie; 400 without one."""
    try:
        user = auth.token_user(session, token, signing_secret(config["SECRET_KEY"]), check_csrf=False)
    except auth.TokenRejected:
        raise ApiError(400, "Incomplete login form") from None
    return token_pair(user, config)
