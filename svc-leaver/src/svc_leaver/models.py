"""svc-leaver tables: runs, their targets, idempotency keys and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of svc-leaver's own database."""


class Run(Base):
    """One request to offboard one person; times are naive UTC."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person: Mapped[str] = mapped_column(String(200), index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime)

    targets: Mapped[list[Target]] = relationship(
        back_populates="run", order_by="Target.position", cascade="all, delete-orphan"
    )


class Target(Base):
    """One vendor's step of a run, with its progress and the claim of the worker executing it."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_targets_run_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    # The last vendor answer as the API shows it ({"status", "code", "message"}), JSON text; null: none.
    vendor: Mapped[str | None] = mapped_column(Text)
    # Whether this run has sent the removal: a later "not found" then means this run removed it.
    removal_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The worker holding the target and until when (naive UTC); a lapsed claim may be taken over.
    lease_owner: Mapped[str | None] = mapped_column(String(36))
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    run: Mapped[Run] = relationship(back_populates="targets")


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` and the run its first request created."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the request body's canonical JSON: equal bodies, equal fingerprints.
    fingerprint: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(DateTime, index=True)


class AuditEvent(Base):
    """One event of the audit log; ``hash`` chains it to the event before."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Stored exactly as shown (RFC 3339 text), so that the hash can be recomputed from the row.
    time: Mapped[str] = mapped_column(String(32))
    run: Mapped[str | None] = mapped_column(String(36), index=True)
    target: Mapped[str | None] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last link (one row): locking it serialises appends across processes."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
