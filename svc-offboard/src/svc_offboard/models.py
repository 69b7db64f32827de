"""svc-offboard tables."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of svc-offboard's own database."""


class User(Base):
    """A Commvault user; ``name_key`` (the lower-cased name) makes names unique case-insensitively."""

    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(Text, unique=True)
    user_guid: Mapped[str] = mapped_column(String(36))
    email: Mapped[str] = mapped_column(String(254), default="")
    full_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    enable_user: Mapped[bool] = mapped_column(Boolean, default=True)
    # Member of the user group ``master`` (userGroupId 1): may call every endpoint.
    is_master: Mapped[bool] = mapped_column(Boolean, default=False)


class Role(Base):
    __tablename__ = "roles"

    role_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role_name: Mapped[str] = mapped_column(String(255), unique=True)


class Plan(Base):
    __tablename__ = "plans"

    plan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    plan_name: Mapped[str] = mapped_column(String(255), unique=True)


class Client(Base):
    """A client computer; a VM client names its hypervisor in ``pseudo_client_id``."""

    __tablename__ = "clients"

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    client_name: Mapped[str] = mapped_column(String(255), unique=True)
    host_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    client_guid: Mapped[str] = mapped_column(String(36))
    app_name: Mapped[str] = mapped_column(String(64))
    instance_name: Mapped[str] = mapped_column(String(64))
    backupset_name: Mapped[str] = mapped_column(String(64))
    vm_guid: Mapped[str | None] = mapped_column(String(36))
    pseudo_client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.client_id"))
    # What cvpysdk's Client object reads from GET Client/{id} (``osInfo``, ``cvdPort``, ``TimeZone``).
    os_type: Mapped[str] = mapped_column(String(64), default="")
    os_subtype: Mapped[str] = mapped_column(String(64), default="")
    os_name: Mapped[str] = mapped_column(String(255), default="")
    processor_type: Mapped[str] = mapped_column(String(64), default="")
    cvd_port: Mapped[int] = mapped_column(Integer, default=8400)
    time_zone_name: Mapped[str] = mapped_column(String(255), default="(UTC) Coordinated Universal Time")


class ClientOwner(Base):
    __tablename__ = "client_owners"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.client_id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), primary_key=True, index=True)


class Subclient(Base):
    __tablename__ = "subclients"

    subclient_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.client_id"), index=True)
    subclient_name: Mapped[str] = mapped_column(String(255))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.plan_id"))
    enable_backup: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleAssociation(Base):
    """User ``user_id`` holds role ``role_id`` on client ``client_id``."""

    __tablename__ = "role_associations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.client_id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.role_id"), primary_key=True)


class Token(Base):
    """A login session: only the SHA-256 of the token's hex part is stored."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), index=True)
    timeout_minutes: Mapped[int] = mapped_column(Integer)
    # Naive UTC; the idle clock restarts on every authenticated request.
    last_used_at: Mapped[datetime] = mapped_column(DateTime)
