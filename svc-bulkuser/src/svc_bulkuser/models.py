"""svc-bulkuser tables."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, PrimaryKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

USER_TYPES = ("admin", "client", "agent", "viewer")


class Base(DeclarativeBase):
    """Declarative base of svc-bulkuser's own database."""


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
