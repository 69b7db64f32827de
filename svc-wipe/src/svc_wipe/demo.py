"""svc-wipe demo data, loaded idempotently when DEMO_DATA=1."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_wipe.auth import find_user
from svc_wipe.models import SYSTEM_ADMIN_ID, Device, Domain, Role, User, UserRole
from vendorkit.security import hash_secret

DOMAINS = {1: "example.com", 2: "example.org"}

# username, domain ID (None: no domain), password, role on the user's domain, devices (ID -> status)
USERS: list[tuple[str, int | None, str, Role | None, dict[str, int]]] = [
    ("admin", None, "admin-demo", None, {}),
    ("helpdesk@example.com", 1, "helpdesk-demo", Role.DOMAIN_ADMIN_RO, {}),
    # The document's placeholder user, so that its curl example runs verbatim.
    ("example", 1, "example", None, {}),
    ("alice@example.com", 1, "alice-demo", None, {"ALICEPHONE01": 1, "ALICETABLET01": 2}),
    ("bob@example.org", 2, "bob-demo", None, {}),
]

# Display names (the profile's realName); users not listed have none.
REAL_NAMES = {
    "admin": "Administrator",
    "helpdesk@example.com": "Helpdesk",
    "alice@example.com": "Alice Example",
    "bob@example.org": "Bob Example",
}

# What the ActiveSync server recorded for each demo device (times naive UTC).
DEVICE_DETAILS: dict[str, dict[str, Any]] = {
    "ALICEPHONE01": {
        "device_type": "iPhone",
        "user_agent": "Apple-iPhone15C2/2104.112",
        "first_sync_time": datetime(2024, 3, 4, 8, 15, 2),
        "last_update_time": datetime(2024, 6, 11, 17, 42, 30),
        "as_version": "16.1",
        "folders_syncable": 14,
        "folders_synced": 14,
    },
    "ALICETABLET01": {
        "device_type": "SamsungDevice",
        "user_agent": "Android-SAMSUNG-SM-X710/101.60100",
        "first_sync_time": datetime(2024, 4, 20, 12, 0, 47),
        "last_update_time": datetime(2024, 6, 9, 6, 3, 11),
        "as_version": "14.1",
        "folders_syncable": 14,
        "folders_synced": 9,
    },
}


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones."""
    for domain_id, name in DOMAINS.items():
        if session.get(Domain, domain_id) is None:
            session.add(Domain(id=domain_id, domainname=name))
    session.flush()

    for username, domain_id, password, role, devices in USERS:
        user = find_user(session, username)
        if user is None:
            user = User(
                username=username,
                domain_id=domain_id,
                password_hash=hash_secret(password),
                real_name=REAL_NAMES.get(username),
            )
            if username == "admin":
                user.id = SYSTEM_ADMIN_ID
            session.add(user)
            session.flush()
        if role is not None and session.get(UserRole, (user.id, domain_id)) is None:
            session.add(UserRole(user_id=user.id, domain_id=domain_id, role=role))
        existing = set(session.scalars(select(Device.device_id).where(Device.user_id == user.id)))
        session.add_all(
            Device(user_id=user.id, device_id=device_id, status=status, **DEVICE_DETAILS.get(device_id, {}))
            for device_id, status in devices.items()
            if device_id not in existing
        )
    session.flush()
