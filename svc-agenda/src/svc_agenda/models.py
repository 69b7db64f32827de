"""svc-agenda tables: companies, API accounts, users, record permissions, tokens, rate hits, audit."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of svc-agenda's own database."""


class Company(Base):
    """A tenant (``ID_Firma``) and the agendas it holds a licence for."""

    __tablename__ = "companies"

    id_firma: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    licensed_agendas: Mapped[list[str]] = mapped_column(JSON, default=list)


class ApiAccount(Base):
    """Who may log in to the web API, with what key, from where, how often and with which privileges."""

    __tablename__ = "api_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_login: Mapped[str] = mapped_column(String(100))
    # user_login lowercased: logins are unique and matched case-insensitively.
    login_key: Mapped[str] = mapped_column(String(100), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(255))
    key_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_filter: Mapped[str | None] = mapped_column(String(1000))
    rate_policy: Mapped[str | None] = mapped_column(String(50))
    id_firma: Mapped[int] = mapped_column(ForeignKey("companies.id_firma"))
    # Privileges on agenda Users: a subset of View, New, Edit, Delete.
    privileges: Mapped[list[str]] = mapped_column(JSON, default=list)


class User(Base):
    """A user of the product; removal keeps the row (soft delete)."""

    __tablename__ = "users"
    __table_args__ = (
        # At most one active user per LoginName, case-insensitively, over all companies.
        Index(
            "uq_users_active_login_key",
            "login_key",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index("ix_users_firma_login_key", "id_firma", "login_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    id_firma: Mapped[int] = mapped_column(ForeignKey("companies.id_firma"))
    login_name: Mapped[str] = mapped_column(String(100))
    # login_name lowercased in Python (SQLite's lower() knows only ASCII).
    login_key: Mapped[str] = mapped_column(String(100))
    user_name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    verification_nt: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime | None] = mapped_column(DateTime)
    valid_to: Mapped[datetime | None] = mapped_column(DateTime)
    lock: Mapped[int] = mapped_column(Integer, default=0)
    person_id: Mapped[str | None] = mapped_column(String(100))
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    time_last_change: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))


class RecordPermission(Base):
    """What one account may do with one user record; no row means everything is allowed."""

    __tablename__ = "record_permissions"

    account_id: Mapped[int] = mapped_column(ForeignKey("api_accounts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    can_view: Mapped[bool] = mapped_column(Boolean, default=True)
    can_edit: Mapped[bool] = mapped_column(Boolean, default=True)
    can_delete: Mapped[bool] = mapped_column(Boolean, default=True)


class Token(Base):
    """An issued login token, kept under its SHA-256 digest."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("api_accounts.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class RateHit(Base):
    """One token-authorised request counted against its account's rate policy."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("api_accounts.id"))
    at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """One remove or create that passed authentication, with its result code."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    account_id: Mapped[int] = mapped_column(ForeignKey("api_accounts.id"))
    action: Mapped[str] = mapped_column(String(20))
    target_login_name: Mapped[str | None] = mapped_column(String(100))
    id_firma: Mapped[int] = mapped_column(Integer)
    client_address: Mapped[str] = mapped_column(String(100))
    result_code: Mapped[int] = mapped_column(Integer)
