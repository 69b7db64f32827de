"""svc-bulkuser tables."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

USER_TYPES = ("admin", "client", "agent", "viewer")
# A user is online while its last request is this recent (docs/bulkuser.md section 7).
ONLINE_WINDOW = timedelta(minutes=15)


def utc_now() -> datetime:
    """Now in UTC, naive and truncated to whole seconds, as times are stored."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class Base(DeclarativeBase):
    """Declarative base of svc-bulkuser's own database."""


class Role(Base):
    """A role's name; users refer to roles by id, without a foreign key, as in the product."""

    __tablename__ = "roles"
    __table_args__ = (PrimaryKeyConstraint("role_id", name="pk_roles"),)

    role_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    role_name: Mapped[str] = mapped_column(String(100))


class User(Base):
    """A DNL user; times are naive UTC datetimes truncated to whole seconds."""

    __tablename__ = "users"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", name="pk_users"),
        # The unique constraints are the indexes of the name and email filters;
        # NULL emails never collide.
        UniqueConstraint("name", name="uq_users_name"),
        UniqueConstraint("email", name="uq_users_email"),
    )

    user_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    user_type: Mapped[str] = mapped_column(String(16), index=True)
    role_id: Mapped[int | None] = mapped_column(Integer, index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    create_time: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_login_time: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    login_ip: Mapped[str | None] = mapped_column(String(45), index=True)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    create_user_id: Mapped[int | None] = mapped_column(Integer)
    # Attributes the product's own API models declare for a user. They are stored
    # and shown as they are: this service manages logins, not what they unlock.
    client_id: Mapped[int | None] = mapped_column(Integer)  # the carrier a client user acts for
    reseller_id: Mapped[int | None] = mapped_column(Integer)
    landing_page: Mapped[str | None] = mapped_column(String(255))  # the portal page opened after login
    auth_ip: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    report_group: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    avatar_id: Mapped[int | None] = mapped_column(Integer)
    card_id: Mapped[int | None] = mapped_column(Integer)
    default_mod: Mapped[str | None] = mapped_column(String(100))
    default_mod2: Mapped[str | None] = mapped_column(String(100))
    all_termination: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # The name of the user's role, read with the user (None when no role has that id).
    role_name: Mapped[str | None] = column_property(
        select(Role.role_name).where(Role.role_id == role_id).correlate_except(Role).scalar_subquery()
    )

    @property
    def fullname(self) -> str:
        """First and last name joined by a space, or the name when both are empty."""
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.name

    def online_at(self, now: datetime) -> int:
        """1 when the user was seen within ``ONLINE_WINDOW`` before ``now``, else 0."""
        return int(self.last_seen is not None and self.last_seen > now - ONLINE_WINDOW)
