"""svc-emm tables: users and roles, OAuth2 tokens, device enrolments and the mail outbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of svc-emm's own database."""


class User(Base):
    """An account of the (only) user store; ``username`` is stored without the ``PRIMARY/`` prefix."""

    __tablename__ = "emm_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    firstname: Mapped[str | None] = mapped_column(String(100))
    lastname: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))

    roles: Mapped[list[Role]] = relationship(
        secondary="emm_user_roles", lazy="selectin", order_by="Role.name"
    )

    # Lists sort case-insensitively. On PostgreSQL the migration adds a pg_trgm
    # GIN index on the same expression for LIKE '%x%' searches.
    __table_args__ = (Index("ix_emm_users_username_lower", func.lower(username)),)


class Role(Base):
    """A role; names are unique regardless of case."""

    __tablename__ = "emm_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("uq_emm_roles_name_lower", func.lower(name), unique=True),)


class UserRole(Base):
    """The link between a user and one of their roles."""

    __tablename__ = "emm_user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("emm_users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("emm_roles.id", ondelete="CASCADE"), primary_key=True)


class Token(Base):
    """One access/refresh token pair, stored as SHA-256 digests."""

    __tablename__ = "emm_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(255))
    access_expires_at: Mapped[int] = mapped_column(BigInteger)  # epoch ms
    refresh_expires_at: Mapped[int] = mapped_column(BigInteger)  # epoch ms
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)  # epoch ms


class Device(Base):
    """An enrolled device with its single enrolment."""

    __tablename__ = "emm_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(255))
    device_identifier: Mapped[str] = mapped_column(String(255))

    enrolment: Mapped[Enrolment] = relationship(back_populates="device", lazy="joined")
    properties: Mapped[list[DeviceProperty]] = relationship(
        lazy="selectin", order_by="DeviceProperty.position"
    )


class Enrolment(Base):
    """Who enrolled a device, how it is owned and in which state it is."""

    __tablename__ = "emm_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("emm_devices.id", ondelete="CASCADE"), unique=True)
    # The owner's username, not a foreign key: enrolments outlive deleted users.
    owner: Mapped[str] = mapped_column(String(64), index=True)
    ownership: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(30))
    date_of_enrolment: Mapped[int] = mapped_column(BigInteger)  # epoch ms
    date_of_last_update: Mapped[int] = mapped_column(BigInteger)  # epoch ms

    device: Mapped[Device] = relationship(back_populates="enrolment")


class DeviceProperty(Base):
    """One of a device's properties, in the order the device reported them."""

    __tablename__ = "emm_device_properties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("emm_devices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A mail the service wrote, whether or not an SMTP server accepted it."""

    __tablename__ = "emm_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    properties: Mapped[str] = mapped_column(Text)  # JSON object, key order kept
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[int] = mapped_column(BigInteger)  # epoch ms
