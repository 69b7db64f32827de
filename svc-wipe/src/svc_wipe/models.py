"""svc-wipe tables: domains, users with their domain roles, devices and their wipe history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SYSTEM_ADMIN_ID = 0  # the user "admin": every right, no domain
USERNAME_MAX = 320
DEVICE_ID_MAX = 64
REMOTE_IP_MAX = 64
REAL_NAME_MAX = 255
DEVICE_TYPE_MAX = 64
USER_AGENT_MAX = 255
AS_VERSION_MAX = 16


class Base(DeclarativeBase):
    """Declarative base of svc-wipe's own database."""


class Role(enum.Enum):
    """A user's right on one domain."""

    DOMAIN_ADMIN = "DomainAdmin"  # read and write the domain's users
    DOMAIN_ADMIN_RO = "DomainAdminRO"  # read only


class Domain(Base):
    __tablename__ = "domains"

    # Domains come from the demo data only, with fixed IDs: no sequence.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    domainname: Mapped[str] = mapped_column(String(255), unique=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX))
    # None for the system administrator, who belongs to no domain (shown as domainID 0).
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    # None: the user can never be authenticated by password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The display name the product keeps as the user's "displayname" property.
    real_name: Mapped[str | None] = mapped_column(String(REAL_NAME_MAX))

    # Usernames are unique regardless of case.
    __table_args__ = (Index("uq_users_username_lower", func.lower(username), unique=True),)

    @property
    def is_system_admin(self) -> bool:
        return self.id == SYSTEM_ADMIN_ID


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="domain_role",
            native_enum=False,
            length=32,
            values_callable=lambda roles: [r.value for r in roles],
        )
    )


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(DEVICE_ID_MAX))
    status: Mapped[int] = mapped_column(Integer, default=0)
    # What the ActiveSync server recorded when the device synchronised; all None
    # for a device first seen in a wipe report, which has not synchronised here.
    device_type: Mapped[str | None] = mapped_column(String(DEVICE_TYPE_MAX))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    first_sync_time: Mapped[datetime | None] = mapped_column(DateTime)  # naive, UTC
    last_update_time: Mapped[datetime | None] = mapped_column(DateTime)  # naive, UTC
    as_version: Mapped[str | None] = mapped_column(String(AS_VERSION_MAX))  # e.g. "16.1"
    folders_syncable: Mapped[int | None] = mapped_column(Integer)
    folders_synced: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("user_id", "device_id", name="uq_devices_user_device"),)


class DeviceHistory(Base):
    __tablename__ = "device_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_ref: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    time: Mapped[datetime] = mapped_column(DateTime)  # naive, UTC
    remote_ip: Mapped[str | None] = mapped_column(String(REMOTE_IP_MAX))
    status: Mapped[int] = mapped_column(Integer)
